import { describe, expect, it } from 'vitest';
import type { PacketSpec, SyscallSpec } from '../../shared/packetdrill/ast.ts';
import { interpretCommand } from '../../shared/packetdrill/commands.ts';
import { tokenize } from '../../shared/packetdrill/lexer.ts';
import { ParseError, parseScript } from '../../shared/packetdrill/parser.ts';
import { parseCode, runCode } from '../../shared/packetdrill/python.ts';

function packetOf(src: string): PacketSpec {
  const ev = parseScript(src).events[0]!;
  if (ev.action.kind !== 'packet') throw new Error(`not a packet: ${ev.action.kind}`);
  return ev.action.packet;
}

function syscallOf(src: string): SyscallSpec {
  const ev = parseScript(src).events[0]!;
  if (ev.action.kind !== 'syscall') throw new Error(`not a syscall: ${ev.action.kind}`);
  return ev.action.syscall;
}

describe('lexer', () => {
  it('splits times, ellipses and floats the way flex does', () => {
    const toks = tokenize('+.01...0.011 connect(3, ..., ...) = 0').map((t) => `${t.kind}:${t.text}`);
    expect(toks.slice(0, 5)).toEqual(['punct:+', 'float:.01', 'ellipsis:...', 'float:0.011', 'word:connect']);
  });

  it('keeps line numbers across comments, code blocks and commands', () => {
    const toks = tokenize('/* a\nb */ 1\n%{ x\n y }%\n`a\nb` // c\n2');
    expect(toks.map((t) => [t.kind, t.line])).toEqual([
      ['int', 2],
      ['code', 3],
      ['command', 5],
      ['int', 7],
      ['eof', 7],
    ]);
  });

  it('reads hex, negative numbers and IPv4 addresses as single tokens', () => {
    const toks = tokenize('0x2 -1 192.0.2.1 1:1001(1000)');
    expect(toks.slice(0, 4).map((t) => [t.kind, t.value])).toEqual([
      ['hex', 2],
      ['int', -1],
      ['ipv4', 0],
      ['int', 1],
    ]);
  });
});

describe('event times', () => {
  it('parses absolute, relative, ranges and star', () => {
    const s = parseScript(
      [
        '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
        '+.1 close(3) = 0',
        '1.5~2 > F. 1:1(0) ack 1',
        '+.3~+.400 > F. 1:1(0) ack 1',
        '* > . 1:1(0) ack 2',
      ].join('\n'),
    );
    expect(s.events.map((e) => e.time)).toEqual([
      { kind: 'absolute', usecs: 0 },
      { kind: 'relative', usecs: 100_000 },
      { kind: 'absolute-range', usecs: 1_500_000, endUsecs: 2_000_000 },
      { kind: 'relative-range', usecs: 300_000, endUsecs: 400_000 },
      { kind: 'any' },
    ]);
    expect(s.events.map((e) => e.line)).toEqual([1, 2, 3, 4, 5]);
  });

  it('rejects a star time on anything but an outbound packet', () => {
    expect(() => parseScript('* close(3) = 0')).toThrow(ParseError);
  });

  it('rejects a backwards range', () => {
    expect(() => parseScript('+.4~+.3 > F. 1:1(0) ack 1')).toThrow(/backwards/);
  });
});

