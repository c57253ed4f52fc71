/**
 * End to end in Chromium (issue 8): an instructor on /teach creates a class and assigns
 * "lose the third closing segment"; two students join, pair up (the instructor seats them) and
 * complete it; the dashboard shows 100 % and the class summary CSV lists it. Student A is a real
 * page: it sees the exercise panel, answers both questions there and watches its progress bar
 * reach 100 %; clicking a goal highlights the segments that prove it on the ladder. The
 * dashboard's room card opens a read-only watch of the room's timeline: no seat, no control that
 * changes the room, the goals' evidence highlighted there too.
 */
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { closeAll, connect, request } from '../server/helpers.ts';
import { KEY, ladder, launch, person, shot, startServer } from '../web/browser.ts';
import { seen, solveLoseThird } from './helpers.ts';

let app: FastifyInstance | undefined;
let browser: Browser | undefined;
const clients: WebSocket[] = [];

afterAll(async () => {
  await browser?.close();
  await closeAll(clients, app);
});

it('instructor assigns lose-third, a pair completes it, the dashboard reaches 100 % and the CSV lists it', async () => {
  ({ app } = await startServer({ speed: 20 }));
  const addr = app.server.address() as { port: number };
  const http = `http://127.0.0.1:${addr.port}`;
  browser = await launch();
  const t = await person(browser);
  const page = t.page;
  await page.goto(`${http}/teach?key=${encodeURIComponent(KEY)}`);
  const teach = page.locator('tcp-teach');
  await teach.locator('#create-class').click();
  const code = (await teach.locator('[data-testid=join-code]').textContent())!.trim();
  expect(code).toMatch(/^[A-Z0-9]{6}$/);
  await teach.locator('#add-room').click();
  await teach.locator('article[data-room]').first().waitFor();
  await teach.locator('#class-exercise').selectOption('lose-third');
  await teach.locator('#assign-class').click();
  await expect
    .poll(() => teach.locator('article[data-room]').first().textContent())
    .toContain('Losing the third');

  // Two students join the class: Ada in a real page, Bo as a WebSocket client; the instructor
  // seats them. Ada's socket calls go through an instructor connection in the room (the test's
  // hands), her answers through her exercise panel.
  const student = await person(browser);
  await student.page.goto(`${http}/?class=${code}`);
  await student.page.locator('#name').fill('Ada');
  await student.page.locator('tcp-join button[type="submit"]').click();
  await student.page.locator('tcp-lobby').waitFor();
  const b = await connect(`ws://127.0.0.1:${addr.port}/ws`);
  const a = await connect(`ws://127.0.0.1:${addr.port}/ws`);
  clients.push(a, b);
  const sb = (await request(b, { type: 'class.join', code, name: 'Bo' })).session.id as string;
  const card = teach.locator('article[data-room]').first();
  const room = Number(await card.getAttribute('data-room'));
  await expect.poll(() => card.locator(`#seat-${room}-A option`).count()).toBe(3);
  const sa = (await card.locator(`#seat-${room}-A option`, { hasText: 'Ada' }).getAttribute('value'))!;
  await card.locator(`#seat-${room}-A`).selectOption(sa);
  await card.locator(`#seat-${room}-B`).selectOption(sb);
  await seen(b, (d) => d.type === 'room.info' && d.info.seats.B?.name === 'Bo');
  await shot(page, 'teach-assigned');
  await request(a, { type: 'instructor.auth', key: KEY });
  await request(a, { type: 'room.join', room });

  const panel = student.page.locator('tcp-exercise-panel');
  await panel.locator('h2', { hasText: 'Losing the third' }).waitFor({ timeout: 15_000 });
  const bar = panel.getByRole('progressbar');
  expect(await bar.getAttribute('aria-valuenow')).toBe('0');
  const who = panel.locator('form[data-question="who-repairs"]');
  await who.locator('input[value="b-rto"]').check();
  await who.getByRole('button', { name: 'Answer' }).click();
  await expect.poll(() => who.locator('.fb').textContent()).toContain('Correct');
  const predict = panel.locator('form[data-question="predict-last-ack"]');
  await predict.getByLabel('ACK', { exact: true }).check();
  await predict.getByLabel('Seq (relative)').fill('2');
  await predict.getByLabel('Ack (relative)').fill('2');
  await predict.getByRole('button', { name: 'Answer' }).click();
  await expect.poll(() => predict.locator('.fb').textContent()).toContain('Saved');
  await shot(student.page, 'teach-student-panel');
  await solveLoseThird(a, b, room);

  await expect.poll(() => bar.getAttribute('aria-valuenow'), { timeout: 15_000 }).toBe('100');
  await expect.poll(() => predict.locator('.fb').textContent()).toContain('Right prediction');
  expect(await panel.locator('.goal.unmet').count()).toBe(0);
  await panel.getByText('Exercise complete').waitFor();
  await shot(student.page, 'teach-student-complete');

  // The lost FIN and its retransmission, pointed out on the ladder from the goal.
  const legend = student.page.locator('tcp-timeline [data-testid=ladder-highlight]');
  expect(await legend.count()).toBe(0);
  expect((await ladder(student.page)).filter((l) => l.endsWith('◆'))).toEqual([]);
  const goal = panel.locator('li[data-goal="fin-retransmitted"] button.goal-link');
  expect(await goal.getAttribute('aria-pressed')).toBe('false');
  // Zoomed in, the ladder is taller than its view and follows the present, far below the FINs.
  const room_ = student.page.locator('tcp-room');
  for (let k = 0; k < 6; k++) await room_.getByRole('button', { name: 'Zoom in' }).click();
  const follow = room_.locator('.scrub button', { hasText: 'Follow live' });
  expect(await follow.count()).toBe(0);
  await goal.click();
  // The ladder scrolled back to them: it no longer follows the present.
  await follow.waitFor();
  await expect.poll(() => goal.getAttribute('aria-pressed')).toBe('true');
  await legend.waitFor();
  const said = (await legend.textContent())!;
  expect(said).toContain('B retransmitted the lost FIN when its retransmission timer fired');
  expect(said).toMatch(/#\d+ FIN,ACK from B \(dropped at t=[\d.]+ ms\); #\d+ FIN,ACK from B \(sent at/);
  expect(await legend.getAttribute('role')).toBe('status');
  const marked = (await ladder(student.page)).filter((l) => l.endsWith('◆'));
  expect(marked).toHaveLength(2);
  expect(marked[0]).toMatch(/^#\d+ B→A .*FIN.* · dropped · ◆$/);
  expect(marked[1]).toMatch(/^#\d+ B→A .*FIN.* · arrived · ◆$/);
  expect(await panel.locator('[data-testid=goal-evidence] li').count()).toBe(2);
  await shot(student.page, 'teach-student-highlight');
  // Another goal: the state change is a moment on A's line, the segment the FIN that caused it.
  await panel.locator('li[data-goal="a-waited"] button.goal-link').click();
  await expect.poll(() => legend.textContent()).toContain('A going FIN-WAIT-2 → TIME-WAIT');
  expect((await ladder(student.page)).filter((l) => l.endsWith('◆'))).toEqual([marked[1]]);
  // Clicking it again clears it.
  await panel.locator('li[data-goal="a-waited"] button.goal-link').click();
  await expect.poll(() => legend.count()).toBe(0);
  expect(student.errors).toEqual([]);

  await expect.poll(() => card.locator('.percent').textContent(), { timeout: 15_000 }).toBe('100 %');
  await expect.poll(() => teach.locator('tbody').textContent(), { timeout: 5000 }).toContain('complete');
  await shot(page, 'teach-complete');

  const csv = await page.evaluate(
    async (href) => (await fetch(href)).text(),
    (await teach.locator('#csv').getAttribute('href'))!,
  );
  expect(csv).toContain(`${room},Room 1,Ada,Bo,lose-third,`);
  expect(csv).toMatch(/lose-third,[^\r\n]*,true,100,4\/4,2\/2,true,/);
  expect(t.errors).toEqual([]);

  // The room card's "watch" link: the room's whole timeline, read-only (no seat, no controls).
  const roomInfo = () => app!.lab.rooms.get(room)!.info();
  const before = roomInfo();
  const href = (await card.locator('a.watch').getAttribute('href'))!;
  const watcher = await t.ctx.newPage();
  watcher.on('pageerror', (e) => t.errors.push(`watch pageerror: ${e.message}`));
  await watcher.goto(`${http}${href}`);
  await watcher.locator('tcp-room tcp-timeline').waitFor();
  await expect.poll(() => watcher.locator('tcp-exercise-panel .pct').textContent()).toBe('100 %');
  expect(new URL(watcher.url()).searchParams.has('key')).toBe(false);
  const head = watcher.locator('tcp-room header');
  await expect.poll(() => head.textContent()).toContain('Watching (read-only)');
  expect(await head.textContent()).toContain('2 here');
  expect(roomInfo().seats).toEqual(before.seats);
  expect(roomInfo().people).toBe(before.people);
  // Nothing that changes the room: no clock controls, no network tab, no answers, no seat to take.
  expect(
    await watcher
      .locator('tcp-room header .clock button:visible, tcp-room header .clock select:visible')
      .count(),
  ).toBe(0);
  expect(await watcher.locator('tcp-room #tab-network').count()).toBe(0);
  expect(
    await watcher.locator('tcp-exercise-panel button[type="submit"], tcp-exercise-panel input').count(),
  ).toBe(0);
  await watcher.locator('tcp-exercise-panel [data-question="who-repairs"] .fb.correct').waitFor();
  expect(
    await watcher.locator('tcp-endpoint button:visible', { hasText: /take|socket|connect|close/i }).count(),
  ).toBe(0);
  expect(await watcher.locator('tcp-room button', { hasText: /leave/i }).count()).toBe(0);
  // Space (pause or resume) does nothing: the room's clock is as it was.
  const running = app!.lab.rooms.get(room)!.clock().running;
  await watcher.locator('tcp-timeline .wrap').focus();
  await watcher.keyboard.press('Space');
  expect(app!.lab.rooms.get(room)!.clock().running).toBe(running);
  // The goals' evidence on the watcher's ladder too.
  await watcher.locator('tcp-exercise-panel li[data-goal="fin-lost"] button.goal-link').click();
  await watcher.locator('tcp-timeline [data-testid=ladder-highlight]').waitFor();
  expect((await ladder(watcher)).filter((l) => l.endsWith('◆'))).toEqual([marked[0]]);
  await shot(watcher, 'teach-watch');
  expect(roomInfo().seats).toEqual(before.seats);
  expect(roomInfo().people).toBe(before.people);
  expect(t.errors).toEqual([]);
}, 120_000);
