/**
 * Engine configuration. Every duration is in virtual milliseconds, so a classroom can scale time
 * (a 2·MSL of 60 s becomes 6 s with `mslMs: 3000`). Defaults follow Linux where the RFCs leave a
 * choice; `PROFILES` holds the lab's textbook profile and the profile packetdrill's suite assumes.
 */
export interface TcpConfig {
  /** Maximum Segment Lifetime; TIME-WAIT lasts 2·MSL (Linux: TCP_TIMEWAIT_LEN = 60 s). */
  mslMs: number;
  /** RFC 6298 initial RTO (Linux TCP_TIMEOUT_INIT = 1 s). */
  rtoInitialMs: number;
  /** Lower bound on the RTO (Linux TCP_RTO_MIN = 200 ms; RFC 6298 says 1 s). */
  rtoMinMs: number;
  /** Upper bound on the RTO (Linux TCP_RTO_MAX = 120 s). */
  rtoMaxMs: number;
  /** SYN retransmissions before connect() fails with ETIMEDOUT (Linux tcp_syn_retries = 6). */
  synRetries: number;
  /** SYN-ACK retransmissions before a half-open connection is dropped (tcp_synack_retries = 5). */
  synAckRetries: number;
  /** Data/FIN retransmissions before the connection is aborted with ETIMEDOUT (tcp_retries2 = 15). */
  retries: number;
  /** Delay ACKs (RFC 1122 §4.2.3.2): at most one ACK per two full segments, or after `delayedAckMs`. */
  delayedAck: boolean;
  /** Delayed-ACK timeout (Linux TCP_DELACK_MIN = 40 ms; RFC 1122 allows up to 500 ms). */
  delayedAckMs: number;
  /** Lifetime of an orphaned FIN-WAIT-2 socket (Linux tcp_fin_timeout = 60 s). */
  finTimeoutMs: number;
  /** MSS this host advertises and never exceeds when sending. */
  mss: number;
  /** Initial congestion window in segments (Linux: 10, RFC 6928; RFC 5681 allows 2 to 4). */
  initialCwndSegments: number;
  /** Default receive buffer size in bytes (the window advertised when nothing is queued). */
  rcvBuf: number;
  /** Default send buffer size in bytes. */
  sndBuf: number;
  /** Offer window scaling (RFC 7323) on SYNs; used when both ends offer it. */
  windowScaling: boolean;
  /** Offer timestamps (RFC 7323) on SYNs; used when both ends offer it. */
  timestamps: boolean;
  /** Offer SACK-permitted on SYNs (we send SACK blocks for out-of-order data when agreed). */
  sack: boolean;
  /** Nagle's algorithm on new sockets (TCP_NODELAY turns it off per socket). */
  nagle: boolean;
  /**
   * Initial sequence numbers: a fixed number (each new connection adds `issStep`), or undefined to
   * draw them from the host's seeded generator.
   */
  iss?: number;
  issStep: number;
  /** Seed of the host's deterministic generator (ISNs, ephemeral ports). */
  seed: number;
  /** First ephemeral port (Linux ip_local_port_range starts at 32768). */
  ephemeralPortMin: number;
  ephemeralPortMax: number;
  /** Keep-alive idle time, probe interval and probe count (Linux: 7200 s, 75 s, 9). */
  keepaliveIdleMs: number;
  keepaliveIntervalMs: number;
  keepaliveProbes: number;
  /** Upper bound on the zero-window probe interval (Linux uses the RTO bound). */
  persistMaxMs: number;
  /** Largest backlog listen() accepts (Linux net.core.somaxconn = 4096). */
  somaxconn: number;
  /** Window scale shift this host offers (Linux picks 7 for its default buffers). */
  windowShift: number;
  /** RTO formula: RFC 6298 as written, or Linux's (variance term at least RTO.min). */
  rtoFormula: 'rfc6298' | 'linux';
  /**
   * ACK the first N data segments of a connection at once (Linux's quick-ACK mode, up to 16),
   * before delayed ACKs start. 0 turns it off.
   */
  quickAcks: number;
  /**
   * Congestion window growth by bytes ACKed (Linux, RFC 3465) instead of RFC 5681's per-ACK
   * equations.
   */
  byteCounting: boolean;
  /** Window field of a SYN or SYN-ACK (never scaled, RFC 7323 §2.2). */
  synWindow: number;
  /** Emit timer set/cancel and cc events. Off in the benchmark, where only transmits matter. */
  traceTimers: boolean;
  /**
   * Emit a `call` event for every socket call (`return` events always come). Off in the
   * benchmark, whose application reacts to returns only.
   */
  traceCalls: boolean;
}

export const LINUX_DEFAULTS: TcpConfig = {
  mslMs: 30_000,
  rtoInitialMs: 1_000,
  rtoMinMs: 200,
  rtoMaxMs: 120_000,
  synRetries: 6,
  synAckRetries: 5,
  retries: 15,
  delayedAck: true,
  delayedAckMs: 40,
  finTimeoutMs: 60_000,
  mss: 1460,
  initialCwndSegments: 10,
  rcvBuf: 65_535,
  sndBuf: 65_536,
  windowScaling: true,
  timestamps: true,
  sack: true,
  nagle: true,
  iss: undefined,
  issStep: 64_000,
  seed: 1,
  ephemeralPortMin: 32_768,
  ephemeralPortMax: 60_999,
  keepaliveIdleMs: 7_200_000,
  keepaliveIntervalMs: 75_000,
  keepaliveProbes: 9,
  persistMaxMs: 120_000,
  somaxconn: 4096,
  windowShift: 7,
  rtoFormula: 'linux',
  quickAcks: 16,
  byteCounting: true,
  synWindow: 65_535,
  traceTimers: true,
  traceCalls: true,
};

/**
 * Named profiles.
 * - `textbook`: what the lab uses by default: no window scaling, timestamps or SACK, so every
 *   segment's header reads like the course notes' header table.
 * - `linux`: Linux's defaults.
 * - `packetdrill`: what google/packetdrill's `common/defaults.sh` assumes.
 */
export const PROFILES: Record<'textbook' | 'linux' | 'packetdrill', TcpConfig> = {
  textbook: {
    ...LINUX_DEFAULTS,
    windowScaling: false,
    timestamps: false,
    sack: false,
    quickAcks: 0,
    rtoFormula: 'rfc6298',
    byteCounting: false,
  },
  linux: LINUX_DEFAULTS,
  // packetdrill's defaults.sh sets tcp_rmem so Linux offers window scale 8.
  packetdrill: { ...LINUX_DEFAULTS, rcvBuf: 65_535, mss: 1460, windowShift: 8 },
};

export function buildConfig(
  overrides: Partial<TcpConfig> = {},
  base: TcpConfig = PROFILES.textbook,
): TcpConfig {
  return { ...base, ...overrides };
}
