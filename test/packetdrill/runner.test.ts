import { describe, expect, it } from 'vitest';
import { formatResult, runScriptText, type ScriptResult } from '../../shared/packetdrill/runner.ts';

/** A passive open without timestamps or window scaling, as our own scripts use. */
const SERVER = `    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop>
   +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK>
 +.01 < . 1:1(0) ack 1 win 32792
   +0 accept(3, ..., ...) = 4
`;

function run(body: string): ScriptResult {
  return runScriptText(SERVER + body, 't.pkt');
}

function line(r: ScriptResult): string {
  return formatResult(r);
}

describe('runner: passing scripts', () => {
  it('passes a correct passive close', () => {
    const r = run(`
 +.01 < F. 1:1(0) ack 1 win 32792
   +0 > . 1:1(0) ack 2
   +0 %{ assert tcpi_state == TCP_CLOSE_WAIT, tcpi_state }%
   +0 close(4) = 0
   +0 > F. 1:1(0) ack 2
`);
    expect(line(r)).toBe('PASS t.pkt');
  });

  it('collects consecutive segments into one expected TSO packet', () => {
    // cwnd 10 x MSS 1000: one 5000-byte write leaves as five segments; packetdrill aggregates.
    const r = run(`
   +0 write(4, ..., 5000) = 5000
   +0 > P. 1:5001(5000) ack 1
`);
    expect(line(r)).toBe('PASS t.pkt');
  });

  it('lets a blocking call return later, at its "...end" time', () => {
    const r = runScriptText(
      `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0...0.2 connect(3, ..., ...) = 0
   +0 > S 0:0(0) <...>
  +.2 < S. 0:0(0) ack 1 win 5792 <mss 1460>
   +0 > . 1:1(0) ack 1
`,
      'c.pkt',
    );
    expect(line(r)).toBe('PASS c.pkt');
  });

  it('maps the TS ecr of inbound packets to the TS val we sent', () => {
    const r = runScriptText(
      `
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 20000 <mss 1000,sackOK,TS val 100 ecr 0>
   +0 > S. 0:0(0) ack 1 <mss 1460,sackOK,TS val 700 ecr 100>
  +.1 < . 1:1(0) ack 1 win 20000 <nop,nop,TS val 200 ecr 700>
   +0 accept(3, ..., ...) = 4
   +0 %{ assert tcpi_options & TCPI_OPT_TIMESTAMPS, tcpi_options }%
`,
      'ts.pkt',
    );
    expect(line(r)).toBe('PASS ts.pkt');
  });
});

