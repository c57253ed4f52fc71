/**
 * The parsed form of a packetdrill script: the subset of packetdrill's grammar
 * (`gtests/net/packetdrill/parser.y`) that the TCP tests use.
 *
 * Times are integer microseconds, as packetdrill keeps them. Sequence numbers are the script's
 * own (relative) numbers; the runner maps them to and from the live connection.
 */

export type EventTime =
  | { kind: 'absolute'; usecs: number }
  | { kind: 'relative'; usecs: number }
  /** `*`: any time (outbound packets only). */
  | { kind: 'any' }
  | { kind: 'absolute-range'; usecs: number; endUsecs: number }
  | { kind: 'relative-range'; usecs: number; endUsecs: number };

export type TcpOptionSpec =
  | { kind: 'nop' }
  | { kind: 'eol' }
  | { kind: 'mss'; value: number }
  | { kind: 'wscale'; shift: number }
  | { kind: 'sackOK' }
  | { kind: 'sack'; blocks: Array<[number, number]> }
  | { kind: 'ts'; val: number; ecr: number };

export interface PacketSpec {
  direction: 'in' | 'out';
  /** Flag letters as written (`S.`, `P.`, `F.`, `R`, `` for `-`). */
  flagText: string;
  fin: boolean;
  syn: boolean;
  rst: boolean;
  psh: boolean;
  ack: boolean;
  urg: boolean;
  ece: boolean;
  cwr: boolean;
  seq: number;
  end: number;
  len: number;
  /** The `ack n` value; 0 when absent, as in packetdrill. */
  ackNum: number;
  /** The `win n` value; undefined when absent (then not checked on outbound packets). */
  win: number | undefined;
  urgPtr: number;
  /** TCP options; null for `<...>` (do not check). An absent list means "no options". */
  options: TcpOptionSpec[] | null;
  /** Explicit `src>dst` ports, when the script gives them. */
  srcPort: number | undefined;
  dstPort: number | undefined;
}

/** A syscall argument or result expression. */
export type Expr =
  | { kind: 'ellipsis' }
  | { kind: 'int'; value: number }
  | { kind: 'word'; name: string }
  | { kind: 'string'; value: string }
  | { kind: 'or'; terms: Expr[] }
  /** `[a, b]` */
  | { kind: 'list'; items: Expr[] }
  /** `{a, b}` and structs such as `{onoff=1, linger=0}` */
  | { kind: 'struct'; items: Expr[] }
  /** `name=value` or `name(arg)=value` inside a struct. */
  | { kind: 'field'; name: string; arg: Expr | undefined; value: Expr }
  /** `htons(8080)`, `inet_addr("192.0.2.1")` */
  | { kind: 'call'; name: string; args: Expr[] };

export interface SyscallSpec {
  name: string;
  args: Expr[];
  /** Blocking end time from `...t`, in µs (relative to the same anchor as the start time). */
  endUsecs: number | undefined;
  result: Expr;
  errno: string | undefined;
  note: string | undefined;
}

export type Action =
  | { kind: 'packet'; packet: PacketSpec }
  | { kind: 'syscall'; syscall: SyscallSpec }
  | { kind: 'command'; command: string }
  | { kind: 'code'; code: string };

export interface ScriptEvent {
  /** 1-based line of the event's timestamp. */
  line: number;
  time: EventTime;
  action: Action;
  /** Source text of the event, for messages. */
  text: string;
}

export interface Script {
  path: string;
  /** `--name=value` options at the top (value '' when absent). */
  options: Array<{ name: string; value: string; line: number }>;
  initCommand: { command: string; line: number } | undefined;
  events: ScriptEvent[];
  cleanupCommand: { command: string; line: number } | undefined;
  /** Constructs the parser recognised but the runner cannot execute, with their lines. */
  unsupported: Unsupported[];
}

export interface Unsupported {
  line: number;
  /** The construct exactly as written (or a short description of it). */
  construct: string;
}
