/**
 * `npm run scenario -- FILE --pcap OUT`: the scenario runner writes the run's capture, and tshark
 * reads it back with the same segments the NDJSON trace shows.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { tsharkRows, tsharkVersion } from './tshark.ts';

const dir = mkdtempSync(join(tmpdir(), 'tcplab-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function scenario(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'bin/scenario.ts', ...args], {
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('scenario CLI --pcap', () => {
  test('writes a pcapng at B that tshark dissects like the trace: the lost FIN never reaches B', async () => {
    expect(tsharkVersion(), 'tshark not found: apt-get install tshark').toBeDefined();
    const out = join(dir, 'lost-fin-1.pcapng');
    const r = scenario('scenarios/lost-fin-1.json', '--pcap', out, '--at', 'B', '--json');
    expect(r.status, r.stderr).toBe(0);
    const trace = r.stdout
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { type: string; event?: string; to?: string; from?: string; flags?: string[] },
      );
    const atB = trace.filter(
      (e) =>
        e.type === 'segment' &&
        ((e.event === 'arrive' && e.to === 'B') || (e.event === 'send' && e.from === 'B')),
    );
    const rows = await tsharkRows(out);
    expect(rows.map((x) => x.flagsStr.replace(/·/g, ''))).toEqual(
      atB.map((e) =>
        (e.flags ?? []).map((f) => ({ ACK: 'A', SYN: 'S', FIN: 'F', PSH: 'P', RST: 'R' })[f] ?? '').join(''),
      ),
    );
    expect(rows.every((x) => x.tcpChecksum === 'Good')).toBe(true);
    // Two FINs left A, one was dropped on the way: B saw only one.
    expect(rows.filter((x) => x.flagsStr.endsWith('F')).length).toBe(2);
  });

  test('classic pcap on the wire holds the dropped FIN too', async () => {
    const out = join(dir, 'lost-fin-1.pcap');
    const r = scenario('scenarios/lost-fin-1.json', '--pcap', out);
    expect(r.status, r.stderr).toBe(0);
    const rows = await tsharkRows(out);
    const fromA = rows.filter((x) => x.flagsStr.endsWith('F'));
    expect(fromA.length).toBe(3);
  });

  test('an unknown capture point is a usage error (exit 2) and nothing runs', () => {
    const r = scenario('scenarios/lost-fin-1.json', '--pcap', join(dir, 'x.pcap'), '--at', 'C');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--at C: no such host');
    expect(r.stdout).toBe('');
  });
});
