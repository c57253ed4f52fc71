/**
 * Runs packetdrill scripts against the TCP Lab engine.
 *
 *   npm run packetdrill -- [-v] [--config key=value]… FILE.pkt… | DIR…
 *
 * `--config` overrides an engine setting (`shared/tcp/config.ts`) for every script, e.g.
 * `--config windowShift=8`; values are JSON (numbers, booleans) or plain strings.
 * `-v` prints, under each failing script, the packets and calls of the run in order.
 * Directories are searched recursively for `*.pkt`. One line per script (PASS, FAIL with the
 * first mismatch, or UNSUPPORTED with the constructs the runner cannot execute), then the
 * summary `N passed, M failed, K unsupported`. Exit status 1 when any script failed.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { formatResult, runScriptText, type ScriptResult } from '../shared/packetdrill/runner.ts';
import type { TcpConfig } from '../shared/tcp/config.ts';

function collect(path: string, out: string[]): void {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      const child = join(path, name);
      if (statSync(child).isDirectory() || name.endsWith('.pkt')) collect(child, out);
    }
  } else out.push(path);
}

function main(argv: string[]): number {
  const args: string[] = [];
  const config: Record<string, unknown> = {};
  let verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-v' || a === '--verbose') verbose = true;
    else if (a === '--config') {
      const kv = argv[++i] ?? '';
      const eq = kv.indexOf('=');
      if (eq <= 0) {
        process.stderr.write(`packetdrill: --config needs key=value, got '${kv}'\n`);
        return 2;
      }
      const raw = kv.slice(eq + 1);
      let value: unknown = raw;
      try {
        value = JSON.parse(raw);
      } catch {}
      config[kv.slice(0, eq)] = value;
    } else args.push(a);
  }
  if (args.length === 0 || args.includes('-h') || args.includes('--help')) {
    process.stderr.write('usage: npm run packetdrill -- [-v] [--config key=value]… FILE.pkt… | DIR…\n');
    return 2;
  }
  const files: string[] = [];
  for (const a of args) {
    try {
      collect(a, files);
    } catch (e) {
      process.stderr.write(`packetdrill: ${a}: ${(e as Error).message}\n`);
      return 2;
    }
  }
  const counts = { pass: 0, fail: 0, unsupported: 0 };
  for (const file of files) {
    const shown = file;
    let result: ScriptResult;
    let details: string[] = [];
    try {
      const trace: string[] = [];
      result = runScriptText(readFileSync(file, 'utf8'), shown, {
        config: config as Partial<TcpConfig>,
        trace: (line) => trace.push(line),
      });
      if (verbose && result.status === 'fail') details = trace;
    } catch (e) {
      // A runner crash is our bug, never a pass.
      const err = e as Error;
      result = { status: 'fail', path: shown, line: 0, message: `runner error: ${err.stack ?? err.message}` };
    }
    counts[result.status]++;
    process.stdout.write(`${formatResult(result)}\n`);
    for (const line of details) process.stdout.write(`    ${line}\n`);
  }
  process.stdout.write(`${counts.pass} passed, ${counts.fail} failed, ${counts.unsupported} unsupported\n`);
  return counts.fail > 0 ? 1 : 0;
}

// `npm run packetdrill -- DIR | head` closes stdout early: stop quietly.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
process.exitCode = main(process.argv.slice(2));
