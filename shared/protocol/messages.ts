/**
 * The lab's WebSocket control protocol: every JSON message a client may send, and every JSON event
 * the server pushes, as TypeBox schemas (so they are JSON Schema too). Segment frames are binary
 * and live in `frame.ts`. `docs/protocol.md` is the prose version of this file.
 *
 * Conventions: `type` is dotted lowercase; a client message may carry a numeric `id`, and the
 * server answers it with exactly one `ok` or `error` whose `re` is that id. Room-scoped messages
 * name their room explicitly, so an instructor's connection can act in several rooms.
 */
import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';
import { EXERCISE_CLIENT_SCHEMAS } from './exercises.ts';
import { SEND_REASONS } from './frame.ts';
import { LIMITS } from './limits.ts';

export const PROTOCOL_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// Shared pieces

/** A union of string literals that keeps its literal type (`Static` is `'a' | 'b'`, not string). */
const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const Seat = Type.Union([Type.Literal('A'), Type.Literal('B')]);
export type Seat = Static<typeof Seat>;
export const SEATS: readonly Seat[] = ['A', 'B'];

export const Role = Type.Union([Type.Literal('student'), Type.Literal('instructor')]);
export type Role = Static<typeof Role>;

const ReqId = Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 53 - 1 }));
const RoomId = Type.Integer({ minimum: 1, maximum: 2 ** 32 - 1, description: 'server-wide room number' });
export const ClassCode = Type.String({ pattern: '^[A-Z0-9]{4,12}$', description: 'class join code' });
export const Name = Type.String({ minLength: 1, maxLength: LIMITS.maxNameLength, pattern: '\\S' });
const Token = Type.String({ pattern: '^[A-Za-z0-9_-]{16,64}$' });
const Fd = Type.Integer({ minimum: 0, maximum: 65535 });
const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Ms = Type.Integer({ minimum: 0, maximum: 3_600_000 });
const Probability = Type.Number({ minimum: 0, maximum: 1 });
/** A dotted-quad IPv4 address such as `10.0.0.2`. */
const Ipv4 = Type.String({ pattern: '^\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$', maxLength: 15 });
const Pid = Type.Optional(Type.Integer({ minimum: 1, maximum: 64 }));

// ---------------------------------------------------------------------------------------------
// Socket calls: the engine's CallRequest, with bytes as text (UTF-8) or base64.

export const ShutdownHow = Type.Union([
  Type.Literal('SHUT_RD'),
  Type.Literal('SHUT_WR'),
  Type.Literal('SHUT_RDWR'),
]);

export const SockOpt = literals([
  'SO_LINGER',
  'SO_REUSEADDR',
  'SO_RCVBUF',
  'SO_SNDBUF',
  'SO_KEEPALIVE',
  'SO_ERROR',
  'TCP_NODELAY',
  'TCP_MAXSEG',
  'TCP_CORK',
  'TCP_USER_TIMEOUT',
  'O_NONBLOCK',
] as const);

export const LingerValue = Type.Object(
  { onoff: Type.Boolean(), lingerSec: Type.Integer({ minimum: 0, maximum: 3600 }) },
  { additionalProperties: false },
);

const callObj = <O extends string, P extends Record<string, TSchema>>(op: O, props: P) =>
  Type.Object({ op: Type.Literal(op), pid: Pid, ...props }, { additionalProperties: false });

