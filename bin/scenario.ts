/**
 * Runs a scenario file and prints its ASCII ladder, or its trace as NDJSON.
 *
 *   npm run scenario -- scenarios/handshake.json [--json] [--until MS] [--timers] [--cc]
 *                                                [--pcap OUT.pcap|OUT.pcapng] [--at A|B|wire]
 *
 * Exit codes: 0 ran (and every `expect` held), 1 ran but an `expect` failed or a step could not
 * run, 2 bad command line or bad scenario file (each problem names its field).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { buildCapture, type CaptureFormat } from '../shared/capture/index.ts';
import { formatLadder } from '../shared/sim/ladder.ts';
import { runScenario } from '../shared/sim/runner.ts';
import { parseScenarioText, scenarioAddrs, scenarioHosts } from '../shared/sim/scenario.ts';
import { toNdjson } from '../shared/sim/trace.ts';
import { ipToString } from '../shared/tcp/packet.ts';

const USAGE = `usage: npm run scenario -- FILE.json [--json] [--until MS] [--timers] [--cc] [--sockets]
  --json      print the trace as NDJSON (one event per line) instead of the ladder
  --until MS  run until this virtual time instead of the file's "until"
  --timers    show every timer set/cancel in the ladder (fired timers are always shown)
  --cc        show congestion-window changes in the ladder
  --sockets   show socket create/free events in the ladder
  --pcap OUT  also write the run's capture to OUT (.pcapng for pcapng, anything else classic pcap)
  --at POINT  capture point for --pcap: a host name (A, B) or wire (default)`;

interface Args {
  file: string;
  json: boolean;
  until?: number;
  timers: boolean;
  cc: boolean;
  sockets: boolean;
  pcap?: string;
  at: string;
}

function usageError(message: string): never {
  process.stderr.write(`scenario: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { file: '', json: false, timers: false, cc: false, sockets: false, at: 'wire' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') args.json = true;
    else if (a === '--timers') args.timers = true;
    else if (a === '--cc') args.cc = true;
    else if (a === '--sockets') args.sockets = true;
    else if (a === '--until') {
      const v = Number(argv[++i]);
      if (!(Number.isFinite(v) && v >= 0)) usageError('--until needs a number of ms >= 0');
      args.until = v;
    } else if (a === '--pcap') {
      const v = argv[++i];
      if (!v || v.startsWith('-')) usageError('--pcap needs an output file name');
      args.pcap = v;
    } else if (a === '--at') {
      const v = argv[++i];
      if (!v || v.startsWith('-')) usageError('--at needs a host name or wire');
      args.at = v;
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (a.startsWith('-')) usageError(`unknown option ${a}`);
    else if (args.file) usageError(`one scenario file at a time (got ${args.file} and ${a})`);
    else args.file = a;
  }
  if (!args.file) usageError('no scenario file given');
  return args;
}

function main(): void {
  // `npm run scenario -- x.json | head` closes stdout early: that is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const args = parseArgs(process.argv.slice(2));
  let text: string;
  try {
    text = readFileSync(args.file, 'utf8');
  } catch (e) {
    process.stderr.write(`scenario: cannot read ${args.file}: ${(e as Error).message}\n`);
    process.exit(2);
  }
  const parsed = parseScenarioText(text);
  if (!parsed.ok) {
    process.stderr.write(`${args.file}: invalid scenario\n`);
    for (const e of parsed.errors) process.stderr.write(`  ${e}\n`);
    process.exit(2);
  }
  const scenario = parsed.scenario;
  const names = scenarioHosts(scenario);
  if (args.pcap && args.at !== 'wire' && !names.includes(args.at)) {
    usageError(`--at ${args.at}: no such host in this scenario (hosts: ${names.join(', ')}, or wire)`);
  }
  const run = runScenario(scenario, args.until === undefined ? {} : { until: args.until });
  if (args.json) {
    process.stdout.write(toNdjson(run.trace));
  } else {
    const hosts = scenarioHosts(scenario);
    const addrs: Record<string, string> = {};
    for (const [name, addr] of scenarioAddrs(scenario)) addrs[name] = ipToString(addr);
    process.stdout.write(`${scenario.name} (seed ${scenario.seed}, until ${run.until} ms)\n`);
    if (scenario.description) process.stdout.write(`${scenario.description}\n`);
    process.stdout.write('\n');
    process.stdout.write(
      formatLadder(run.trace, {
        hosts: [hosts[0]!, hosts[1]!],
        addrs,
        scenario,
        timers: args.timers,
        cc: args.cc,
        sockets: args.sockets,
      }),
    );
  }
  if (args.pcap) {
    const format: CaptureFormat = args.pcap.endsWith('.pcapng') ? 'pcapng' : 'pcap';
    const bytes = buildCapture(run.trace, { point: args.at, format, title: scenario.name });
    try {
      writeFileSync(args.pcap, bytes);
    } catch (e) {
      process.stderr.write(`scenario: cannot write ${args.pcap}: ${(e as Error).message}\n`);
      process.exit(2);
    }
  }
  for (const e of run.errors) process.stderr.write(`${args.file}: ${e}\n`);
  process.exitCode = run.errors.length > 0 ? 1 : 0;
}

main();
