/**
 * The real check: captures of real simulator runs, written to files and read back by tshark. Every
 * packet must dissect as IPv4 + TCP with good checksums, and the flags and relative seq/ack
 * Wireshark computes must equal the trace's `flags`/`rseq`/`rack` (what the ladder shows); fault
 * comments, packet ids, directions and timestamps must come through.
 *
 * tshark is required (Debian package `tshark`; `.ci/run` installs it). Without it these tests fail,
 * unless TCPLAB_SKIP_TSHARK=1 says to skip them.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { buildCapture, type CaptureFormat, capturePackets } from '../../shared/capture/capture.ts';
import { writePcap } from '../../shared/capture/pcap.ts';
import { runScenario, type ScenarioRun } from '../../shared/sim/runner.ts';
import { parseScenarioText } from '../../shared/sim/scenario.ts';
import type { TraceEvent } from '../../shared/sim/trace.ts';
import { ACK, FLAG_NAMES } from '../../shared/tcp/packet.ts';
import { readPcapng } from './read.ts';
import { run, SCENARIOS, type ScenarioName } from './scenarios.ts';
import { capinfosComments, type TsharkRow, tsharkFilter, tsharkRows, tsharkVersion } from './tshark.ts';

const version = tsharkVersion();
const skip = version === undefined && process.env.TCPLAB_SKIP_TSHARK === '1';

const dir = mkdtempSync(join(tmpdir(), 'tcplab-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Wall-clock start of virtual time 0 in these files: 2023-11-14T22:13:20Z. */
const START = 1_700_000_000_000;

const BITS = new Map(FLAG_NAMES.map(([bit, name]) => [name, bit]));
const flagBits = (names: readonly string[]) => names.reduce((b, n) => b | BITS.get(n)!, 0);

/** tcp.flags.str as tshark 4.x prints it: 3 reserved bits, AE, then C E U A P R S F. */
function flagsStr(bits: number): string {
  return `····${'CEUAPRSF'
    .split('')
    .map((ch, i) => (bits & (0x80 >> i) ? ch : '·'))
    .join('')}`;
}

