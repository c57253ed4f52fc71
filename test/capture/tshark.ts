/**
 * Runs tshark on capture files and returns its per-packet fields. Only reads files, with `-o`
 * preferences: no capture privileges needed. tshark comes from Debian's `tshark` package
 * (`.ci/run` installs it).
 */
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const TSHARK = process.env.TSHARK ?? 'tshark';

/** tshark's version line, or undefined when it cannot be run. */
export function tsharkVersion(): string | undefined {
  const r = spawnSync(TSHARK, ['-v'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.split('\n')[0];
}

let commentField: string | undefined;

/** The packet-comment field: `frame.comment` since Wireshark 3.6/4.x, `pkt_comment` before. */
export function tsharkCommentField(): string {
  if (commentField) return commentField;
  const r = spawnSync(TSHARK, ['-G', 'fields'], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (r.error || r.status !== 0) throw new Error(`${TSHARK} -G fields failed: ${r.stderr}`);
  commentField = /\tframe\.comment\t/.test(r.stdout) ? 'frame.comment' : 'pkt_comment';
  return commentField;
}

export interface TsharkRow {
  number: number;
  protocols: string;
  /** TCP flag bits, from tcp.flags. */
  flags: number;
  /** tcp.flags.str, e.g. `·······A··S·`. */
  flagsStr: string;
  seq: number;
  /** Undefined when tshark shows no ack field. */
  ack: number | undefined;
  len: number;
  /** 'Good', 'Bad', 'Unverified'… (tshark prints numbers or names depending on the version). */
  tcpChecksum: string;
  ipChecksum: string;
  /** epb_packetid, when the file has one. */
  packetId: number | undefined;
  /** frame.time_epoch as printed: seconds with nine decimals. */
  epoch: string;
  /** frame.packet_flags_direction: 1 inbound, 2 outbound, undefined when absent. */
  direction: number | undefined;
  comments: string[];
}

const STATUS = ['Bad', 'Good', 'Unverified', 'Not present', 'Illegal'];
const status = (v: string) => (/^\d+$/.test(v) ? (STATUS[Number(v)] ?? v) : v);
const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));

/** Comments are joined with this between occurrences (a character our comments never contain). */
const AGG = '\u001e';

export const TSHARK_PREFS = [
  '-o',
  'tcp.check_checksum:TRUE',
  '-o',
  'ip.check_checksum:TRUE',
  '-o',
  'tcp.relative_sequence_numbers:TRUE',
];

/** Every packet of `file` as tshark dissects it. Rejects when tshark exits non-zero. */
export async function tsharkRows(file: string): Promise<TsharkRow[]> {
  const fields = [
    'frame.number',
    'frame.protocols',
    'tcp.flags',
    'tcp.flags.str',
    'tcp.seq',
    'tcp.ack',
    'tcp.len',
    'tcp.checksum.status',
    'ip.checksum.status',
    'frame.packet_id',
    'frame.time_epoch',
    'frame.packet_flags_direction',
    tsharkCommentField(),
  ];
  const args = ['-r', file, '-n', '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a'];
  args.push('-E', `aggregator=${AGG}`, ...TSHARK_PREFS);
  for (const f of fields) args.push('-e', f);
  const { stdout } = await run(TSHARK, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const c = line.split('\t');
      return {
        number: Number(c[0]),
        protocols: c[1] ?? '',
        flags: Number.parseInt(c[2] || 'NaN', 16),
        flagsStr: c[3] ?? '',
        seq: Number(c[4]),
        ack: num(c[5]),
        len: Number(c[6]),
        tcpChecksum: status(c[7] ?? ''),
        ipChecksum: status(c[8] ?? ''),
        packetId: num(c[9]),
        epoch: c[10] ?? '',
        direction: c[11] ? Number.parseInt(c[11], 16) : undefined,
        comments: c[12] ? c[12].split(AGG) : [],
      };
    });
}

/** Frame numbers tshark's display filter `filter` keeps. */
export async function tsharkFilter(file: string, filter: string): Promise<number[]> {
  const args = ['-r', file, '-n', '-Y', filter, '-T', 'fields', '-e', 'frame.number', ...TSHARK_PREFS];
  const { stdout } = await run(TSHARK, args, { encoding: 'utf8' });
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map(Number);
}

/** capinfos -k: the section comments of a pcapng file. */
export async function capinfosComments(file: string): Promise<string[]> {
  const { stdout } = await run('capinfos', ['-k', file], { encoding: 'utf8' });
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('Capture comment:'))
    .map((l) => l.slice('Capture comment:'.length).trim());
}