/** Each op's argument object; the union is `SockCall`. */
export const CALL_SCHEMAS = {
  socket: callObj('socket', { nonblocking: Type.Optional(Type.Boolean()) }),
  bind: callObj('bind', { fd: Fd, port: Port, addr: Type.Optional(Ipv4) }),
  listen: callObj('listen', { fd: Fd, backlog: Type.Optional(Type.Integer({ minimum: 0, maximum: 4096 })) }),
  connect: callObj('connect', { fd: Fd, addr: Ipv4, port: Port }),
  accept: callObj('accept', { fd: Fd }),
  send: callObj('send', {
    fd: Fd,
    data: Type.String({ maxLength: 16 * 1024 }),
    encoding: Type.Optional(Type.Union([Type.Literal('utf8'), Type.Literal('base64')])),
    more: Type.Optional(Type.Boolean()),
  }),
  recv: callObj('recv', {
    fd: Fd,
    max: Type.Optional(Type.Integer({ minimum: 1, maximum: 1 << 20 })),
    peek: Type.Optional(Type.Boolean()),
  }),
  close: callObj('close', { fd: Fd }),
  shutdown: callObj('shutdown', { fd: Fd, how: ShutdownHow }),
  dup: callObj('dup', { fd: Fd }),
  fork: callObj('fork', {}),
  setsockopt: callObj('setsockopt', {
    fd: Fd,
    opt: SockOpt,
    value: Type.Union([Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 }), Type.Boolean(), LingerValue]),
  }),
  getsockopt: callObj('getsockopt', { fd: Fd, opt: SockOpt }),
} as const;

export const SockCall = Type.Union(Object.values(CALL_SCHEMAS));
export type SockCall = Static<typeof SockCall>;
export type CallOpName = keyof typeof CALL_SCHEMAS;

// ---------------------------------------------------------------------------------------------
// Link settings and fault rules

/**
 * One direction of the link, as the simulator's `LinkSettings` (`shared/sim/link.ts`).
 * Probabilities are 0…1; `rateBps` 0 means unlimited bandwidth (and no queue).
 */
export const LinkDirection = Type.Object(
  {
    delayMs: Type.Optional(Ms),
    jitterMs: Type.Optional(Ms),
    rateBps: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000_000 })),
    queuePackets: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
    loss: Type.Optional(Probability),
    duplicate: Type.Optional(Probability),
    reorder: Type.Optional(Probability),
    reorderMs: Type.Optional(Ms),
  },
  { additionalProperties: false },
);
export type LinkDirection = Static<typeof LinkDirection>;

export const FaultAction = Type.Union([
  Type.Literal('drop'),
  Type.Literal('delay'),
  Type.Literal('duplicate'),
  Type.Literal('corrupt'),
  Type.Literal('hold'),
]);

const FlagName = literals(['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'] as const);

/** The engine's reasons for sending, in the frame's table (`frame.ts`). */
const SendReasonSchema = literals(SEND_REASONS);

/**
 * A targeted fault, as the simulator's `FaultRule` (`shared/sim/faults.ts`) with seats for hosts.
 * "Drop the 1st segment from A that carries FIN": `{ from: 'A', flags: ['FIN'], action: 'drop' }`.
 * A rule counts the segments it matches from the moment it is added and acts from the `nth`
 * match on (default 1), `times` times (default 1; `'all'` for every one).
 */
export const FaultRule = Type.Object(
  {
    from: Type.Optional(Seat),
    to: Type.Optional(Seat),
    segment: Type.Optional(Type.Integer({ minimum: 1 })),
    flags: Type.Optional(Type.Array(FlagName, { maxItems: 8 })),
    noFlags: Type.Optional(Type.Array(FlagName, { maxItems: 8 })),
    data: Type.Optional(Type.Boolean()),
    why: Type.Optional(SendReasonSchema),
    rexmit: Type.Optional(Type.Boolean()),
    nth: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    times: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 10_000 }), Type.Literal('all')])),
    action: FaultAction,
    delayMs: Type.Optional(Ms),
    /** A teacher's words for it ("lose A's first FIN"), shown in the timeline. */
    label: Type.Optional(Type.String({ maxLength: 80 })),
  },
  { additionalProperties: false },
);
export type FaultRule = Static<typeof FaultRule>;

export const ClockPolicy = Type.Union([
  Type.Literal('seats'),
  Type.Literal('ready'),
  Type.Literal('instructor'),
]);
export type ClockPolicy = Static<typeof ClockPolicy>;

// ---------------------------------------------------------------------------------------------
// Client → server messages