function epoch(tMs: number): string {
  const ns = BigInt(START) * 1_000_000n + BigInt(Math.round(tMs * 1e6));
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

/**
 * tshark's view of a capture equals the trace: one frame per record, each IPv4 + TCP with good
 * checksums (bad for corrupted ones), the trace's flags, relative seq/ack and length, timestamp,
 * and in pcapng the comments, packet id and direction.
 */
function expectMatchesTrace(
  rows: TsharkRow[],
  trace: readonly TraceEvent[],
  point: string,
  format: CaptureFormat,
  label: string,
): void {
  const packets = capturePackets(trace, point);
  const corrupted = new Set(
    trace.filter((e) => e.type === 'segment' && e.event === 'corrupt').map((e) => (e as { id: number }).id),
  );
  expect(packets.length, label).toBeGreaterThan(0);
  expect(rows.map((x) => x.number)).toEqual(packets.map((_, i) => i + 1));
  rows.forEach((row, i) => {
    const p = packets[i]!;
    const s = p.summary;
    const where = `${label} at ${point} frame ${row.number} (segment #${p.id})`;
    expect(row.protocols, where).toMatch(/^raw:ip:tcp(:|$)/);
    expect(row.ipChecksum, where).toBe('Good');
    // A corrupted segment is bad wherever it was carried or arrived (not at its sender), and
    // its header may show the flipped bit, so the trace's numbers do not apply to it.
    if (corrupted.has(p.id) && p.direction !== 'outbound') {
      expect(row.tcpChecksum, where).toBe('Bad');
    } else {
      expect(row.tcpChecksum, where).toBe('Good');
      const bits = flagBits(s.flags);
      expect(row.flags, where).toBe(bits);
      expect(row.flagsStr, where).toBe(flagsStr(bits));
      expect(row.seq, where).toBe(s.rseq);
      if (bits & ACK) expect(row.ack, where).toBe(s.rack);
      expect(row.len, where).toBe(s.len);
    }
    expect(row.epoch, where).toBe(epoch(p.t));
    if (format === 'pcapng') {
      expect(row.comments, where).toEqual(p.comments);
      expect(row.packetId, where).toBe(p.id);
      expect(row.direction, where).toBe(
        p.direction === undefined ? undefined : p.direction === 'inbound' ? 1 : 2,
      );
    } else {
      expect(row.comments, where).toEqual([]);
    }
  });
}

const runs = new Map<ScenarioName, ScenarioRun>();
function get(name: ScenarioName): ScenarioRun {
  let r = runs.get(name);
  if (!r) {
    r = run(name);
    expect(r.errors).toEqual([]);
    runs.set(name, r);
  }
  return r;
}

function write(name: string, bytes: Uint8Array): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

async function capture(
  scenario: ScenarioName,
  point: string,
  format: CaptureFormat,
): Promise<{ file: string; rows: TsharkRow[] }> {
  const bytes = buildCapture(get(scenario).trace, {
    point,
    format,
    title: `TCP Lab test · scenario ${SCENARIOS[scenario]().name}`,
    startTime: START,
  });
  const file = write(`${scenario}-${point}.${format}`, bytes);
  return { file, rows: await tsharkRows(file) };
}

test('tshark is installed', () => {
  if (skip) return;
  expect(version, 'tshark not found: apt-get install tshark (or TCPLAB_SKIP_TSHARK=1 to skip)').toBeDefined();
});

// tshark takes about half a second a file; on a loaded machine, much longer.
describe.skipIf(version === undefined)(`tshark (${version})`, { timeout: 120_000 }, () => {
  // pcapng at every point of every scenario; classic pcap (the same records in another container)
  // on the wire of every scenario and at every point of the dropped-FIN one.
  const cases = (Object.keys(SCENARIOS) as ScenarioName[]).flatMap((scenario) =>
    ['A', 'B', 'wire'].flatMap((point) =>
      (['pcapng', 'pcap'] as const)
        .filter((format) => format === 'pcapng' || point === 'wire' || scenario === 'droppedFin')
        .map((format) => ({ scenario, point, format })),
    ),
  );

  test.concurrent.each(cases)(
    '$scenario at $point ($format): every packet is TCP, checksums good, flags and relative seq/ack as in the trace',
    async ({ scenario, point, format }) => {
      const { rows } = await capture(scenario, point, format);
      expectMatchesTrace(rows, get(scenario).trace, point, format, scenario);
    },
  );

  // Every scenario of the library (scenarios/*.json) on the wire, where every segment appears.
  const library = readdirSync('scenarios').filter((f) => f.endsWith('.json'));
  test.concurrent.each(library)(
    'library scenario %s on the wire matches its trace in tshark',
    async (name) => {
      const parsed = parseScenarioText(readFileSync(join('scenarios', name), 'utf8'));
      if (!parsed.ok) throw new Error(`${name}: ${parsed.errors.join('; ')}`);
      const trace = runScenario(parsed.scenario).trace;
      const file = write(
        `library-${name}.pcapng`,
        buildCapture(trace, { point: 'wire', format: 'pcapng', startTime: START }),
      );
      expectMatchesTrace(await tsharkRows(file), trace, 'wire', 'pcapng', name);
    },
  );

  test('dropped FIN: the comment is there, and Wireshark itself sees the retransmission', async () => {
    const r = get('droppedFin');
    const { file, rows } = await capture('droppedFin', 'wire', 'pcapng');
    const drop = rows.find((x) => x.comments.includes('dropped by rule: first FIN from A'));
    expect(drop?.flagsStr).toBe('·······A···F');
    const rexmit = rows.find((x) => x.comments.includes('retransmission after RTO'));
    expect(rexmit?.flagsStr).toBe('·······A···F');
    expect(rexmit?.seq).toBe(drop?.seq);
    expect(await tsharkFilter(file, 'tcp.analysis.retransmission')).toEqual([rexmit!.number]);
    // At B the dropped FIN never arrived: B's first FIN from A is the retransmission.
    const b = await capture('droppedFin', 'B', 'pcapng');
    const finsAtB = b.rows.filter((x) => x.flags & 1 && x.direction === 1);
    expect(finsAtB.map((x) => x.comments)).toEqual([['retransmission after RTO']]);
    expect(capturePackets(r.trace, 'B').length).toBe(capturePackets(r.trace, 'A').length - 1);
  });

  test('fast retransmit: Wireshark agrees it is one', async () => {
    const { file, rows } = await capture('fastRetransmit', 'A', 'pcapng');
    const fast = rows.filter((x) => x.comments.includes('fast retransmission after 3 duplicate ACKs'));
    expect(fast).toHaveLength(1);
    expect(await tsharkFilter(file, 'tcp.analysis.fast_retransmission')).toEqual([fast[0]!.number]);
    expect((await tsharkFilter(file, 'tcp.analysis.duplicate_ack')).length).toBeGreaterThanOrEqual(3);
  });

  test('the section comment names the scenario and the capture point', async () => {
    const { file } = await capture('droppedFin', 'A', 'pcapng');
    const comments = await capinfosComments(file);
    expect(comments[0]).toBe('TCP Lab test · scenario dropped FIN');
    expect(comments[1]).toBe('Capture point: at host A (10.0.0.1).');
  });

  describe('the checks can fail', () => {
    test('a bit flipped in a packet of the file: tshark reports a Bad TCP checksum for it, and only it', async () => {
      const bytes = buildCapture(get('handshakeClose').trace, { point: 'wire', format: 'pcapng' });
      const epbs = readPcapng(bytes).filter((b) => b.type === 6);
      const third = epbs[2]!;
      const damaged = bytes.slice();
      // Block header 8 + EPB fields 20 + IPv4 header 20 + 4: the low byte of the sequence number.
      damaged[third.offset + 8 + 20 + 20 + 7]! ^= 0x01;
      const rows = await tsharkRows(write('flipped.pcapng', damaged));
      expect(rows.map((x) => x.tcpChecksum)).toEqual(rows.map((_, i) => (i === 2 ? 'Bad' : 'Good')));
    });

    test('a damaged block length: tshark refuses the file', async () => {
      const bytes = buildCapture(get('handshakeClose').trace, { point: 'wire', format: 'pcapng' });
      const damaged = bytes.slice();
      const idb = readPcapng(bytes)[1]!;
      damaged[idb.offset + 4]! += 4;
      await expect(tsharkRows(write('damaged.pcapng', damaged))).rejects.toThrow();
    });

    test('the wrong link type: nothing dissects as TCP', async () => {
      const packets = capturePackets(get('handshakeClose').trace, 'wire');
      const bytes = writePcap(
        packets.map((p) => ({ timestampNs: BigInt(Math.round(p.t * 1e6)), data: p.bytes })),
        { linktype: 1 },
      );
      const rows = await tsharkRows(write('ethernet.pcap', bytes));
      expect(rows).toHaveLength(packets.length);
      for (const row of rows) expect(row.protocols).not.toMatch(/tcp/);
    });
  });
});