describe('packets', () => {
  it('parses a SYN-ACK with options', () => {
    const p = packetOf('+0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 8>');
    expect(p).toMatchObject({
      direction: 'out',
      syn: true,
      ack: true,
      fin: false,
      seq: 0,
      end: 0,
      len: 0,
      ackNum: 1,
    });
    expect(p.win).toBeUndefined();
    expect(p.options).toEqual([
      { kind: 'mss', value: 1460 },
      { kind: 'nop' },
      { kind: 'nop' },
      { kind: 'sackOK' },
      { kind: 'nop' },
      { kind: 'wscale', shift: 8 },
    ]);
  });

  it('parses data, window, timestamps and SACK blocks', () => {
    const p = packetOf(
      '+0 < P. 1:1001(1000) ack 1 win 257 <nop,nop,TS val 200 ecr 100,sack 1461:2921 4381:5841>',
    );
    expect(p).toMatchObject({
      direction: 'in',
      psh: true,
      ack: true,
      seq: 1,
      end: 1001,
      len: 1000,
      win: 257,
    });
    expect(p.options).toEqual([
      { kind: 'nop' },
      { kind: 'nop' },
      { kind: 'ts', val: 200, ecr: 100 },
      {
        kind: 'sack',
        blocks: [
          [1461, 2921],
          [4381, 5841],
        ],
      },
    ]);
  });

  it('treats <...> as "do not check options" and a missing list as "no options"', () => {
    expect(packetOf('+0 > S 0:0(0) <...>').options).toBeNull();
    expect(packetOf('+0 > R 1:1(0)').options).toEqual([]);
  });

  it('reads flag combinations, "-" for no flags and explicit ports', () => {
    expect(packetOf('+0 > FP. 13001:20001(7000) ack 1')).toMatchObject({ fin: true, psh: true, ack: true });
    expect(packetOf('+0 < - 1:1001(1000) win 20000')).toMatchObject({ flagText: '', ack: false, syn: false });
    expect(packetOf('+0 < 40000>8080 S 0:0(0) win 100')).toMatchObject({
      srcPort: 40000,
      dstPort: 8080,
      syn: true,
    });
  });

  it('rejects inconsistent lengths and inbound packets without a window', () => {
    expect(() => parseScript('+0 < . 1:100(1000) ack 1 win 1')).toThrow(/inconsistent/);
    expect(() => parseScript('+0 < . 1:1(0) ack 1')).toThrow(/window must be specified/);
  });

  it('records unsupported constructs with their text and keeps parsing', () => {
    const s = parseScript(
      [
        '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
        '+0 > S 0:0(0) <mss 1460,FO,nop>',
        '+0 < udp (100)',
        '+0 close(3) = 0',
      ].join('\n'),
    );
    expect(s.unsupported).toEqual([
      { line: 2, construct: "TCP option 'FO'" },
      { line: 3, construct: 'udp packet' },
    ]);
    expect(s.events.map((e) => e.line)).toEqual([1, 4]);
  });
});

describe('system calls', () => {
  it('parses errno results with their note', () => {
    const c = syscallOf('+0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)');
    expect(c).toMatchObject({ name: 'connect', errno: 'EINPROGRESS', note: 'Operation now in progress' });
    expect(c.result).toEqual({ kind: 'int', value: -1 });
    expect(c.args).toEqual([{ kind: 'int', value: 3 }, { kind: 'ellipsis' }, { kind: 'ellipsis' }]);
  });

  it('parses blocking end times', () => {
    expect(syscallOf('+.1...0.200 connect(3, ..., ...) = 0').endUsecs).toBe(200_000);
  });

  it('parses flag unions, arrays, structs and sendmsg headers', () => {
    expect(syscallOf('+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0').args[2]).toEqual({
      kind: 'or',
      terms: [
        { kind: 'word', name: 'O_RDWR' },
        { kind: 'word', name: 'O_NONBLOCK' },
      ],
    });
    expect(syscallOf('+0 setsockopt(4, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0').args[3]).toEqual({
      kind: 'struct',
      items: [
        { kind: 'field', name: 'onoff', arg: undefined, value: { kind: 'int', value: 1 } },
        { kind: 'field', name: 'linger', arg: undefined, value: { kind: 'int', value: 0 } },
      ],
    });
    const msg = syscallOf(
      '+0 sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 40}], msg_flags=0}, MSG_MORE) = 40',
    );
    expect(msg.args[1]).toMatchObject({ kind: 'struct' });
    expect(msg.args[2]).toEqual({ kind: 'word', name: 'MSG_MORE' });
    expect(syscallOf('+0 getsockopt(4, SOL_SOCKET, SO_ERROR, [0], [4]) = 0').args[3]).toEqual({
      kind: 'list',
      items: [{ kind: 'int', value: 0 }],
    });
  });
});

