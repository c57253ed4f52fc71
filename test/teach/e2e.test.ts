/**
 * End to end in Chromium (issue 8): an instructor on /teach creates a class and assigns
 * "lose the third closing segment"; two students join, pair up (the instructor seats them) and
 * complete it; the dashboard shows 100 % and the class summary CSV lists it.
 */
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { closeAll, connect, request } from '../server/helpers.ts';
import { KEY, launch, person, shot, startServer } from '../web/browser.ts';
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

  // Two students join the class (WebSocket clients of the real server); the instructor seats them.
  const a = await connect(`ws://127.0.0.1:${addr.port}/ws`);
  const b = await connect(`ws://127.0.0.1:${addr.port}/ws`);
  clients.push(a, b);
  const sa = (await request(a, { type: 'class.join', code, name: 'Ada' })).session.id as string;
  const sb = (await request(b, { type: 'class.join', code, name: 'Bo' })).session.id as string;
  const card = teach.locator('article[data-room]').first();
  const room = Number(await card.getAttribute('data-room'));
  await expect.poll(() => card.locator(`#seat-${room}-A option`).count()).toBe(3);
  await card.locator(`#seat-${room}-A`).selectOption(sa);
  await card.locator(`#seat-${room}-B`).selectOption(sb);
  await seen(b, (d) => d.type === 'room.info' && d.info.seats.B?.name === 'Bo');
  await shot(page, 'teach-assigned');

  await request(a, { type: 'exercise.answer', room, question: 'who-repairs', answer: 'b-rto' });
  await request(a, {
    type: 'exercise.answer',
    room,
    question: 'predict-last-ack',
    answer: { flags: ['ACK'], rseq: 2, rack: 2 },
  });
  await solveLoseThird(a, b, room);

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
}, 120_000);
