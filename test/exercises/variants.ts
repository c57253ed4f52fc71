/**
 * Wrong ways to do each exercise: a change to its intended solution, the goals that must then be
 * unmet, and what their explanations must say (in English and in Chinese). Every exercise of the
 * catalogue has at least one.
 */
import type { Scenario, Step } from '../../shared/sim/scenario.ts';

export interface Expectation {
  en: RegExp[];
  zh: RegExp[];
}

export interface Variant {
  exercise: string;
  name: string;
  change: (s: Scenario) => void;
  /** Goals that must be unmet, with what their explanations must contain. */
  unmet: Record<string, Expectation>;
  /** Goals that must still be met (the change only breaks what it should). */
  met?: string[];
}

type AnyStep = Step & Record<string, unknown>;
type StepTest = (st: Step) => boolean;

/** Steps of the scenario matching `pred` (to change them in place). */
function steps(s: Scenario, pred: StepTest): AnyStep[] {
  return s.steps.filter(pred) as AnyStep[];
}

function remove(s: Scenario, pred: StepTest): void {
  s.steps = s.steps.filter((st) => !pred(st));
}

function sortSteps(s: Scenario): void {
  s.steps = s.steps
    .map((st, i) => ({ st, i }))
    .sort((a, b) => a.st.at - b.st.at || a.i - b.i)
    .map((x) => x.st);
}

const is =
  (host: string, op: string, extra: Record<string, unknown> = {}): StepTest =>
  (st) => {
    const x = st as AnyStep;
    return x.host === host && x.op === op && Object.entries(extra).every(([k, v]) => x[k] === v);
  };

/** No preset fault, and no fault added by a step. */
const noFaults = (s: Scenario) => {
  delete s.faults;
  remove(s, (st) => st.op === 'fault');
};

/** B closes first in a solution where A closes at 1000 and B reads, then closes, later. */
function serverClosesFirst(s: Scenario): void {
  remove(s, (st) => st.op === 'close' || st.op === 'recv');
  s.steps.push(
    { at: 1000, host: 'B', op: 'close', fd: 'conn' },
    { at: 1500, host: 'A', op: 'recv', fd: 'c' },
    { at: 2000, host: 'A', op: 'close', fd: 'c' },
  );
  sortSteps(s);
}

/** The explanation must match every one of these (English, Chinese). */
const says = (en: RegExp[], zh: RegExp[]): Expectation => ({ en, zh });

/** B was the passive closer: its path and the reason, in both languages. */
const passive = (host: string, peer: string): Expectation =>
  says(
    [
      new RegExp(`${host} never reached TIME-WAIT`),
      /CLOSE-WAIT → LAST-ACK → CLOSED/,
      new RegExp(
        `${peer}'s FIN arrived \\(t=\\d+ ms\\) before ${host} closed, so ${host} was the passive closer`,
      ),
    ],
    [
      new RegExp(`${host} 从未进入 TIME-WAIT`),
      new RegExp(`${peer} 的 FIN 在 ${host} 关闭之前就到达了`),
      /被动关闭方/,
    ],
  );

/** A segment was sent once and acknowledged, so it was never retransmitted. */
const notRetransmitted = (who: string, what: string, id: number, ack: number, zhWhat = what): Expectation =>
  says(
    [
      new RegExp(
        `${who}'s ${what} was never retransmitted: #${id} .* was acknowledged by #${ack} at t=\\d+ ms, before the retransmission timer fired`,
      ),
    ],
    [
      new RegExp(`${who} 发出的 ?${zhWhat} ?从未被重传`),
      new RegExp(`在重传定时器超时之前就被 #${ack} 确认了`),
    ],
  );

/** A segment was sent but not dropped. */
const notDropped = (who: string, what: RegExp, zhWhat: RegExp): Expectation =>
  says(
    [
      new RegExp(
        `${who} sent ${what.source} once, but it was not dropped: #\\d+ .* \\(arrived at t=\\d+ ms\\)`,
      ),
    ],
    [new RegExp(`${who} 发出过 1 次 ?${zhWhat.source}，但它没有被丢弃`)],
  );