describe('script structure', () => {
  it('reads options, the init command and the cleanup command', () => {
    const s = parseScript(
      [
        '--tolerance_usecs=10000',
        '--local_ip=fd::1',
        '`../common/defaults.sh`',
        '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3',
        '`echo done`',
      ].join('\n'),
    );
    expect(s.options).toEqual([
      { name: 'tolerance_usecs', value: '10000', line: 1 },
      { name: 'local_ip', value: 'fd::1', line: 2 },
    ]);
    expect(s.initCommand).toEqual({ command: '../common/defaults.sh', line: 3 });
    expect(s.cleanupCommand).toEqual({ command: 'echo done', line: 5 });
    expect(s.events).toHaveLength(1);
  });

  it('reports syntax errors with their line', () => {
    expect(() => parseScript('0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 > Q 1:1(0)')).toThrow(/line 2/);
  });
});

describe('python blocks', () => {
  const env = (tcpi: Record<string, number>) => ({
    vars: new Map<string, number>(),
    tcpi: (n: string) => tcpi[n],
  });

  it('evaluates assertions, chains, masks and constants', () => {
    const parsed = parseCode(
      "assert tcpi_state == TCP_ESTABLISHED, tcpi_state; assert 5000 <= tcpi_rtt <= 20000, 'srtt=%d us' % tcpi_rtt\nassert (tcpi_options & TCPI_OPT_SACK) != 0",
    );
    if (!parsed.ok) throw new Error(parsed.construct);
    expect(runCode(parsed.statements, env({ tcpi_state: 1, tcpi_rtt: 6000, tcpi_options: 7 }))).toEqual({
      ok: true,
    });
    expect(runCode(parsed.statements, env({ tcpi_state: 8, tcpi_rtt: 6000, tcpi_options: 7 }))).toMatchObject(
      {
        ok: false,
        kind: 'assert',
        values: 'tcpi_state=8',
      },
    );
  });

  it('keeps variables between blocks and ignores print', () => {
    const e = env({ tcpi_snd_cwnd: 20 });
    const a = parseCode('cwnd = 10');
    const b = parseCode('print(tcpi_snd_cwnd); cwnd += 10; assert tcpi_snd_cwnd == cwnd, tcpi_snd_cwnd');
    if (!a.ok || !b.ok) throw new Error('parse');
    expect(runCode(a.statements, e)).toEqual({ ok: true });
    expect(runCode(b.statements, e)).toEqual({ ok: true });
  });

  it('joins backslash continuations', () => {
    const p = parseCode(
      'assert tcpi_probes == 0, tcpi_probes; \\\n      assert tcpi_backoff == 0, tcpi_backoff',
    );
    expect(p.ok && p.statements.length).toBe(2);
  });

  it('reports other Python and unknown fields as unsupported', () => {
    expect(parseCode('import os')).toEqual({ ok: false, construct: 'import os' });
    const p = parseCode('assert tcpi_busy_time == 0');
    if (!p.ok) throw new Error('parse');
    expect(runCode(p.statements, env({}))).toMatchObject({ ok: false, kind: 'unsupported' });
  });
});

describe('commands', () => {
  it('maps defaults.sh and sysctls with an engine setting', () => {
    expect(interpretCommand('../common/defaults.sh')).toMatchObject({ ok: true, config: {} });
    expect(interpretCommand('../../common/defaults.sh\nsysctl -q net.ipv4.tcp_timestamps=0')).toMatchObject({
      ok: true,
      config: { timestamps: false },
    });
    expect(interpretCommand('sysctl -q net/ipv4/tcp_pacing_ss_ratio=200')).toMatchObject({
      ok: true,
      config: {},
    });
  });

  it('joins backslash-continued lines', () => {
    expect(
      interpretCommand(
        '../common/defaults.sh\n ../common/set_sysctls.py \\\n\t/proc/sys/net/ipv4/tcp_sack=0',
      ),
    ).toMatchObject({
      ok: true,
      config: { sack: false },
    });
  });

  it('reports everything else with its exact text', () => {
    expect(interpretCommand('tc qdisc replace dev tun0 root fq')).toEqual({
      ok: false,
      construct: 'command `tc qdisc replace dev tun0 root fq`',
    });
    expect(interpretCommand('sysctl -q net.ipv4.tcp_min_tso_segs=10')).toEqual({
      ok: false,
      construct: 'sysctl net.ipv4.tcp_min_tso_segs=10',
    });
  });
});
