// Runs a TypeScript benchmark as one esbuild bundle on plain Node, so the figures measure our
// code rather than a TypeScript loader's import indirection.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { build } from 'esbuild';

// Node options may come before the entry (`node bench/run.mjs --max-semi-space-size=64 bench/x.ts`).
const argv = process.argv.slice(2);
const nodeFlags = [];
while (argv[0]?.startsWith('--')) nodeFlags.push(argv.shift());
const [entry, ...args] = argv;
if (!entry) {
  process.stderr.write('usage: node bench/run.mjs [node options…] bench/NAME.ts [args…]\n');
  process.exit(2);
}
const outDir = join('node_modules', '.cache', 'tcplab-bench');
mkdirSync(outDir, { recursive: true });
const outfile = join(outDir, `${basename(entry, '.ts')}.mjs`);
await build({
  entryPoints: [entry],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile,
  packages: 'external',
  logLevel: 'warning',
});
try {
  execFileSync(process.execPath, [...nodeFlags, outfile, ...args], { stdio: 'inherit' });
} catch (e) {
  process.exit(typeof e.status === 'number' ? e.status : 1);
}
