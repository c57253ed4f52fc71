/**
 * Back-quoted shell commands in packetdrill scripts. We never run a shell: each line is either
 * understood (packetdrill's `common/defaults.sh`, which the `packetdrill` engine profile
 * mirrors; `sysctl` writes that map to an engine setting), harmless for a virtual host
 * (flushing TCP metrics, restoring sysctls), or reported as unsupported with the exact text.
 */
import type { TcpConfig } from '../tcp/config.ts';

export type CommandOutcome =
  | { ok: true; config: Partial<TcpConfig>; notes: string[] }
  | { ok: false; construct: string };

/**
 * The sysctl values `common/defaults.sh` sets. A script that writes one of these values again is
 * asking for what the profile already has.
 */
export const DEFAULTS_SH_SYSCTLS: Readonly<Record<string, string>> = {
  tcp_rmem: '4096 540000 15728640',
  tcp_wmem: '4096 262144 4194304',
  tcp_timestamps: '1',
  tcp_syn_retries: '5',
  tcp_synack_retries: '5',
  tcp_frto: '2',
  tcp_sack: '1',
  tcp_dsack: '1',
  tcp_fack: '0',
  tcp_reordering: '3',
  tcp_congestion_control: 'cubic',
  tcp_slow_start_after_idle: '0',
  tcp_early_retrans: '4',
  tcp_recovery: '1',
  tcp_tso_win_divisor: '3',
  tcp_ecn: '0',
  tcp_ecn_option: '2',
  tcp_pacing_ss_ratio: '200',
  tcp_pacing_ca_ratio: '120',
  tcp_notsent_lowat: '4294967295',
  tcp_fastopen: '0x70403',
  tcp_fastopen_key: 'a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4',
  tcp_syncookies: '1',
};

/** sysctls with an engine setting: name → how the value maps onto the config. */
const SYSCTL_MAP: Readonly<Record<string, (v: string) => Partial<TcpConfig> | undefined>> = {
  tcp_timestamps: (v) => bool(v, (b) => ({ timestamps: b })),
  tcp_sack: (v) => bool(v, (b) => ({ sack: b })),
  tcp_window_scaling: (v) => bool(v, (b) => ({ windowScaling: b })),
  tcp_syn_retries: (v) => int(v, (n) => ({ synRetries: n })),
  tcp_synack_retries: (v) => int(v, (n) => ({ synAckRetries: n })),
  tcp_retries2: (v) => int(v, (n) => ({ retries: n })),
  tcp_fin_timeout: (v) => int(v, (n) => ({ finTimeoutMs: n * 1000 })),
  tcp_keepalive_time: (v) => int(v, (n) => ({ keepaliveIdleMs: n * 1000 })),
  tcp_keepalive_intvl: (v) => int(v, (n) => ({ keepaliveIntervalMs: n * 1000 })),
  tcp_keepalive_probes: (v) => int(v, (n) => ({ keepaliveProbes: n })),
};

function bool(v: string, f: (b: boolean) => Partial<TcpConfig>): Partial<TcpConfig> | undefined {
  if (v === '0' || v === '1') return f(v === '1');
  return undefined;
}

function int(v: string, f: (n: number) => Partial<TcpConfig>): Partial<TcpConfig> | undefined {
  return /^\d+$/.test(v) ? f(Number(v)) : undefined;
}

/** Interprets a whole back-quoted command (possibly several lines). */
export function interpretCommand(command: string): CommandOutcome {
  const config: Partial<TcpConfig> = {};
  const notes: string[] = [];
  for (const rawLine of command.replace(/\\\n/g, ' ').split(/\n|;/)) {
    const line = rawLine.trim();
    if (line === '') continue;
    const outcome = interpretLine(line);
    if (!outcome.ok) return outcome;
    Object.assign(config, outcome.config);
    notes.push(...outcome.notes);
  }
  return { ok: true, config, notes };
}

function interpretLine(line: string): CommandOutcome {
  if (/^(\.\.\/)*(\.\.\/)?common\/defaults\.sh$/.test(line) || /(^|\/)common\/defaults\.sh$/.test(line)) {
    return { ok: true, config: {}, notes: ['defaults.sh: the packetdrill profile'] };
  }
  if (/^ip tcp_metrics flush( all)?( >.*)?$/.test(line)) {
    return { ok: true, config: {}, notes: ['no TCP metrics cache to flush'] };
  }
  if (/^\/tmp\/sysctl_restore_\$\{PPID\}\.sh$/.test(line)) {
    return { ok: true, config: {}, notes: ['sysctls are per run: nothing to restore'] };
  }
  const words = line.split(/\s+/);
  let assignments: string[] | undefined;
  if (words[0] === 'sysctl') {
    assignments = words.slice(1).filter((w) => !w.startsWith('-'));
  } else if (/(^|\/)set_sysctls\.py$/.test(words[0]!)) {
    assignments = words.slice(1).map((w) => w.replace(/^\/proc\/sys\//, ''));
  }
  if (!assignments || assignments.length === 0) return { ok: false, construct: `command \`${line}\`` };
  // `sysctl -q net.ipv4.tcp_rmem="4096 540000 ..."` splits on spaces: rejoin quoted values.
  const joined = joinQuoted(assignments);
  const config: Partial<TcpConfig> = {};
  const notes: string[] = [];
  for (const a of joined) {
    const m = /^net[./]ipv4[./](tcp_[a-z0-9_]+)=(.*)$/.exec(a);
    if (!m) return { ok: false, construct: `sysctl ${a}` };
    const name = m[1]!;
    const value = m[2]!.replace(/^"|"$/g, '').replace(/\s+/g, ' ');
    if (DEFAULTS_SH_SYSCTLS[name] === value) {
      notes.push(`${name}=${value} is the profile's value`);
      continue;
    }
    const mapped = SYSCTL_MAP[name]?.(value);
    if (!mapped) return { ok: false, construct: `sysctl net.ipv4.${name}=${value}` };
    Object.assign(config, mapped);
  }
  return { ok: true, config, notes };
}

function joinQuoted(words: string[]): string[] {
  const out: string[] = [];
  let cur: string | undefined;
  for (const w of words) {
    if (cur !== undefined) {
      cur += ` ${w}`;
      if (w.endsWith('"')) {
        out.push(cur);
        cur = undefined;
      }
    } else if (/="[^"]*$/.test(w)) cur = w;
    else out.push(w);
  }
  if (cur !== undefined) out.push(cur);
  return out;
}
