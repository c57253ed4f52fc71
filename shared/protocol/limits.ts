/**
 * Every limit the lab server enforces, as named constants. The server may be built with other
 * values (tests and the benchmark do), but these are the defaults a classroom gets, and the web
 * app uses them to disable what the server would refuse anyway. `docs/protocol.md` lists them.
 */
export const LIMITS = {
  /** A JSON control message longer than this (UTF-8 bytes) is refused with `TCPLAB_TOO_BIG`. */
  maxMessageBytes: 16 * 1024,
  /** A WebSocket message longer than this is not even read: the server closes with 1009. */
  maxFrameBytes: 64 * 1024,
  /** Sustained control messages per second per connection (token bucket refill rate). */
  messagesPerSecond: 40,
  /** Token bucket size: a burst of this many messages is accepted at once. */
  messageBurst: 80,
  /** Messages refused for rate in a row before the connection is closed with `CLOSE.RATE`. */
  rateStrikes: 200,
  /** Payload bytes one `send` call may carry. */
  maxSendBytes: 8 * 1024,
  /** Classes on one server. */
  maxClasses: 100,
  /** Rooms in one class. */
  maxRoomsPerClass: 64,
  /** Sessions (students) in one class. */
  maxSessionsPerClass: 400,
  /** People in one room at once: seat holders plus observers (the instructor is not counted). */
  maxPeoplePerRoom: 40,
  /** Open WebSocket connections on one server. */
  maxConnections: 4096,
  /**
   * Events kept in a room's history (segment frames and JSON events together). A newcomer gets
   * all of them; when the history is full the room pauses and refuses new inputs until a reset.
   */
  maxHistoryEvents: 20_000,
  /** A client whose unsent buffer exceeds this is closed with `CLOSE.SLOW` instead of slowing the room. */
  maxBufferedBytes: 8 * 1024 * 1024,
  /** Server ping interval; a connection that has not answered the previous ping is terminated. */
  heartbeatMs: 15_000,
  /** How long a disconnected session keeps its seats before they are freed. */
  seatGraceMs: 10 * 60_000,
  /** Longest display name and room/class name. */
  maxNameLength: 40,
  /** Fault rules per room. */
  maxFaultRules: 32,
  /** Virtual time one `clock.step` may advance at most, and the longest `held.delay`. */
  maxStepMs: 600_000,
} as const;

export type Limits = { -readonly [K in keyof typeof LIMITS]: number };

/**
 * WebSocket close codes the server uses (RFC 6455 §7.4: 1000–1015 standard, 4000–4999 private).
 */
export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  /** A message larger than `LIMITS.maxFrameBytes`. */
  TOO_BIG: 1009,
  /** The client could not keep up: its send buffer passed `LIMITS.maxBufferedBytes`. */
  SLOW: 4001,
  /** The client kept sending faster than `LIMITS.messagesPerSecond` after many refusals. */
  RATE: 4002,
  /** The same session was resumed on another connection (e.g. a reloaded tab). */
  REPLACED: 4003,
} as const;