const msg = <T extends string, P extends Record<string, TSchema>>(type: T, props: P) =>
  Type.Object({ type: Type.Literal(type), id: ReqId, ...props }, { additionalProperties: false });

const inRoom = <T extends string, P extends Record<string, TSchema>>(type: T, props: P) =>
  msg(type, { room: RoomId, ...props });

export const CLIENT_SCHEMAS = {
  /** Join a class with its code and a display name; answered by `welcome` (with a resume token). */
  'class.join': msg('class.join', { code: ClassCode, name: Name }),
  /** Take back an earlier session (reloaded tab): same name, same seats, same room. */
  'session.resume': msg('session.resume', { token: Token }),
  /** Become the instructor with the server's key. */
  'instructor.auth': msg('instructor.auth', { key: Type.String({ minLength: 1, maxLength: 200 }) }),
  /** Instructor: create a class; the `ok` reply's data is `{ code }`. */
  'class.create': msg('class.create', { name: Name }),
  /** Instructor: receive `class.state` for a class (and, with `rooms`, every room's events). */
  'class.watch': msg('class.watch', { code: ClassCode, rooms: Type.Optional(Type.Boolean()) }),
  /** Create a room in your class (instructor: in `code`); the `ok` reply's data is `{ room }`. */
  'room.create': msg('room.create', { name: Type.Optional(Name), code: Type.Optional(ClassCode) }),
  /** Enter a room as an observer; the server sends `room.snapshot`, the history, then `room.synced`. */
  'room.join': inRoom('room.join', {}),
  'room.leave': inRoom('room.leave', {}),
  /** Take seat A or B (holding both is solo mode). */
  'seat.take': inRoom('seat.take', { seat: Seat }),
  'seat.release': inRoom('seat.release', { seat: Seat }),
  /** Instructor: put a class member in a seat (pairing), or free it with `session: null`. */
  'seat.assign': inRoom('seat.assign', { seat: Seat, session: Type.Union([Type.String(), Type.Null()]) }),
  /** A socket call on the endpoint of a seat you hold. */
  'sock.call': inRoom('sock.call', { host: Seat, call: SockCall }),
  'clock.pause': inRoom('clock.pause', {}),
  'clock.resume': inRoom('clock.resume', {}),
  /** Run the next simulator event (or, with `ms`, advance virtual time by that much). */
  'clock.step': inRoom('clock.step', { ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })) }),
  'clock.speed': inRoom('clock.speed', { speed: Type.Number({ minimum: 0.1, maximum: 100 }) }),
  'clock.policy': inRoom('clock.policy', { policy: ClockPolicy }),
  /** Change the link; `dir` absent sets both directions. */
  'link.set': inRoom('link.set', {
    dir: Type.Optional(Type.Union([Type.Literal('AB'), Type.Literal('BA')])),
    settings: LinkDirection,
  }),
  'fault.add': inRoom('fault.add', { rule: FaultRule }),
  'fault.remove': inRoom('fault.remove', { ruleId: Type.Integer({ minimum: 1, maximum: 65535 }) }),
  'fault.clear': inRoom('fault.clear', {}),
  /** Hold mode: every new segment stays in flight until released, dropped or delayed. */
  'hold.set': inRoom('hold.set', { on: Type.Boolean() }),
  'held.release': inRoom('held.release', { segId: Type.Integer({ minimum: 1 }) }),
  'held.drop': inRoom('held.drop', { segId: Type.Integer({ minimum: 1 }) }),
  'held.delay': inRoom('held.delay', {
    segId: Type.Integer({ minimum: 1 }),
    ms: Type.Integer({ minimum: 1 }),
  }),
  /** Start the room over: new network, empty history, seats kept. */
  'room.reset': inRoom('room.reset', {}),
  ping: msg('ping', { t: Type.Optional(Type.Number()) }),
  /** Exercises: `exercise.assign`, `exercise.answer` (shared/protocol/exercises.ts). */
  ...EXERCISE_CLIENT_SCHEMAS,
} as const satisfies Record<string, TObject>;