export const VARIANTS: Variant[] = [
  {
    exercise: 'three-way-handshake',
    name: 'nobody listens on B',
    change: (s) => remove(s, (st) => 'host' in st && st.host === 'B'),
    unmet: {
      'syn-ack': says(
        [
          /B never sent a SYN,ACK acknowledging A's SYN/,
          /nothing on B was listening on port 80, so B answered #1 SYN from A with RST/,
        ],
        [/B 从未发出确认 A 的 SYN 的 SYN,ACK/, /B 上没有套接字在监听 80 端口/],
      ),
      'a-established': says(
        [/A never reached ESTABLISHED/, /CLOSED → SYN-SENT → CLOSED/, /reset by #2 RST,ACK from B/],
        [/A 从未进入 ESTABLISHED/, /重置/],
      ),
    },
    met: ['syn'],
  },
  {
    exercise: 'header-fields',
    name: 'A sends no data',
    change: (s) => remove(s, (st) => st.op === 'send' || st.op === 'recv'),
    unmet: {
      data: says(
        [/A never sent a data segment/, /A's connection is in ESTABLISHED/],
        [/A 从未发出数据报文段/],
      ),
    },
    met: ['syn-mss', 'syn-ack-mss'],
  },
  {
    exercise: 'four-way-close',
    name: 'B closes first',
    change: serverClosesFirst,
    unmet: {
      'a-time-wait': passive('A', 'B'),
      'b-closed': says(
        [/B reached CLOSED, but from TIME-WAIT .*, not from LAST-ACK/],
        [/B 进入了 CLOSED，但是从 TIME-WAIT 进入的/],
      ),
    },
    met: ['a-fin', 'last-ack'],
  },
  {
    exercise: 'close-by-server',
    name: 'A closes first',
    change: (s) => {
      remove(s, (st) => st.op === 'close' || st.op === 'recv');
      s.steps.push(
        { at: 1000, host: 'A', op: 'close', fd: 'c' },
        { at: 1500, host: 'B', op: 'recv', fd: 'conn' },
        { at: 2000, host: 'B', op: 'close', fd: 'conn' },
      );
      sortSteps(s);
    },
    unmet: {
      'b-time-wait': passive('B', 'A'),
      'b-first': says(
        [
          /A's FIN must not happen before B's FIN, but #4 FIN,ACK from A .* \(sent by A's close\(\)\) came before #6 FIN,ACK from B/,
        ],
        [/A 发出的 FIN 不应发生在 B 发出的 FIN 之前/, /由 A 的 close\(\) 发出/],
      ),
      'a-last-ack': says(
        [/A sent its FIN first \(t=1000 ms\), so A was the active closer/],
        [/A 先发出了 FIN/, /主动关闭方/],
      ),
    },
  },
  {
    exercise: 'why-four-segments',
    name: 'B closes without sending its answer',
    change: (s) => remove(s, is('B', 'send')),
    unmet: {
      'data-after-ack': says([/B never sent a data segment/], [/B 从未发出数据报文段/]),
      'a-received': says(
        [/A's recv\(\) returning data did not happen: A's recv\(\) at t=1500 ms returned 0 \(end-of-file\)/],
        [/没有发生“A 调用 recv\(\) 并读到数据”/, /返回 0（文件结束）/],
      ),
    },
    met: ['ack-alone', 'a-time-wait'],
  },
  {
    exercise: 'simultaneous-close',
    name: "B closes after A's FIN has arrived",
    change: (s) => {
      for (const st of steps(s, is('B', 'close'))) st.at = 8000;
      s.until = 20000;
    },
    unmet: {
      'a-closing': says(
        [
          /A never reached CLOSING/,
          /FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT/,
          /A's FIN was acknowledged \(t=\d+ ms\) before B's FIN arrived, so the two FINs did not cross/,
        ],
        [/A 从未进入 CLOSING/, /两个 FIN 没有交叉/],
      ),
      'b-closing': says(
        [/B never reached CLOSING/, /B was the passive closer/],
        [/B 从未进入 CLOSING/, /被动关闭方/],
      ),
      'a-time-wait': says(
        [/A reached TIME-WAIT, but from FIN-WAIT-2 .*, not from CLOSING/],
        [/是从 FIN-WAIT-2 进入的/],
      ),
    },
  },
  {
    exercise: 'lose-first',
    name: 'no fault',
    change: noFaults,
    unmet: {
      'fin-lost': notDropped('A', /a FIN/, /FIN/),
      'fin-retransmitted': notDropped('A', /a FIN/, /FIN/),
      'b-unaware': notRetransmitted('A', 'FIN', 4, 5),
    },
    met: ['a-time-wait'],
  },
  {
    exercise: 'lose-second',
    name: 'no fault',
    change: noFaults,
    unmet: {
      'ack-lost': notDropped('B', /an ACK of A's FIN \(without FIN\)/, /确认 A 的 FIN 的 ACK（不带 FIN）/),
      'b-acks-again': notRetransmitted('A', 'FIN', 4, 5),
    },
  },
  {
    exercise: 'lose-second',
    name: "B closes before A's timer fires",
    change: (s) => {
      for (const st of steps(s, is('B', 'close'))) st.at = 1100;
      for (const st of steps(s, is('B', 'recv'))) st.at = 1100;
    },
    unmet: {
      // B's FIN,ACK (#5) acknowledges A's FIN: A goes FIN-WAIT-1 → TIME-WAIT, nothing is retransmitted.
      'fin-retransmitted': notRetransmitted('A', 'FIN', 4, 5),
    },
    met: ['ack-lost'],
  },
  {
    exercise: 'lose-third',
    name: 'no fault',
    change: noFaults,
    unmet: {
      'fin-lost': notDropped('B', /a FIN/, /FIN/),
      'a-waited': notRetransmitted('B', 'FIN', 6, 7),
    },
    met: ['b-closed'],
  },
  {
    exercise: 'lose-last-ack',
    name: 'no fault',
    change: noFaults,
    unmet: {
      'ack-lost': notDropped('A', /an ACK of B's FIN \(without FIN\)/, /确认 B 的 FIN 的 ACK（不带 FIN）/),
      'a-acks-again': notRetransmitted('B', 'FIN', 6, 7),
      'tw-restart': says(
        [/A's time-wait timer being set: only once, the goal needs at least 2/],
        [/A 的 time-wait 定时器被设置：只发生了 1 次，至少需要 2 次/],
      ),
    },
    met: ['b-closed'],
  },
  {
    exercise: 'time-wait-2msl',
    name: 'the run stops before TIME-WAIT ends',
    change: (s) => {
      s.until = 3000;
    },
    unmet: {
      'two-msl': says(
        [
          /A entered TIME-WAIT at t=1550 ms and is still there at t=3000 ms \(1450 ms so far\)/,
          /2\*MSL = 4000 ms/,
        ],
        [/A 在 t=1550 ms 进入 TIME-WAIT，到 t=3000 ms 仍未离开/, /2\*MSL = 4000 ms/],
      ),
    },
    met: ['a-time-wait', 'b-no-time-wait'],
  },
  {
    exercise: 'time-wait-2msl',
    name: 'B closes first',
    change: serverClosesFirst,
    unmet: { 'a-time-wait': passive('A', 'B'), 'two-msl': passive('A', 'B') },
  },
  {
    exercise: 'time-wait-why',
    name: "A's TIME-WAIT is long enough",
    change: (s) => {
      delete s.hosts;
    },
    unmet: {
      'a-gone': says(
        [/A never reached CLOSED/, /it is still in TIME-WAIT at t=6000 ms/],
        [/A 从未进入 CLOSED/, /仍处于 TIME-WAIT/],
      ),
      rst: says([/A never sent an RST/, /A's connection is in TIME-WAIT/], [/A 从未发出 RST/]),
    },
    met: ['ack-lost'],
  },
  {
    exercise: 'many-time-waits',
    name: 'the client closes first',
    change: (s) => {
      for (let i = 1; i <= 3; i++) {
        const close = s.steps.findIndex(is('B', 'close', { fd: `conn${i}` }));
        s.steps.splice(close, 0, { at: 0, host: 'B', op: 'recv', fd: `conn${i}` });
        const second = steps(s, is('A', 'recv', { fd: `c${i}` }))[1]!;
        s.steps.splice(s.steps.indexOf(second), 1);
      }
    },
    unmet: {
      'b-time-waits': says(
        [
          /B never reached TIME-WAIT/,
          /B's 3 connections each went LISTEN → SYN-RECEIVED → ESTABLISHED → CLOSE-WAIT → LAST-ACK → CLOSED/,
          /B was the passive closer/,
        ],
        [/B 的 3 个连接都经历了/, /被动关闭方/],
      ),
      'at-once': says([/B never reached TIME-WAIT/], [/B 从未进入 TIME-WAIT/]),
      eaddrinuse: says(
        [/B's bind\(\) failing with EADDRINUSE did not happen: .*B's bind\(\) at t=2000 ms returned 0/],
        [/没有发生“B 调用 bind\(\) 并返回 EADDRINUSE”/],
      ),
    },
  },
  {
    exercise: 'syn-queue-overflow',
    name: 'no fault',
    change: noFaults,
    unmet: {
      'syn-dropped': says(
        [/B never discarded a segment because of syn-queue-full \(it discarded: accept-queue-full ×\d+\)/],
        [/B 从未因 syn-queue-full 丢弃报文段（它丢弃的原因是：accept-queue-full ×\d+）/],
      ),
    },
  },
  {
    exercise: 'accept-queue-overflow',
    name: 'B accepts every connection',
    change: (s) => {
      remove(s, is('B', 'accept'));
      const at = s.steps.findIndex(is('B', 'listen'));
      s.steps.splice(
        at + 1,
        0,
        { at: 0, host: 'B', op: 'accept', fd: 'lsn', as: 'a1' },
        { at: 0, host: 'B', op: 'accept', fd: 'lsn', as: 'a2' },
        { at: 0, host: 'B', op: 'accept', fd: 'lsn', as: 'a3' },
      );
    },
    unmet: {
      queued: says(
        [
          /B's accept\(\) must not happen before B entering ESTABLISHED \(the 2nd time\), but B's accept\(\) at t=0 ms came before/,
        ],
        [/B 调用 accept\(\) 不应发生在/],
      ),
      'syn-dropped': says(
        [/B never discarded a segment because of accept-queue-full$/],
        [/B 从未因 accept-queue-full 丢弃报文段$/],
      ),
      'syn-rexmit': notRetransmitted('A', 'SYN \\(without ACK\\)', 1, 2, 'SYN（不带 ACK）'),
    },
  },
  {
    exercise: 'close-vs-shutdown',
    name: 'A shuts down before closing its first descriptor',
    change: (s) => {
      const close = s.steps.findIndex(is('A', 'close', { fd: 'c' }));
      s.steps.splice(close, 0, { at: 500, host: 'A', op: 'shutdown', fd: 'c', how: 'SHUT_WR' });
      remove(s, is('A', 'send'));
    },
    unmet: {
      'a-close-silent': says(
        [
          /A's FIN must not happen before A's 2nd close\(\) succeeding, but #4 FIN,ACK from A .* \(sent by A's shutdown\(SHUT_WR\)\) came before A's close\(\) at t=2000 ms/,
        ],
        [/A 发出的 FIN 不应发生在 A 第 2 次调用 close\(\) 并成功之前/, /由 A 的 shutdown\(SHUT_WR\) 发出/],
      ),
      'a-fin-after-both': says(
        [/A's FIN happened only before A's 2nd close\(\) succeeding/],
        [/只发生在 A 第 2 次调用 close\(\) 并成功之前/],
      ),
    },
    met: ['b-shutdown-fin', 'b-epipe'],
  },
  {
    exercise: 'close-vs-shutdown',
    name: "B's child closes instead of shutting down",
    change: (s) => {
      const st = steps(s, is('B', 'shutdown'))[0]!;
      st.op = 'close';
      delete st.how;
      remove(s, (x) => is('B', 'close', { pid: 'child' })(x) && x.at === 2500);
    },
    unmet: {
      'b-shutdown-fin': says(
        [
          /B never called shutdown\(SHUT_WR\)/,
          /B's close\(\) must not happen before B's FIN, but B's close\(\) \(pid 2\) at t=1000 ms came before/,
        ],
        [/B 从未调用 shutdown\(SHUT_WR\)/],
      ),
      'b-epipe': says(
        [/B's send\(\) failing with EPIPE did not happen: B's send\(\) at t=1200 ms returned 8/],
        [/t=1200 ms 的 B 的 send\(\) 返回 8/],
      ),
    },
    met: ['a-close-silent', 'a-fin-after-both', 'a-still-sends'],
  },
  {
    exercise: 'half-close',
    name: 'A closes instead of shutting down',
    change: (s) => {
      const st = steps(s, is('A', 'shutdown'))[0]!;
      st.op = 'close';
      delete st.how;
    },
    unmet: {
      'a-fin': says([/A never called shutdown\(SHUT_WR\)/], [/A 从未调用 shutdown\(SHUT_WR\)/]),
      'a-epipe': says([/A's send\(\) at t=400 ms returned -1 EBADF/], [/返回 -1 EBADF/]),
    },
    met: ['b-eof'],
  },
  {
    exercise: 'rst-unread-data',
    name: 'B reads before closing',
    change: (s) => {
      s.steps.push({ at: 900, host: 'B', op: 'recv', fd: 'conn' });
      sortSteps(s);
    },
    unmet: {
      'b-rst': says([/B never sent an RST/, /B's connection is in FIN-WAIT-2/], [/B 从未发出 RST/]),
      'a-reset': says([/A's recv\(\) at t=1500 ms returned 0 \(end-of-file\)/], [/返回 0（文件结束）/]),
    },
  },
  {
    exercise: 'so-linger-zero',
    name: 'no SO_LINGER',
    change: (s) => remove(s, is('A', 'setsockopt')),
    unmet: {
      'linger-set': says([/A never called setsockopt\(SO_LINGER\)/], [/A 从未调用 setsockopt\(SO_LINGER\)/]),
      'a-rst': says([/^A never sent an RST; A's connection is in FIN-WAIT-2 \([^)]*\)$/], [/A 从未发出 RST/]),
      'b-reset': says([/B's recv\(\) at t=1500 ms returned 0 \(end-of-file\)/], [/返回 0（文件结束）/]),
    },
  },
  {
    exercise: 'retransmission',
    name: 'no fault',
    change: noFaults,
    unmet: {
      lost: notDropped('A', /a data segment/, /数据报文段/),
      timer: says(
        [/A's retransmit timer never fired \(seen: .*\(set\)/],
        [/A 的 retransmit 定时器从未超时触发/],
      ),
      delivered: notRetransmitted('A', 'data segment', 4, 5, '数据报文段'),
    },
  },
  {
    exercise: 'fast-retransmit',
    name: 'too little data after the loss for three duplicate ACKs',
    change: (s) => {
      for (const st of steps(s, is('A', 'send'))) st.bytes = 3000;
    },
    unmet: {
      'dup-acks': says(
        [/B's segment \(dup-ack\): only once, the goal needs at least 3/],
        [/只发生了 1 次，至少需要 3 次/],
      ),
      fast: says(
        [
          /No retransmitted data segment from A was sent for retransmit-fast: #\d+ .* was sent for retransmit-rto/,
        ],
        [/A 没有因 retransmit-fast 发送过重传的数据报文段/, /retransmit-rto/],
      ),
    },
    met: ['lost'],
  },
  {
    exercise: 'zero-window',
    name: "B's buffer is large",
    change: (s) => {
      delete s.hosts;
    },
    unmet: {
      zero: says([/B's segment: #2 win=65535, .*never win=0/], [/从未出现 win=0/]),
      probe: says([/No segment from A was sent for persist-probe/], [/A 没有因 persist-probe 发送过报文段/]),
    },
  },
  {
    exercise: 'slow-start',
    name: "Linux's initial window of 10 segments",
    change: (s) => {
      s.config = { ...s.config, initialCwndSegments: 10 };
    },
    unmet: {
      'one-first': says(
        [
          /A's 2nd data segment must not happen before A's congestion window update, but #5 .* \(sent by A's send\(\)\) came before A's cwnd=11000/,
        ],
        [/A 发出的第 2 个数据报文段不应发生在 A 的拥塞窗口更新之前/],
      ),
    },
    met: ['grew'],
  },
];
