#!/usr/bin/env node
/**
 * `npm start`'s build step (bin/start.mjs runs it, then the server), plain Node so it needs no
 * loader:
 *
 * - the web app: `vite build web` → `web/dist`;
 * - the server: `server/main.ts` bundled by esbuild into one CommonJS script, `dist/server.cjs`,
 *   which `npm start` runs on plain Node with V8's code cache (bin/run-bundle.mjs): no
 *   TypeScript loader at start (a restart after a crash is timed in `npm run bench:recovery`).
 *   Packages are bundled too (a third of a restart went on resolving and reading their hundreds
 *   of files), except better-sqlite3, a native module, and ws's optional native helpers, which
 *   load from node_modules.
 *
 * Each is rebuilt only when its sources changed since its last build (the path, size and mtime
 * of every source file, kept in `dist/build-state.json`), so restarting the server costs no
 * build. Run alone (`node bin/build.mjs`): `--force` rebuilds both; `--server` / `--web` build
 * only that one.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const STATE = join(root, 'dist', 'build-state.json');

/** The bundle `npm start` runs. */
export const SERVER_BUNDLE = join(root, 'dist', 'server.cjs');

const targets = [
  {
    name: 'web',
    inputs: ['web', 'shared', 'package-lock.json'],
    output: join(root, 'web', 'dist', 'index.html'),
    build() {
      execFileSync(
        process.execPath,
        [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', 'web', '--logLevel', 'warn'],
        { cwd: root, stdio: 'inherit' },
      );
    },
  },
  {
    name: 'server',
    inputs: ['server', 'shared', 'package-lock.json', 'bin/build.mjs'],
    output: SERVER_BUNDLE,
    build: () => buildServer(),
  },
];

/**
 * Bundles `server/main.ts` into `outfile` (inside the repository, so node_modules resolves), as
 * CommonJS: bin/run-bundle.mjs runs it as one script with V8's code cache, which ES modules lack
 * on Node 20. Removes the bundle's old code cache (it was for the old bundle).
 */
export async function buildServer(outfile = SERVER_BUNDLE) {
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(root, 'server', 'main.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    external: ['better-sqlite3', 'bufferutil', 'utf-8-validate'],
    logLevel: 'warning',
    banner: { js: '// Built by bin/build.mjs from server/main.ts (npm start runs it). Do not edit.' },
  });
  rmSync(codeCacheOf(outfile), { force: true });
}

/** Where bin/run-bundle.mjs keeps the code cache of a bundle. */
export function codeCacheOf(bundle) {
  return `${bundle}.code-cache`;
}

/** A digest of every source file's path, size and mtime (build outputs and node_modules aside). */
function fingerprint(inputs) {
  const h = createHash('sha256');
  for (const input of inputs) {
    const abs = join(root, input);
    if (!existsSync(abs)) continue;
    const st = statSync(abs);
    const files = st.isDirectory()
      ? readdirSync(abs, { recursive: true, withFileTypes: true })
          .filter((d) => d.isFile())
          .map((d) => join(d.parentPath ?? d.path, d.name))
          .filter((f) => !/[/\\](node_modules|dist)[/\\]/.test(relative(root, f)))
          .sort()
      : [abs];
    for (const f of files) {
      const s = statSync(f);
      h.update(`${relative(root, f)}\0${s.size}\0${s.mtimeMs}\n`);
    }
  }
  return h.digest('hex');
}

function readState() {
  try {
    return JSON.parse(readFileSync(STATE, 'utf8'));
  } catch {
    return {};
  }
}

/**
 * Builds what changed since its last build (everything with `force`; `only` 'server' or 'web'
 * for just that one). `npm start` calls it first (bin/start.mjs), in the server's own process.
 */
export async function ensureBuilt({ force = false, only = undefined } = {}) {
  const state = readState();
  for (const t of targets) {
    if (only && t.name !== only) continue;
    const fp = fingerprint(t.inputs);
    if (!force && state[t.name] === fp && existsSync(t.output)) continue;
    const t0 = performance.now();
    await t.build();
    state[t.name] = fp;
    mkdirSync(join(root, 'dist'), { recursive: true });
    writeFileSync(STATE, `${JSON.stringify(state, null, 2)}\n`);
    process.stderr.write(`built ${relative(root, t.output)} in ${Math.round(performance.now() - t0)} ms\n`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const only = args.includes('--server') ? 'server' : args.includes('--web') ? 'web' : undefined;
  ensureBuilt({ force: args.includes('--force'), only }).catch((e) => {
    process.stderr.write(`build failed: ${e?.stack ?? e}\n`);
    process.exit(1);
  });
}
