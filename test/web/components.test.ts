/**
 * The room's components in Chromium, on recorded traces (dev.html runs a scenario through the
 * real engine in the page and shows it read-only): keyboard shortcuts, the help overlay, the
 * language switch, scrubbing, the inspector's field highlighting, held segments, labels and
 * names for every control, and nothing overlapping at 1280×720.
 */
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ladder, launch, type Person, person, shot, startServer } from './browser.ts';

describe('room components on a recorded trace', () => {
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  let p: Person;
  let page: Page;

  beforeAll(async () => {
    ({ app, url } = await startServer());
    browser = await launch();
    p = await person(browser);
    page = p.page;
    await page.goto(`${url}/dev.html?scenario=lifecycle`);
    await page.locator('tcp-timeline').waitFor();
    await page.waitForFunction(
      "document.querySelector('tcp-dev')?.shadowRoot?.querySelector('tcp-room')?.shadowRoot?.querySelector('tcp-timeline')",
    );
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  const devLadder = (pg: Page) =>
    pg.evaluate(
      "document.querySelector('tcp-dev').shadowRoot.querySelector('tcp-room').shadowRoot.querySelector('tcp-timeline').ladderLines()",
    ) as Promise<string[]>;

  it('draws the recorded ladder with Wireshark labels', async () => {
    const lines = await devLadder(page);
    expect(lines).toHaveLength(11);
    expect(lines[0]).toMatch(/^#1 A→B \d+ → 80 \[SYN\] Seq=0 Win=65535 Len=0 MSS=1460 · arrived$/);
    expect(lines.at(-1)).toMatch(/\[ACK\] Seq=14 Ack=17/);
    expect(await ladder(page)).toEqual([]); // (ladder() reads the live app, which is not on this page)
  });

  it('S switches to absolute sequence numbers and back', async () => {
    await page.keyboard.press('s');
    const abs = await devLadder(page);
    expect(abs[0]).not.toMatch(/Seq=0 /);
    expect(await page.getByRole('button', { name: 'Absolute' }).getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('s');
    expect((await devLadder(page))[0]).toMatch(/Seq=0 /);
  });

  it('T switches the ladder mode, + and − zoom', async () => {
    await page.keyboard.press('t');
    expect(await page.getByRole('button', { name: 'Event-spaced' }).getAttribute('aria-pressed')).toBe(
      'true',
    );
    await page.keyboard.press('t');
    expect(await page.getByRole('button', { name: 'Time-scaled' }).getAttribute('aria-pressed')).toBe('true');
    const zoom = page.locator('tcp-room .toolbar .where');
    expect(await zoom.textContent()).toBe('100%');
    await page.keyboard.press('+');
    expect(await zoom.textContent()).toBe('140%');
    await page.keyboard.press('-');
    expect(await zoom.textContent()).toBe('100%');
  });

  it('? opens the help overlay as a modal dialog, Escape closes it', async () => {
    await page.keyboard.press('?');
    const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await dialog.waitFor();
    const text = await dialog.textContent();
    for (const k of ['Space', '→', '←', 'S', 'G', '+ / −']) expect(text).toContain(k);
    await shot(page, 'components-help');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('← scrubs back: the endpoints are shown as they were; L goes live again', async () => {
    const a = page.locator('tcp-endpoint[side="A"] .head .state');
    expect(await a.textContent()).toBe('CLOSED');
    // back past TIME-WAIT's end: one event at a time
    for (let i = 0; i < 30 && (await a.textContent()) !== 'TIME-WAIT'; i++)
      await page.keyboard.press('ArrowLeft');
    expect(await a.textContent()).toBe('TIME-WAIT');
    expect(await page.locator('tcp-endpoint[side="A"] .timer.tw').textContent()).toMatch(/TIME-WAIT.*\d/);
    expect(await page.locator('tcp-room .scrub .where').textContent()).toMatch(/viewing/);
    await shot(page, 'components-scrubbed');
    await page.keyboard.press('l');
    expect(await a.textContent()).toBe('CLOSED');
  });

  it('the inspector highlights a field in the hex dump and a byte’s field in the table', async () => {
    await page.locator('tcp-timeline .wrap').focus();
    await page.keyboard.press('Home');
    await page.locator('tcp-inspector .summary').first().waitFor();
    await page.locator('tcp-inspector tr', { hasText: 'Window Size' }).hover();
    const hl = page.locator('tcp-inspector .b.hl');
    expect(await hl.count()).toBe(2);
    expect((await hl.allTextContents()).join('')).toBe('ffff'); // 65535
    // the other way: point at the first byte of the TCP header (source port)
    await page.locator('tcp-inspector .b').nth(20).hover();
    expect(await page.locator('tcp-inspector tr.hl').textContent()).toContain('Source Port');
    await shot(page, 'components-inspector');
  });

  it('G goes to a segment by number', async () => {
    await page.keyboard.press('Escape');
    await page.locator('body').click({ position: { x: 5, y: 700 } });
    await page.keyboard.press('g');
    await page.locator('#goto').fill('8');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('tcp-inspector .summary').first().textContent()).toContain('#8 A');
    expect(await page.getByRole('tab', { name: 'Segment #8' }).getAttribute('aria-selected')).toBe('true');
  });

  it('the state diagram marks each endpoint’s states', async () => {
    await page.getByRole('tab', { name: 'State diagram' }).click();
    const label = () => page.locator('tcp-state-diagram svg').getAttribute('aria-label');
    // at the end A's socket is gone and only B's listener is left
    expect(await label()).toContain('B #1: LISTEN');
    expect(await label()).not.toContain('A #');
    const a = page.locator('tcp-endpoint[side="A"] .head .state');
    for (let i = 0; i < 30 && (await a.textContent()) !== 'TIME-WAIT'; i++)
      await page.keyboard.press('ArrowLeft');
    expect(await label()).toContain('A #1: TIME-WAIT');
    expect(await label()).toMatch(/B #2: (LAST-ACK|CLOSED)/);
    await shot(page, 'components-diagram');
    await page.keyboard.press('l');
  });

  it('switches to Chinese and remembers it', async () => {
    await page.locator('tcp-room tcp-lang-switch').getByRole('button', { name: '中文' }).click();
    expect(await page.getByRole('button', { name: '按事件' }).count()).toBe(1);
    expect(await page.evaluate('document.documentElement.lang')).toBe('zh-CN');
    await page.reload();
    await page.locator('tcp-timeline').waitFor();
    expect(await page.getByRole('button', { name: '按时间' }).count()).toBe(1);
    await shot(page, 'components-zh');
    await page.getByRole('button', { name: 'English' }).click();
    expect(await page.evaluate('document.documentElement.lang')).toBe('en');
  });

  it('every control has a name a screen reader can read', async () => {
    const unnamed = (await page.evaluate(`(() => {
      const out = [];
      const walk = (root) => {
        for (const el of root.querySelectorAll('*')) {
          if (el.shadowRoot) walk(el.shadowRoot);
          const tag = el.tagName;
          if (!['BUTTON', 'INPUT', 'SELECT', 'TEXTAREA'].includes(tag)) continue;
          if (el.type === 'hidden') continue;
          const byLabel = el.id && root.querySelector('label[for="' + el.id + '"]');
          const name = (el.getAttribute('aria-label') || el.getAttribute('title') || (byLabel && byLabel.textContent) || (tag === 'BUTTON' ? el.textContent : '') || '').trim();
          if (!name) out.push(tag + ' ' + (el.id || el.className));
        }
      };
      walk(document);
      return out;
    })()`)) as string[];
    expect(unnamed).toEqual([]);
  });

  it('nothing overlaps at 1280×720 and the page does not scroll sideways', async () => {
    const boxes = (await page.evaluate(`(() => {
      const room = document.querySelector('tcp-dev').shadowRoot.querySelector('tcp-room');
      const r = room.shadowRoot;
      const box = (el) => { const b = el.getBoundingClientRect(); return [b.left, b.top, b.right, b.bottom]; };
      return {
        a: box(r.querySelector('tcp-endpoint[side="A"]')),
        b: box(r.querySelector('tcp-endpoint[side="B"]')),
        mid: box(r.querySelector('.mid')),
        head: box(r.querySelector('header')),
        dock: box(r.querySelector('.dock')),
        width: document.documentElement.scrollWidth,
        height: document.documentElement.scrollHeight,
      };
    })()`)) as Record<string, number[] | number>;
    const [a, b, mid, head, dock] = ['a', 'b', 'mid', 'head', 'dock'].map(
      (k) => boxes[k] as number[],
    ) as number[][];
    const overlap = (x: number[], y: number[]) =>
      x[0]! < y[2]! - 0.5 && y[0]! < x[2]! - 0.5 && x[1]! < y[3]! - 0.5 && y[1]! < x[3]! - 0.5;
    expect(overlap(a!, mid!)).toBe(false);
    expect(overlap(mid!, b!)).toBe(false);
    expect(overlap(head!, mid!)).toBe(false);
    expect(overlap(dock!, mid!)).toBe(false);
    expect(boxes.width).toBeLessThanOrEqual(1280);
    expect(boxes.height).toBeLessThanOrEqual(720);
    expect(mid![2]! - mid![0]!).toBeGreaterThan(600);
  });

  it('a held segment hangs mid-flight with release and drop buttons (disabled on a recording)', async () => {
    const h = await person(browser);
    await h.page.goto(`${url}/dev.html?scenario=held`);
    const release = h.page.getByRole('button', { name: /Let segment #1 continue/ });
    await release.waitFor();
    expect(await release.isDisabled()).toBe(true);
    expect(await h.page.getByRole('button', { name: 'Lose segment #1' }).isDisabled()).toBe(true);
    expect((await devLadder(h.page))[0]).toMatch(/· held$/);
    await shot(h.page, 'components-held');
    expect(h.errors).toEqual([]);
    await h.ctx.close();
  });

  it('two segments held at the same moment get button rows that do not overlap', async () => {
    const h = await person(browser);
    await h.page.goto(`${url}/dev.html?scenario=held2`);
    const one = h.page.getByRole('button', { name: 'Lose segment #1' });
    const two = h.page.getByRole('button', { name: 'Lose segment #2' });
    await one.waitFor();
    await two.waitFor();
    const a = (await one.boundingBox())!;
    const b = (await two.boundingBox())!;
    const apart =
      a.y + a.height <= b.y || b.y + b.height <= a.y || a.x + a.width <= b.x || b.x + b.width <= a.x;
    expect(apart, `#1 at ${JSON.stringify(a)}, #2 at ${JSON.stringify(b)}`).toBe(true);
    await shot(h.page, 'components-held-two');
    expect(h.errors).toEqual([]);
    await h.ctx.close();
  });

  it('raised no page errors', () => {
    expect(p.errors).toEqual([]);
  });
});