describe('runner: wrong expectations fail with the script line and what was sent', () => {
  it('reports a wrong flag', () => {
    const r = run(`
 +.01 close(4) = 0
   +0 > R. 1:1(0) ack 1
`);
    expect(line(r)).toBe(
      'FAIL t.pkt:11 expected R. 1:1(0) ack 1 got F. 1:1(0) ack 1 win 65535 at 0.020000 sec (flags: expected R. vs actual F. (FIN set))',
    );
  });

  it('reports a wrong sequence number', () => {
    const r = run(`
   +0 write(4, ..., 10) = 10
   +0 > P. 2:12(10) ack 1
`);
    expect(r).toMatchObject({ status: 'fail', line: 11 });
    expect(line(r)).toContain('seq: expected 2 vs actual 1');
  });

  it('reports a segment that comes at the wrong time', () => {
    const r = run(`
 +.01 close(4) = 0
  +.5 > F. 1:1(0) ack 1
`);
    expect(r).toMatchObject({ status: 'fail', line: 11 });
    expect(line(r)).toMatch(
      /timing error: expected F\. 1:1\(0\) ack 1 at 0\.520000 sec but it was sent at 0\.020000 sec/,
    );
  });

  it('reports a segment that never comes', () => {
    const r = run(`
   +0 > F. 1:1(0) ack 1
`);
    expect(line(r)).toMatch(/^FAIL t\.pkt:10 expected F\. 1:1\(0\) ack 1 but no packet was sent/);
  });

  it('reports a wrong return value and errno', () => {
    const r = run(`
   +0 write(4, ..., 10) = -1 EPIPE (Broken pipe)
`);
    expect(line(r)).toBe('FAIL t.pkt:10 write(): expected result -1 but got 10');
    const r2 = run(`
 +.01 shutdown(4, SHUT_WR) = 0
   +0 write(4, ..., 10) = -1 EAGAIN (Resource temporarily unavailable)
`);
    expect(line(r2)).toMatch(/^FAIL t\.pkt:11 write\(\): expected errno EAGAIN but got EPIPE/);
  });

  it('reports a failed tcp_info assertion with the value', () => {
    const r = run(`
   +0 %{ assert tcpi_state == TCP_LAST_ACK, tcpi_state }%
`);
    expect(line(r)).toBe(
      'FAIL t.pkt:10 assertion failed: assert tcpi_state == TCP_LAST_ACK, tcpi_state (tcpi_state=1)',
    );
  });

  it('reports wrong TCP options', () => {
    const r = runScriptText(
      SERVER.replace('<mss 1460,nop,nop,sackOK>', '<mss 1000,nop,nop,sackOK>'),
      'o.pkt',
    );
    expect(line(r)).toMatch(/^FAIL o\.pkt:6 .*\(TCP option: expected mss 1000 vs actual mss 1460\)$/);
  });

  it('reports a non-blocking call that blocks', () => {
    const r = run(`
   +0 read(4, ..., 10) = 10
`);
    expect(line(r)).toMatch(/^FAIL t\.pkt:10 read\(\) blocked, but the script expects it to return at once/);
  });

  it('reports a blocking call that returns at the wrong time', () => {
    const r = run(`
   +0...0.5 read(4, ..., 10) = 10
  +.1 < P. 1:11(10) ack 1 win 32792
`);
    expect(line(r)).toMatch(
      /^FAIL t\.pkt:10 timing error: expected system call return at 0\.510000 sec but happened at 0\.110000 sec/,
    );
  });

  it('requires the first event at time 0, as packetdrill does', () => {
    expect(line(runScriptText('1 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', 'z.pkt'))).toBe(
      'FAIL z.pkt:1 first event should be at time 0',
    );
  });

  it('reports an inbound TS ecr that matches nothing we sent', () => {
    const r = run(`
   +0 < . 1:1(0) ack 1 win 32792 <nop,nop,TS val 1 ecr 999>
`);
    expect(line(r)).toContain('unable to infer live TS ecr for script TS ecr 999');
  });
});

describe('runner: unsupported constructs are reported, never passed', () => {
  it('lists every unsupported construct with its line', () => {
    const r = run(`
   +0 setsockopt(4, SOL_TCP, TCP_INQ, [1], 4) = 0
   +0 send(4, ..., 10, MSG_EOR) = 10
   +0 \`tc qdisc add dev tun0 root fq\`
   +0 %{ assert tcpi_busy_time == 0 }%
   +0 epoll_create(1) = 5
`);
    expect(r.status).toBe('unsupported');
    expect(line(r)).toBe(
      'UNSUPPORTED t.pkt: line 10: socket option TCP_INQ in `+0 setsockopt(4, SOL_TCP, TCP_INQ, [1], 4) = 0`; ' +
        'line 11: send flag MSG_EOR in `+0 send(4, ..., 10, MSG_EOR) = 10`; ' +
        'line 12: command `tc qdisc add dev tun0 root fq`; ' +
        'line 13: tcp_info field tcpi_busy_time; ' +
        'line 14: system call epoll_create() in `+0 epoll_create(1) = 5`',
    );
  });

  it('reports sysctl writes without an engine setting, and maps those with one', () => {
    expect(
      line(
        runScriptText(
          '`sysctl -q net.ipv4.tcp_min_tso_segs=10`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
          's.pkt',
        ),
      ),
    ).toBe('UNSUPPORTED s.pkt: line 1: sysctl net.ipv4.tcp_min_tso_segs=10');
    const syn = (ts: 0 | 1) =>
      runScriptText(
        `\`sysctl -q net.ipv4.tcp_timestamps=${ts}\`
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
   +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
   +0 > S 0:0(0) <mss 1460,nop,nop,sackOK,nop,wscale 7>`,
        'n.pkt',
      );
    expect(line(syn(0))).toBe('PASS n.pkt');
    expect(line(syn(1))).toMatch(
      /^FAIL n\.pkt:5 .*<mss 1460,sackOK,TS val \d+ ecr 0,nop,wscale 7>.*\(bad outbound TCP options\)$/,
    );
  });

  it('reports a syntax error as unsupported (the parser does not know it)', () => {
    expect(
      line(runScriptText('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 > Q 1:1(0)', 'p.pkt')),
    ).toMatch(/^UNSUPPORTED p\.pkt: line 2: parse error/);
  });
});
