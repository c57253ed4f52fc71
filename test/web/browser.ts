/**
 * Helpers for the browser tests: build the web app from source (into its own folder, so a test
 * never serves a stale build nor races another test over web/dist), start the real lab server
 * in-process on an ephemeral loopback port serving that build, and drive Debian's Chromium with
 * playwright-core.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { type BuildOptions, buildApp } from '../../server/app.ts';

export const KEY = 'web-test-instructor-key';
export const SHOTS = resolve('test-results');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const built = new Map<string, Promise<string>>();

/**
 * Builds web/ with Vite into test-results/<name> (once per process) and returns the folder
 * (`minify: false` keeps function names, for a readable CPU profile).
 */
export function buildWeb(name = 'web-dist', minify = true): Promise<string> {
  let p = built.get(name);
  if (!p) {
    const outDir = join(SHOTS, name);
    p = build({
      configFile: resolve('web/vite.config.ts'),
      logLevel: 'error',
      build: { outDir, emptyOutDir: true, sourcemap: false, ...(minify ? {} : { minify: false }) },
    }).then(() => outDir);
    built.set(name, p);
  }
  return p;
}

export async function startServer(opts: BuildOptions = {}): Promise<{ app: FastifyInstance; url: string }> {
  const webRoot = await buildWeb();
  const app = await buildApp({ instructorKey: KEY, webRoot, ...opts });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no port');
  return { app, url: `http://127.0.0.1:${addr.port}` };
}

/** A class with one room, made the way an instructor would (HTTP with the key). */
export async function makeClass(
  app: FastifyInstance,
  name = 'Networks',
): Promise<{ code: string; room: number }> {
  const auth = { authorization: `Bearer ${KEY}` };
  const c = await app.inject({ method: 'POST', url: '/api/classes', headers: auth, payload: { name } });
  if (c.statusCode !== 201) throw new Error(`POST /api/classes: ${c.statusCode} ${c.body}`);
  const { code } = c.json() as { code: string };
  const r = await app.inject({
    method: 'POST',
    url: `/api/classes/${code}/rooms`,
    headers: auth,
    payload: { name: 'Pair 1' },
  });
  if (r.statusCode !== 201) throw new Error(`POST rooms: ${r.statusCode} ${r.body}`);
  return { code, room: (r.json() as { room: number }).room };
}

export function launch(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface Person {
  ctx: BrowserContext;
  page: Page;
  errors: string[];
}

/** A browser context of its own (its own sessionStorage: one person), at 1280×720. */
export async function person(browser: Browser, locale = 'en-US'): Promise<Person> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 720 }, locale });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return { ctx, page, errors };
}

export async function shot(page: Page, name: string): Promise<string> {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** The ladder as the page's timeline renders it (one line per segment). */
export function ladder(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const tl = document
      .querySelector('tcp-app')
      ?.shadowRoot?.querySelector('tcp-room')
      ?.shadowRoot?.querySelector('tcp-timeline') as unknown as { ladderLines(): string[] } | null;
    return tl ? tl.ladderLines() : [];
  });
}

/** Waits until `pred` holds for the page's ladder; returns it. */
export async function waitLadder(
  page: Page,
  pred: (lines: string[]) => boolean,
  timeoutMs = 20_000,
): Promise<string[]> {
  const start = Date.now();
  let lines: string[] = [];
  while (Date.now() - start < timeoutMs) {
    lines = await ladder(page);
    if (pred(lines)) return lines;
    await page.waitForTimeout(100);
  }
  throw new Error(`ladder condition not met in ${timeoutMs} ms; ladder is:\n${lines.join('\n')}`);
}

/** Flags of each segment as sent, in order: `[SYN]`, `[SYN, ACK]`… (tags and numbers dropped). */
export function flagsOf(lines: string[]): string[] {
  return lines.map((l) => {
    const m = / (\[[A-Z, ]+\]) Seq=/.exec(l);
    return m ? m[1]! : '?';
  });
}

/** True when `want` appears in `have` in order (other items may come between). */
export function isSubsequence(want: string[], have: string[]): boolean {
  let i = 0;
  for (const h of have) if (i < want.length && h === want[i]) i++;
  return i === want.length;
}
