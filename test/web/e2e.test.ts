/**
 * End to end, in Chromium, against the real lab server: two people each take one endpoint of a
 * room through the web app, an observer watches (in Chinese), and everything is done by clicking.
 *
 *   B: socket, bind 80, listen, accept          A: socket, connect 10.0.0.2:80
 *   A ──SYN──▶ B, B ──SYN,ACK──▶ A, A ──ACK──▶ B
 *   A send, B recv; B send, A recv
 *   A close ──FIN──▶; B shutdown(SHUT_WR) ──FIN──▶, then close
 *   A: TIME-WAIT, then CLOSED
 *
 * Then: a reload keeps the seat and the history; after a reset, a fault rule drops A's first FIN
 * and the timeline shows the retransmission linked to the original.
 */
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  flagsOf,
  isSubsequence,
  ladder,
  launch,
  makeClass,
  type Person,
  person,
  shot,
  startServer,
  waitLadder,
} from './browser.ts';

const CLOSE_LADDER = [
  '[SYN]',
  '[SYN, ACK]',
  '[ACK]',
  '[PSH, ACK]',
  '[FIN, ACK]',
  '[ACK]',
  '[FIN, ACK]',
  '[ACK]',
];

describe('two students and an observer in Chromium', () => {
  let app: FastifyInstance;
  let url: string;
  let code: string;
  let browser: Browser;
  let a: Person;
  let b: Person;
  let obs: Person;

  beforeAll(async () => {
    // ×5: the 500 ms link takes 100 ms, TIME-WAIT (10 s) 2 s.
    ({ app, url } = await startServer({ speed: 5 }));
    ({ code } = await makeClass(app));
    browser = await launch();
    a = await person(browser);
    b = await person(browser);
    obs = await person(browser, 'zh-CN');
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  const endpoint = (p: Page, seat: 'A' | 'B') => p.locator(`tcp-endpoint[side="${seat}"]`);
  const click = async (p: Page, seat: 'A' | 'B', name: string) => {
    const btn = endpoint(p, seat).getByRole('button', { name, exact: true });
    await btn.waitFor();
    await expectEnabled(btn);
    await btn.click();
  };
  const stateOf = (p: Page, seat: 'A' | 'B') => endpoint(p, seat).locator('.head .state');
  const waitState = async (p: Page, seat: 'A' | 'B', state: string, timeout = 20_000) => {
    await endpoint(p, seat)
      .locator('.head .state', { hasText: new RegExp(`^${state}$`) })
      .waitFor({ timeout });
  };

  async function join(p: Person, name: string, seat: 'A' | 'B' | 'observe') {
    await p.page.goto(`${url}/?class=${code}`);
    await p.page.locator('#name').fill(name);
    await p.page.locator('tcp-join button[type="submit"]').click();
    const label = seat === 'observe' ? /^(Observe|旁观)$/ : new RegExp(`^(Take|坐) ${seat}$`);
    await p.page.getByRole('button', { name: label }).first().click();
    await p.page.locator('tcp-room').waitFor();
  }

  it('joins: A and B take their seats, the observer watches', async () => {
    await join(a, 'Ann', 'A');
    await join(b, 'Bob', 'B');
    await join(obs, 'Olga', 'observe');
    await expect.poll(() => endpoint(a.page, 'A').locator('.name').textContent()).toContain('you');
    await expect.poll(() => endpoint(b.page, 'B').locator('.name').textContent()).toContain('you');
    await expect.poll(() => endpoint(obs.page, 'A').locator('.name').textContent()).toContain('Ann');
    // A call that makes no sense yet is disabled, with the reason as its tooltip.
    const connect = endpoint(a.page, 'A').getByRole('button', { name: 'connect', exact: true });
    expect(await connect.isDisabled()).toBe(true);
    expect(await connect.getAttribute('title')).toContain('call socket() first');
    // The observer makes no calls, and is told who does, in Chinese.
    expect(await endpoint(obs.page, 'A').getByRole('button', { name: 'socket()', exact: true }).count()).toBe(
      0,
    );
    expect(await endpoint(obs.page, 'A').getByRole('note').textContent()).toContain('由 Ann 操作');
    await shot(b.page, 'e2e-01-seated-B');
  });

  it('B listens and A connects: both see the handshake', async () => {
    await click(b.page, 'B', 'socket()');
    await click(b.page, 'B', 'bind');
    await click(b.page, 'B', 'listen');
    await click(b.page, 'B', 'accept()');
    await waitState(b.page, 'B', 'LISTEN');
    // accept() blocks until a connection is complete.
    await endpoint(b.page, 'B').locator('.pending').waitFor();
    await click(a.page, 'A', 'socket()');
    await click(a.page, 'A', 'connect');
    await waitState(a.page, 'A', 'ESTABLISHED');
    await waitState(b.page, 'B', 'ESTABLISHED');
    const lines = await waitLadder(a.page, (l) => l.length >= 3);
    expect(flagsOf(lines).slice(0, 3)).toEqual(['[SYN]', '[SYN, ACK]', '[ACK]']);
    expect(lines[0]).toMatch(/\[SYN\] Seq=0 Win=65535 Len=0 MSS=1460/);
    expect(lines[1]).toMatch(/\[SYN, ACK\] Seq=0 Ack=1 Win=65535 Len=0 MSS=1460/);
    await shot(a.page, 'e2e-02-handshake-A');
  });

  it('both send and receive', async () => {
    await click(a.page, 'A', 'send');
    await click(b.page, 'B', 'recv()');
    await expect
      .poll(() => endpoint(b.page, 'B').locator('.ok-box').textContent(), { timeout: 15_000 })
      .toContain('hello from A');
    await click(b.page, 'B', 'send');
    await click(a.page, 'A', 'recv()');
    await expect
      .poll(() => endpoint(a.page, 'A').locator('.ok-box').textContent(), { timeout: 15_000 })
      .toContain('hi A, this is B');
  });

  it('A closes, B shuts down then closes: A goes through TIME-WAIT to CLOSED', async () => {
    await click(a.page, 'A', 'close()');
    await waitState(b.page, 'B', 'CLOSE-WAIT');
    await waitState(a.page, 'A', 'FIN-WAIT-2');
    // shutdown(SHUT_WR) is the default choice of the "how" menu.
    await click(b.page, 'B', 'shutdown');
    await waitState(a.page, 'A', 'TIME-WAIT');
    // the live TIME-WAIT countdown
    await endpoint(a.page, 'A').locator('.timer.tw').waitFor();
    await shot(a.page, 'e2e-03-time-wait-A');
    await click(b.page, 'B', 'close()');
    await waitState(b.page, 'B', 'CLOSED');
    // TIME-WAIT lasts 2·MSL = 10 s of virtual time (2 s at ×5).
    await waitState(a.page, 'A', 'CLOSED', 30_000);
    const lines = await ladder(a.page);
    expect(isSubsequence(CLOSE_LADDER, flagsOf(lines))).toBe(true);
    await shot(a.page, 'e2e-04-closed-A');
  });

  it('A, B and the observer see the same ladder', async () => {
    const la = await ladder(a.page);
    await waitLadder(b.page, (l) => l.length === la.length);
    await waitLadder(obs.page, (l) => l.length === la.length);
    expect(await ladder(b.page)).toEqual(la);
    expect(await ladder(obs.page)).toEqual(la);
    expect(await stateOf(obs.page, 'B').textContent()).toBe('CLOSED');
    await shot(obs.page, 'e2e-05-observer-zh');
  });

  it('clicking an arrow opens the segment inspector with a verified checksum', async () => {
    const p = a.page;
    await p.keyboard.press('Home');
    const tl = p.locator('tcp-timeline .wrap');
    await tl.focus();
    await p.keyboard.press('Home');
    await p.locator('tcp-inspector .summary').first().waitFor();
    expect(await p.locator('tcp-inspector .summary').first().textContent()).toContain('#1');
    expect(await p.locator('tcp-inspector .ck-ok').count()).toBe(2);
    // hovering a field highlights its bytes in the hex dump
    await p.locator('tcp-inspector .cell', { hasText: 'Sequence Number' }).hover();
    expect(await p.locator('tcp-inspector .b.hl').count()).toBe(4);
    await shot(p, 'e2e-06-inspector-A');
  });

  it('scrubbing back shows the endpoints as they were', async () => {
    const p = b.page;
    // back to the very first event, then forward until B is LISTEN
    await p.getByRole('button', { name: 'Go to the first event' }).click();
    await expect.poll(() => stateOf(p, 'B').count()).toBe(0);
    const shownState = async () =>
      (await stateOf(p, 'B').count()) ? await stateOf(p, 'B').textContent() : '';
    for (let i = 0; i < 30 && (await shownState()) !== 'LISTEN'; i++)
      await p.getByRole('button', { name: 'Step forward' }).click();
    expect(await stateOf(p, 'B').textContent()).toBe('LISTEN');
    // calls are disabled while looking at the past
    const btn = endpoint(p, 'B').getByRole('button', { name: 'socket()', exact: true });
    expect(await btn.getAttribute('title')).toContain('past');
    await shot(p, 'e2e-07-scrubbed-B');
    await p.keyboard.press('l');
    await expect.poll(() => stateOf(p, 'B').textContent()).toBe('CLOSED');
  });

  it('a reload keeps the seat and the whole history', async () => {
    const before = await ladder(a.page);
    await a.page.reload();
    await a.page.locator('tcp-room').waitFor();
    await expect.poll(() => endpoint(a.page, 'A').locator('.name').textContent()).toContain('you');
    expect(await waitLadder(a.page, (l) => l.length === before.length)).toEqual(before);
    // the seat is still A's: nobody else can take it
    await expect.poll(() => endpoint(b.page, 'A').locator('.name').textContent()).toContain('Ann');
  });

  it('after a reset, a dropped first FIN is retransmitted and linked to the original', async () => {
    const pa = a.page;
    const pb = b.page;
    await pa.getByRole('tab', { name: 'Network & faults' }).click();
    await pa.getByRole('button', { name: 'Reset the room' }).click();
    await pa.getByRole('alertdialog').getByRole('button', { name: 'Reset' }).click();
    await waitLadder(pa, (l) => l.length === 0);
    await waitLadder(pb, (l) => l.length === 0);
    await pa.getByRole('button', { name: 'Drop the next FIN — A' }).click();
    await pa.locator('tcp-network li', { hasText: 'Drop the next FIN' }).waitFor();

    await click(pb, 'B', 'socket()');
    await click(pb, 'B', 'bind');
    await click(pb, 'B', 'listen');
    await click(pb, 'B', 'accept()');
    await waitState(pb, 'B', 'LISTEN');
    await click(pa, 'A', 'socket()');
    await click(pa, 'A', 'connect');
    await waitState(pa, 'A', 'ESTABLISHED');
    await click(pa, 'A', 'close()');
    const lines = await waitLadder(
      pa,
      (l) => l.some((x) => x.includes('[TCP Retransmission]') && x.includes('FIN')),
      30_000,
    );
    const dropped = lines.find((l) => l.includes('[FIN, ACK]') && l.endsWith('dropped'));
    const rexmit = lines.find((l) => l.includes('[TCP Retransmission]'));
    expect(dropped).toBeDefined();
    expect(rexmit).toMatch(/\[FIN, ACK\]/);
    // the inspector links the retransmission to the original
    const id = Number(/^#(\d+)/.exec(rexmit!)![1]);
    const originalId = Number(/^#(\d+)/.exec(dropped!)![1]);
    await pa.keyboard.press('g');
    await pa.locator('#goto').fill(String(id));
    await pa.keyboard.press('Enter');
    await pa.getByRole('button', { name: new RegExp(`retransmits #${originalId}`) }).waitFor();
    await waitState(pa, 'A', 'FIN-WAIT-2');
    await shot(pa, 'e2e-08-lost-fin-A');
    await waitLadder(pb, (l) => l.some((x) => x.includes('[TCP Retransmission]')));
    await shot(pb, 'e2e-09-lost-fin-B');
  });

  it('hold mode: a held segment waits mid-flight until someone releases it', async () => {
    const pa = a.page;
    const pb = b.page;
    // A's FIN is acknowledged; B (in CLOSE-WAIT) may still send.
    await pa.getByRole('tab', { name: 'Network & faults' }).click();
    await pa.getByRole('checkbox', { name: 'Hold every new segment mid-flight' }).check();
    await waitLadder(pb, () => true);
    await click(pb, 'B', 'send');
    // (A went to segment #n with G above: back to following the present)
    const follow = pa.getByRole('button', { name: 'Follow live' });
    if (await follow.count()) await follow.click();
    const heldData = /B→A .*\[PSH, ACK\].*Len=15 · held$/;
    const held = (await waitLadder(pb, (l) => l.some((x) => heldData.test(x)))).find((x) =>
      heldData.test(x),
    )!;
    const id = Number(/^#(\d+)/.exec(held)![1]);
    const line = (l: string[]) => l.find((x) => x.startsWith(`#${id} `)) ?? '';
    const release = pa.getByRole('button', { name: `Let segment #${id} continue to its receiver` });
    await release.waitFor();
    await shot(pa, 'e2e-10-held-A');
    await release.click({ timeout: 10_000 });
    expect(line(await waitLadder(pb, (l) => line(l).endsWith('· arrived')))).toContain('Len=15');
    // A closed its socket, so data arriving now is answered with RST (held in turn): B drops it.
    const rst = /^#(\d+) A→B .*\[RST\].* · held$/;
    const held2 = (await waitLadder(pb, (l) => l.some((x) => rst.test(x)))).find((x) => rst.test(x))!;
    const rid = Number(rst.exec(held2)![1]);
    await pb.getByRole('button', { name: `Lose segment #${rid}` }).click({ timeout: 10_000 });
    await waitLadder(pa, (l) => l.some((x) => x.startsWith(`#${rid} `) && x.endsWith('· dropped')));
    await pa.getByRole('checkbox', { name: 'Hold every new segment mid-flight' }).uncheck();
  });

  it('raised no page errors', () => {
    for (const p of [a, b, obs]) expect(p.errors).toEqual([]);
  });
});

async function expectEnabled(btn: ReturnType<Page['locator']>): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await btn.isEnabled()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`button stayed disabled: ${await btn.getAttribute('title')}`);
}