export type ClientType = keyof typeof CLIENT_SCHEMAS;
export type ClientMessage = { [K in ClientType]: Static<(typeof CLIENT_SCHEMAS)[K]> }[ClientType];
export type ClientMessageOf<K extends ClientType> = Static<(typeof CLIENT_SCHEMAS)[K]>;

export const CLIENT_TYPES = Object.keys(CLIENT_SCHEMAS) as ClientType[];

// ---------------------------------------------------------------------------------------------
// Server → client events (JSON). Binary segment frames are in frame.ts.

/** Error codes: every refusal names its problem with one of these and a sentence. */
export const ERROR_CODES = [
  'TCPLAB_BAD_JSON',
  'TCPLAB_BAD_MESSAGE',
  'TCPLAB_UNKNOWN_TYPE',
  'TCPLAB_INVALID',
  'TCPLAB_TOO_BIG',
  'TCPLAB_RATE_LIMIT',
  'TCPLAB_NOT_JOINED',
  'TCPLAB_BAD_KEY',
  'TCPLAB_BAD_TOKEN',
  'TCPLAB_NO_SUCH_CLASS',
  'TCPLAB_NO_SUCH_ROOM',
  'TCPLAB_NO_SUCH_SESSION',
  'TCPLAB_NOT_IN_ROOM',
  'TCPLAB_FORBIDDEN',
  'TCPLAB_NOT_YOUR_SEAT',
  'TCPLAB_SEAT_TAKEN',
  'TCPLAB_ROOM_FULL',
  'TCPLAB_TOO_MANY_ROOMS',
  'TCPLAB_TOO_MANY_CLASSES',
  'TCPLAB_CLASS_FULL',
  'TCPLAB_PAYLOAD_TOO_BIG',
  'TCPLAB_HISTORY_FULL',
  'TCPLAB_NO_SUCH_SEGMENT',
  'TCPLAB_NO_SUCH_RULE',
  'TCPLAB_TOO_MANY_RULES',
  'TCPLAB_BAD_ADDRESS',
  'TCPLAB_ENGINE',
  'TCPLAB_NO_SUCH_EXERCISE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export const SessionInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Role,
  classCode: Type.Union([Type.String(), Type.Null()]),
});
export type SessionInfo = Static<typeof SessionInfo>;

export const SeatHolder = Type.Union([
  Type.Object({ session: Type.String(), name: Type.String(), online: Type.Boolean() }),
  Type.Null(),
]);
export type SeatHolder = Static<typeof SeatHolder>;

export const RoomSummary = Type.Object({
  room: Type.Integer(),
  name: Type.String(),
  seats: Type.Object({ A: SeatHolder, B: SeatHolder }),
  people: Type.Integer(),
});
export type RoomSummary = Static<typeof RoomSummary>;

export const ClockState = Type.Object({
  running: Type.Boolean(),
  speed: Type.Number(),
  /** Virtual ms now. Clients extrapolate `t + speed · (wall elapsed)` while running. */
  t: Type.Number(),
  policy: ClockPolicy,
  /** With policy `ready`: seats that have asked for the pending action. */
  ready: Type.Array(Seat),
});
export type ClockState = Static<typeof ClockState>;

/** What a room looks like now (sent on join and after a reset, before the history). */
export const RoomInfo = Type.Object({
  room: Type.Integer(),
  name: Type.String(),
  classCode: Type.String(),
  /** Bumped by every reset: events of an older epoch belong to a discarded run. */
  epoch: Type.Integer(),
  seats: Type.Object({ A: SeatHolder, B: SeatHolder }),
  people: Type.Integer(),
  clock: ClockState,
  link: Type.Object({ AB: Type.Unknown(), BA: Type.Unknown() }),
  faults: Type.Array(Type.Unknown()),
  hold: Type.Boolean(),
  held: Type.Array(Type.Integer()),
  addrs: Type.Object({ A: Type.String(), B: Type.String() }),
  /** True when the history hit `LIMITS.maxHistoryEvents`: the room is frozen until reset. */
  full: Type.Boolean(),
  /** Set when the engine or simulator failed: the room is stopped until reset. */
  broken: Type.Optional(Type.String()),
});
export type RoomInfo = Static<typeof RoomInfo>;

/** Byte arrays inside JSON events travel as `{ "b64": "…" }`. */
export const Bytes = Type.Object({ b64: Type.String() });

export const SERVER_SCHEMAS = {
  welcome: Type.Object({
    type: Type.Literal('welcome'),
    v: Type.Literal(PROTOCOL_VERSION),
    session: SessionInfo,
    /** Keep it (e.g. in sessionStorage) and send `session.resume` after a reload. */
    token: Type.String(),
    /** The room the session was in, if any (after a resume). */
    room: Type.Union([Type.Integer(), Type.Null()]),
    seats: Type.Array(Seat),
    limits: Type.Record(Type.String(), Type.Number()),
  }),
  ok: Type.Object({
    type: Type.Literal('ok'),
    re: Type.Union([Type.Integer(), Type.Null()]),
    data: Type.Unknown(),
  }),
  error: Type.Object({
    type: Type.Literal('error'),
    re: Type.Union([Type.Integer(), Type.Null()]),
    code: literals(ERROR_CODES),
    message: Type.String(),
    /** JSON pointer of the offending field, for schema errors. */
    path: Type.Optional(Type.String()),
    room: Type.Optional(Type.Integer()),
  }),
  pong: Type.Object({
    type: Type.Literal('pong'),
    re: Type.Union([Type.Integer(), Type.Null()]),
    t: Type.Optional(Type.Number()),
  }),
  'class.state': Type.Object({
    type: Type.Literal('class.state'),
    code: Type.String(),
    name: Type.String(),
    rooms: Type.Array(RoomSummary),
    /** Everyone who joined the class: what the instructor pairs into seats (`seat.assign`). */
    people: Type.Array(
      Type.Object({
        session: Type.String(),
        name: Type.String(),
        online: Type.Boolean(),
        room: Type.Union([Type.Integer(), Type.Null()]),
      }),
    ),
  }),
  'room.snapshot': Type.Object({
    type: Type.Literal('room.snapshot'),
    room: Type.Integer(),
    info: RoomInfo,
    /** Each endpoint's `host.snapshot()` (byte arrays as `{b64}`). */
    hosts: Type.Object({ A: Type.Unknown(), B: Type.Unknown() }),
    /** Sequence number of the first history event that follows, and of the next live one. */
    firstN: Type.Integer(),
    nextN: Type.Integer(),
  }),
  'room.synced': Type.Object({
    type: Type.Literal('room.synced'),
    room: Type.Integer(),
    nextN: Type.Integer(),
  }),
  /** One entry of the room's history (segments are binary frames instead). */
  'room.event': Type.Object({
    type: Type.Literal('room.event'),
    room: Type.Integer(),
    n: Type.Integer(),
    t: Type.Number(),
    event: Type.Object({ type: Type.String() }, { additionalProperties: true }),
  }),
  /** Room settings changed (not part of the history): clock, seats, people, link, faults, hold. */
  'room.info': Type.Object({ type: Type.Literal('room.info'), room: Type.Integer(), info: RoomInfo }),
  /** Virtual time while running, about once a second (not part of the history). */
  'room.time': Type.Object({ type: Type.Literal('room.time'), room: Type.Integer(), t: Type.Number() }),
  /** You left the room (asked to, or it was reset under you, or your seat was taken away). */
  'room.left': Type.Object({ type: Type.Literal('room.left'), room: Type.Integer(), reason: Type.String() }),
} as const satisfies Record<string, TObject>;

export type ServerType = keyof typeof SERVER_SCHEMAS;
export type ServerEvent = { [K in ServerType]: Static<(typeof SERVER_SCHEMAS)[K]> }[ServerType];
export type ServerEventOf<K extends ServerType> = Static<(typeof SERVER_SCHEMAS)[K]>;
