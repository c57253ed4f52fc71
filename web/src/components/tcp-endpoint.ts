/**
 * One endpoint (seat A or B): buttons and small forms for every socket call, each disabled with a
 * reason when it makes no sense; the result of the last call (an errno with its explanation); the
 * descriptor table with reference counts; and the chosen socket in detail: state, buffers,
 * windows, cwnd/ssthresh, the sender's internals (SND.UNA, SND.NXT, RCV.NXT…), timers counting
 * down and a listener's SYN and accept queues. Everything shows the endpoint at the moment the
 * timeline is scrubbed to; calls are only possible live, by the seat's holder.
 */
import { css, html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { Seat, SockCall } from '../../../shared/protocol/messages.ts';
import { ipToString } from '../../../shared/tcp/packet.ts';
import type { TcpState } from '../../../shared/tcp/types.ts';
import { emit } from '../events.ts';
import { LocaleController, t, tk } from '../i18n/index.ts';
import {
  type CallView,
  descriptorsOf,
  type HostView,
  primarySock,
  type SockView,
  sendBuffer,
  unreadBytes,
} from '../model/endpoints.ts';
import { callArgsText, resultText } from '../model/format.ts';
import type { LabRequestError } from '../net/lab-client.ts';
import { base } from '../styles/theme.ts';
import { errnoText, fmtBytes, fmtMs, refusal } from './ui.ts';

type Op = SockCall['op'];

const CONNECTED: readonly TcpState[] = [
  'ESTABLISHED',
  'CLOSE-WAIT',
  'FIN-WAIT-1',
  'FIN-WAIT-2',
  'CLOSING',
  'LAST-ACK',
  'TIME-WAIT',
];

@customElement('tcp-endpoint')
export class TcpEndpoint extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: block;
        overflow-y: auto;
        overflow-x: hidden;
        background: var(--surface);
        font-size: 0.86rem;
        scrollbar-width: thin;
      }
      .head {
        position: sticky;
        top: 0;
        z-index: 2;
        display: flex;
        align-items: center;
        gap: 0.5rem;
        padding: 0.55rem 0.7rem;
        background: var(--surface);
        border-bottom: 1px solid var(--line);
      }
      :host([side='A']) .head {
        border-top: 4px solid var(--a);
      }
      :host([side='B']) .head {
        border-top: 4px solid var(--b);
      }
      .who {
        flex: 1;
        min-width: 0;
        line-height: 1.2;
      }
      .who .addr {
        font-family: var(--mono);
        font-weight: 700;
      }
      .who .name {
        display: block;
        font-size: 0.78rem;
        color: var(--ink-soft);
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .body {
        padding: 0 0.7rem 0.8rem;
      }
      .calls {
        display: grid;
        gap: 0.35rem;
      }
      .row {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.3rem;
      }
      .row label {
        font-size: 0.78rem;
        color: var(--ink-soft);
      }
      .grp {
        display: inline-flex;
        align-items: stretch;
      }
      .grp.grow {
        flex: 1;
        min-width: 0;
      }
      .grp > .btn {
        border-top-right-radius: 0;
        border-bottom-right-radius: 0;
      }
      .grp > input,
      .grp > select {
        border-radius: 0;
        border-left: 0;
        min-height: 26px;
        font-size: 0.8rem;
        font-family: var(--mono);
      }
      .grp > input:last-child,
      .grp > select:last-child {
        border-top-right-radius: 6px;
        border-bottom-right-radius: 6px;
      }
      .grp .colon {
        display: grid;
        place-items: center;
        padding: 0 2px;
        border-top: 1px solid var(--line-strong);
        border-bottom: 1px solid var(--line-strong);
        background: var(--surface-2);
        font-family: var(--mono);
      }
      .grp .colon + input {
        border-left: 0;
      }
      select.fdsel {
        flex: 1;
        min-width: 0;
        font-family: var(--mono);
        font-size: 0.8rem;
      }
      input.port {
        width: 3.6em;
      }
      input.backlog {
        width: 2.6em;
      }
      input.addr {
        width: 6.6em;
      }
      input.data {
        flex: 1;
        min-width: 6em;
      }
      .call {
        font-family: var(--mono);
        font-size: 0.8rem;
      }
      .note {
        font-size: 0.78rem;
        color: var(--ink-soft);
        font-style: italic;
      }
      table {
        width: 100%;
        border-collapse: collapse;
        font-size: 0.8rem;
      }
      th {
        text-align: left;
        font-weight: 600;
        color: var(--ink-soft);
        font-size: 0.72rem;
        border-bottom: 1px solid var(--line);
        padding: 0.15em 0.3em;
      }
      td {
        padding: 0.2em 0.3em;
        border-bottom: 1px solid var(--line);
        font-family: var(--mono);
      }
      tr.sel td {
        background: var(--accent-soft);
      }
      tbody tr {
        cursor: pointer;
      }
      tbody tr:hover td {
        background: var(--surface-hover);
      }
      dl.kv {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 0.12rem 0.6rem;
        margin: 0;
        font-size: 0.8rem;
      }
      dl.kv dt {
        color: var(--ink-soft);
        font-family: var(--mono);
        font-size: 0.76rem;
        white-space: nowrap;
      }
      dl.kv dd {
        margin: 0;
        font-family: var(--mono);
        font-variant-numeric: tabular-nums;
        text-align: right;
      }
      .bar {
        display: flex;
        height: 14px;
        border-radius: 4px;
        overflow: hidden;
        border: 1px solid var(--line-strong);
        background: var(--surface-2);
        margin: 0.2rem 0 0.15rem;
      }
      .bar span {
        display: block;
        height: 100%;
      }
      .acked {
        background: var(--ok);
      }
      .flight {
        background: repeating-linear-gradient(45deg, var(--warn), var(--warn) 3px, #f6c77a 3px, #f6c77a 6px);
      }
      .unsent {
        background: #9aa6b8;
      }
      .unread {
        background: var(--info);
      }
      .legend {
        display: flex;
        flex-wrap: wrap;
        gap: 0.2rem 0.7rem;
        font-size: 0.74rem;
        color: var(--ink-soft);
      }
      .legend i {
        display: inline-block;
        width: 0.8em;
        height: 0.8em;
        border-radius: 2px;
        vertical-align: -0.1em;
        margin-right: 0.25em;
      }
      .timer {
        display: flex;
        justify-content: space-between;
        gap: 0.5rem;
        font-family: var(--mono);
        font-size: 0.8rem;
        padding: 0.15rem 0.4rem;
        border-radius: 5px;
        background: var(--surface-2);
        margin-bottom: 0.2rem;
      }
      .timer.tw {
        background: var(--warn-soft);
        border: 1px solid var(--warn);
        font-weight: 700;
      }
      .pending {
        font-family: var(--mono);
        font-size: 0.8rem;
        padding: 0.2rem 0.4rem;
        background: var(--info-soft);
        border-radius: 5px;
      }
      .queue {
        display: flex;
        gap: 0.25rem;
        flex-wrap: wrap;
        align-items: center;
        font-family: var(--mono);
        font-size: 0.78rem;
      }
      .chip {
        border: 1px solid var(--line-strong);
        border-radius: 4px;
        padding: 0 0.3em;
        background: var(--surface-2);
      }
      .last {
        font-family: var(--mono);
        font-size: 0.8rem;
        word-break: break-word;
      }
      .since {
        font-size: 0.76rem;
        color: var(--ink-soft);
      }
    `,
  ];

  @property({ reflect: true }) side: Seat = 'A';
  @property({ attribute: false }) host: HostView | undefined;
  /** The store's version: the live view is updated in place, so this is what says it changed. */
  @property({ type: Number }) version = 0;
  /** Virtual time at the moment shown. */
  @property({ type: Number }) nowT = 0;
  @property({ type: Boolean }) live = true;
  @property({ type: Boolean }) mine = false;
  @property({ attribute: false }) holder: { name: string; online: boolean } | null = null;
  @property({ attribute: false }) addrs: { A: string; B: string } = { A: '10.0.0.1', B: '10.0.0.2' };
  @property({ type: Boolean }) absolute = false;
  /** Why the room refuses input (history full, stopped), if it does. */
  @property() frozen = '';
  /** The server's refusal of this panel's last call, if it refused it. */
  @property({ attribute: false }) error: LabRequestError | undefined;
  @property({ type: Boolean }) busy = false;
  /** May this user take the (free) seat from here? */
  @property({ type: Boolean }) canTake = false;

  @state() private _pid = 1;
  @state() private _fd: number | undefined;
  /** The socket shown in detail (and in the header): it stays after its descriptor is closed. */
  @state() private _shown: number | undefined;
  @state() private _port = '';
  @state() private _backlog = '5';
  @state() private _peer = '';
  @state() private _peerPort = '80';
  @state() private _data = '';
  @state() private _how: 'SHUT_RD' | 'SHUT_WR' | 'SHUT_RDWR' = 'SHUT_WR';
  @state() private _linger = '0';
  private knownFds = new Set<string>();
  protected readonly locale = new LocaleController(this);

  override willUpdate(): void {
    if (!this._peer) this._peer = this.side === 'A' ? this.addrs.B : this.addrs.A;
    if (!this._port) this._port = this.side === 'B' ? '80' : '0';
    if (!this._data) this._data = this.side === 'A' ? t('ep.defaultDataA') : t('ep.defaultDataB');
    const h = this.host;
    if (!h) return;
    if (!(this._pid in h.procs)) this._pid = 1;
    // A new descriptor (socket(), accept(), dup()) ends a manual choice: follow what happens next.
    const table = h.procs[this._pid] ?? {};
    let fresh = false;
    for (const [fd, id] of Object.entries(table)) {
      const key = `${this._pid}:${fd}:${id}`;
      if (!this.knownFds.has(key)) {
        this.knownFds.add(key);
        fresh = true;
      }
    }
    if (fresh && this.live) {
      this._fd = undefined;
      this._shown = undefined;
    }
    if (this._shown !== undefined && !h.socks[this._shown]) this._shown = undefined;
    if (this._fd !== undefined && !(this._fd in table)) this._fd = undefined;
  }

  /**
   * The socket shown in detail (and in the header): the one the user chose while it exists, else
   * the chosen descriptor's, else the newest connection (which stays after its descriptor is closed,
   * through FIN-WAIT and TIME-WAIT), else the listener.
   */
  private shown(): SockView | undefined {
    const h = this.host;
    if (!h) return undefined;
    if (this._shown !== undefined && h.socks[this._shown]) return h.socks[this._shown];
    if (this._fd !== undefined) {
      const id = h.procs[this._pid]?.[this._fd];
      if (id !== undefined && h.socks[id]) return h.socks[id];
    }
    return primarySock(h);
  }

  /** The descriptor calls go to: the chosen one, else one of the shown socket, else the newest. */
  private fd(): number | undefined {
    const h = this.host;
    if (!h) return undefined;
    const table = h.procs[this._pid] ?? {};
    if (this._fd !== undefined && this._fd in table) return this._fd;
    const shown = this.shown();
    const fds = Object.keys(table).map(Number);
    const own = fds.filter((f) => table[f] === shown?.id);
    if (own.length) return Math.min(...own);
    return fds.length ? Math.max(...fds) : undefined;
  }

  private pick(pid: number, fd: number): void {
    this._pid = pid;
    this._fd = fd;
    this._shown = this.host?.procs[pid]?.[fd];
  }

  private sock(): SockView | undefined {
    const h = this.host;
    const fd = this.fd();
    if (!h || fd === undefined) return undefined;
    const id = h.procs[this._pid]?.[fd];
    return id === undefined ? undefined : h.socks[id];
  }

  /** Why `op` cannot be called now, or undefined when it can. */
  private reason(op: Op): string | undefined {
    if (!this.mine)
      return this.holder
        ? t('ep.why.notYours', { seat: this.side })
        : t('ep.why.takeSeat', { seat: this.side });
    if (!this.live) return t('ep.why.scrubbed');
    if (this.frozen) return this.frozen;
    if (op === 'socket' || op === 'fork') return undefined;
    const s = this.sock();
    if (this.fd() === undefined || !s) return t('ep.why.noFd');
    const st = s.state;
    const connected = CONNECTED.includes(st);
    const everConnected = s.remotePort !== 0;
    switch (op) {
      case 'bind':
        if (s.localPort !== 0 || st !== 'CLOSED') return t('ep.why.bound', { port: s.localPort });
        return undefined;
      case 'listen':
        if (st !== 'CLOSED' && st !== 'LISTEN') return t('ep.why.notForListen', { state: st });
        if (everConnected) return t('ep.why.wasConnected');
        return undefined;
      case 'connect':
        if (st === 'LISTEN') return t('ep.why.listening');
        if (st !== 'CLOSED') return t('ep.why.alreadyConnected', { state: st });
        return undefined;
      case 'accept':
        if (st !== 'LISTEN') return t('ep.why.notListening');
        return undefined;
      case 'send':
      case 'recv':
      case 'shutdown':
        if (st === 'LISTEN') return t('ep.why.listenerNoData');
        if (st === 'CLOSED' && !everConnected) return t('ep.why.notConnected');
        if (!connected && st !== 'SYN-SENT' && st !== 'SYN-RECEIVED' && st !== 'CLOSED')
          return t('ep.why.notConnected');
        return undefined;
      default:
        return undefined;
    }
  }

  private call(call: SockCall): void {
    emit(this, 'sock-call', {
      seat: this.side,
      call: this._pid !== 1 ? ({ ...call, pid: this._pid } as SockCall) : call,
    });
  }

  /**
   * A call button. When the call makes no sense it stays focusable but `aria-disabled`, so the
   * reason is there for the keyboard and screen readers (described by it) as well as in the tooltip.
   */
  private btn(op: Op, label: string, make: () => SockCall | undefined, extra = '', fullName = '') {
    const why = this.reason(op);
    const disabled = why !== undefined || this.busy;
    const tip = `${fullName ? `${fullName}: ` : ''}${why ?? tk(`ep.tip.${op}`, '')}`;
    const whyId = `why-${op}-${label.replace(/\W/g, '')}`;
    return html`<button
      class="btn small call ${extra}"
      aria-disabled=${disabled ? 'true' : 'false'}
      title=${tip}
      aria-label=${fullName || nothing}
      aria-describedby=${why ? whyId : nothing}
      @click=${() => {
        if (disabled) return;
        const c = make();
        if (c) this.call(c);
      }}
    >
      ${label}</button
    >${why ? html`<span id=${whyId} class="sr-only">${why}</span>` : nothing}`;
  }

  override render() {
    const h = this.host;
    const fd = this.fd();
    const s = this.shown();
    const seat = this.side;
    return html`<div class="head">
        <span class="seat ${seat}" aria-hidden="true">${seat}</span>
        <div class="who">
          <span class="addr">${this.addrs[seat]}</span>
          <span class="name"
            >${
              this.holder
                ? html`${this.holder.name}${this.mine ? ` · ${t('ep.you')}` : ''}${this.holder.online ? '' : ` · ${t('lobby.offline')}`}`
                : t('ep.freeSeat')
            }</span
          >
        </div>
        ${s ? html`<span class="state ${s.state}" title=${tk(`state.${s.state}`, s.state)}>${s.state}</span>` : nothing}
      </div>
      <div class="body">
        ${this.mine ? this.renderCalls(fd) : this.renderNotMine()} ${this.renderLast(h)} ${this.renderDescriptors(h)}
        ${s ? this.renderSock(s) : nothing}
      </div>`;
  }

  private input(
    id: string,
    cls: string,
    value: string,
    label: string,
    set: (v: string) => void,
    numeric = true,
  ) {
    return html`<label for=${id} class="sr-only">${label}</label
      ><input
        id=${id}
        class=${cls}
        type="text"
        inputmode=${numeric ? 'numeric' : 'text'}
        .value=${value}
        title=${label}
        @input=${(e: Event) => set((e.target as HTMLInputElement).value)}
      />`;
  }

  private renderCalls(fd: number | undefined) {
    const h = this.host;
    const pids = h ? Object.keys(h.procs).map(Number) : [1];
    const table = h?.procs[this._pid] ?? {};
    const fds = Object.keys(table).map(Number);
    const port = Number(this._port);
    const num = (v: string, d: number) => (/^\d+$/.test(v.trim()) ? Number(v) : d);
    const withFd = (make: (fd: number) => SockCall) => () => (fd === undefined ? undefined : make(fd));
    return html`<div class="section-title" id="calls-${this.side}">${t('ep.calls')}</div>
      <div class="calls" role="group" aria-labelledby="calls-${this.side}">
        <div class="row">
          ${
            pids.length > 1
              ? html`<label for="pid">${t('ep.process')}</label>
                <select id="pid" @change=${(e: Event) => (this._pid = Number((e.target as HTMLSelectElement).value))}>
                  ${pids.map((p) => html`<option value=${p} ?selected=${p === this._pid}>pid ${p}</option>`)}
                </select>`
              : nothing
          }
          <label for="fd">${t('ep.descriptor')}</label>
          <select
            id="fd"
            class="fdsel"
            ?disabled=${fds.length === 0}
            @change=${(e: Event) => this.pick(this._pid, Number((e.target as HTMLSelectElement).value))}
          >
            ${fds.length === 0 ? html`<option>${t('ep.noFd')}</option>` : nothing}
            ${fds.map((f) => {
              const so = h?.socks[table[f]!];
              return html`<option value=${f} ?selected=${f === fd}>fd ${f}${so ? ` · #${so.id} ${so.state}` : ''}</option>`;
            })}
          </select>
        </div>
        <div class="row">
          ${this.btn('socket', 'socket()', () => ({ op: 'socket' }))}
          <span class="grp">
            ${this.btn(
              'bind',
              'bind',
              withFd((f) => ({ op: 'bind', fd: f, port: num(this._port, 0) })),
            )}
            ${this.input('port', 'port', this._port, t('ep.port'), (v) => (this._port = v))}
          </span>
          <span class="grp">
            ${this.btn(
              'listen',
              'listen',
              withFd((f) => ({ op: 'listen', fd: f, backlog: num(this._backlog, 5) })),
            )}
            ${this.input('backlog', 'backlog', this._backlog, 'backlog', (v) => (this._backlog = v))}
          </span>
        </div>
        <div class="row">
          <span class="grp">
            ${this.btn(
              'connect',
              'connect',
              withFd((f) => ({
                op: 'connect',
                fd: f,
                addr: this._peer.trim(),
                port: num(this._peerPort, 80),
              })),
            )}
            ${this.input('peer', 'addr', this._peer, t('ep.peerAddr'), (v) => (this._peer = v), false)}<span class="colon"
              >:</span
            >${this.input('pport', 'port', this._peerPort, t('ep.peerPort'), (v) => (this._peerPort = v))}
          </span>
          ${this.btn(
            'accept',
            'accept()',
            withFd((f) => ({ op: 'accept', fd: f })),
          )}
        </div>
        <div class="row">
          <span class="grp grow">
            ${this.btn(
              'send',
              'send',
              withFd((f) => ({ op: 'send', fd: f, data: this._data })),
            )}
            <label for="data" class="sr-only">${t('ep.data')}</label
            ><input
              id="data"
              class="data"
              type="text"
              maxlength="8192"
              .value=${this._data}
              title=${t('ep.data')}
              @input=${(e: Event) => (this._data = (e.target as HTMLInputElement).value)}
              @keydown=${(e: KeyboardEvent) => {
                if (e.key === 'Enter' && fd !== undefined && this.reason('send') === undefined)
                  this.call({ op: 'send', fd, data: this._data });
              }}
            />
          </span>
          ${this.btn(
            'recv',
            'recv()',
            withFd((f) => ({ op: 'recv', fd: f })),
          )}
        </div>
        <div class="row">
          <span class="grp">
            ${this.btn(
              'shutdown',
              'shutdown',
              withFd((f) => ({ op: 'shutdown', fd: f, how: this._how })),
            )}
            <label for="how" class="sr-only">how</label
            ><select id="how" @change=${(e: Event) => (this._how = (e.target as HTMLSelectElement).value as typeof this._how)}>
              ${(['SHUT_WR', 'SHUT_RD', 'SHUT_RDWR'] as const).map(
                (w) => html`<option value=${w} ?selected=${w === this._how}>${w.slice(5)}</option>`,
              )}
            </select>
          </span>
          ${this.btn(
            'close',
            'close()',
            withFd((f) => ({ op: 'close', fd: f })),
            'danger',
          )}
          ${this.btn(
            'dup',
            'dup()',
            withFd((f) => ({ op: 'dup', fd: f })),
          )}
        </div>
        <div class="row">
          ${this.btn('fork', 'fork()', () => ({ op: 'fork' }))}
          <span class="grp">
            ${this.btn(
              'setsockopt',
              'LINGER',
              withFd((f) => ({
                op: 'setsockopt',
                fd: f,
                opt: 'SO_LINGER',
                value: { onoff: true, lingerSec: num(this._linger, 0) },
              })),
              '',
              'SO_LINGER',
            )}
            ${this.input('linger', 'backlog', this._linger, t('ep.lingerSec'), (v) => (this._linger = v))}
          </span>
          ${this.btn(
            'setsockopt',
            'REUSEADDR',
            withFd((f) => ({
              op: 'setsockopt',
              fd: f,
              opt: 'SO_REUSEADDR',
              value: !(this.sock()?.opts.reuseAddr ?? false),
            })),
            '',
            'SO_REUSEADDR',
          )}
          ${this.btn(
            'setsockopt',
            'NODELAY',
            withFd((f) => ({
              op: 'setsockopt',
              fd: f,
              opt: 'TCP_NODELAY',
              value: !(this.sock()?.opts.nodelay ?? false),
            })),
            '',
            'TCP_NODELAY',
          )}
        </div>
        ${port > 0 && port < 1024 && this.side === 'A' ? html`<div class="note">${t('ep.lowPortNote')}</div>` : nothing}
        ${refusal(this.error)}
      </div>`;
  }

  /** For everyone but the seat's holder: who makes the calls, or a way to take the free seat. */
  private renderNotMine() {
    return html`<div class="section-title">${t('ep.calls')}</div>
      <div class="note" role="note">
        ${this.holder ? t('ep.callsBy', { name: this.holder.name, seat: this.side }) : t('ep.seatFree', { seat: this.side })}
      </div>
      ${
        this.canTake
          ? html`<button class="btn small primary" style="margin-top:0.35rem" @click=${() => emit(this, 'seat-take', { seat: this.side })}>
            ${t('lobby.take', { seat: this.side })}
          </button>`
          : nothing
      }`;
  }

  private renderLast(h: HostView | undefined) {
    if (!h) return nothing;
    const pending = Object.values(h.pending);
    const last = [...h.calls].reverse().find((c) => c.result !== undefined);
    return html`${pending.map(
      (c) =>
        html`<div class="pending" role="status">
          ◷ ${callArgsText(c.op, c.fd, c.args, c.pid)} — ${t('ep.blocked', { t: fmtMs(Math.max(0, this.nowT - c.t)) })}
        </div>`,
    )}
    ${last ? this.renderResult(last) : nothing}`;
  }

  private renderResult(c: CallView) {
    const r = c.result!;
    const call = `${callArgsText(c.op, c.fd, c.args, c.pid)} = ${resultText(c.op, r)}`;
    if (r.ok) return html`<div class="ok-box last" aria-live="polite">✓ ${call}</div>`;
    const { title, detail } = errnoText(r.errno, r.message);
    return html`<div class="error-box" role="alert">
      <div class="last">✗ ${call}</div>
      <div><strong>${title}</strong></div>
      ${detail ? html`<div class="muted">${detail}</div>` : nothing}
    </div>`;
  }

  private renderDescriptors(h: HostView | undefined) {
    if (!h) return nothing;
    const rows: Array<{ pid: number; fd: number; sock: SockView | undefined }> = [];
    for (const [pid, table] of Object.entries(h.procs))
      for (const [fd, id] of Object.entries(table))
        rows.push({ pid: Number(pid), fd: Number(fd), sock: h.socks[id] });
    const fdNow = this.fd();
    const orphans = Object.values(h.socks).filter(
      (s) => !s.freed && s.parent === undefined && descriptorsOf(h, s.id).length === 0,
    );
    return html`<div class="section-title">${t('ep.descriptors')}</div>
      ${
        rows.length === 0 && orphans.length === 0
          ? html`<div class="note">${t('ep.noDescriptors')}</div>`
          : html`<table>
            <thead>
              <tr>
                <th scope="col">pid</th>
                <th scope="col">fd</th>
                <th scope="col">${t('ep.socket')}</th>
                <th scope="col">${t('ep.state')}</th>
                <th scope="col" title=${t('ep.refsTip')}>${t('ep.refs')}</th>
              </tr>
            </thead>
            <tbody>
              ${rows.map(
                (r) => html`<tr
                  class=${r.pid === this._pid && r.fd === fdNow ? 'sel' : ''}
                  tabindex="0"
                  aria-selected=${r.pid === this._pid && r.fd === fdNow ? 'true' : 'false'}
                  @click=${() => this.pick(r.pid, r.fd)}
                  @keydown=${(e: KeyboardEvent) => {
                    if (e.key === 'Enter' || e.key === ' ') {
                      e.preventDefault();
                      this.pick(r.pid, r.fd);
                    }
                  }}
                >
                  <td>${r.pid}</td>
                  <td>${r.fd}</td>
                  <td>#${r.sock?.id ?? '?'}</td>
                  <td>${r.sock?.state ?? '?'}</td>
                  <td>${r.sock ? descriptorsOf(h, r.sock.id).length : 0}</td>
                </tr>`,
              )}
              ${orphans.map(
                (s) => html`<tr
                  class=${this._shown === s.id ? 'sel' : ''}
                  tabindex="0"
                  title=${t('ep.orphanTip')}
                  @click=${() => (this._shown = s.id)}
                  @keydown=${(e: KeyboardEvent) => {
                    if (e.key === 'Enter' || e.key === ' ') {
                      e.preventDefault();
                      this._shown = s.id;
                    }
                  }}
                >
                  <td>—</td>
                  <td>—</td>
                  <td>#${s.id}</td>
                  <td>${s.state}</td>
                  <td>0</td>
                </tr>`,
              )}
            </tbody>
          </table>`
      }`;
  }

  private seq(v: number | undefined, base: number | undefined): string {
    if (v === undefined) return '—';
    if (this.absolute || base === undefined) return String(v);
    return String((v - base) >>> 0);
  }

  private renderSock(s: SockView) {
    const h = this.host!;
    const rel = this.absolute ? '' : ` (${t('ep.relative')})`;
    const buf = sendBuffer(s);
    const unread = unreadBytes(s);
    const total = Math.max(1, buf.acked + buf.inFlight + buf.unsent);
    const pct = (n: number) => `${(100 * n) / total}%`;
    const timers = Object.entries(s.timers) as Array<[string, number]>;
    const local = `${this.addrs[this.side]}:${s.localPort || '*'}`;
    const remote = s.remotePort ? `${ipToString(s.remoteAddr)}:${s.remotePort}` : '—';
    const isListener = s.state === 'LISTEN' && s.listen;
    return html`<div class="section-title">${t('ep.socketN', { id: s.id })}</div>
      <dl class="kv">
        <dt>${t('ep.local')}</dt>
        <dd>${local}</dd>
        <dt>${t('ep.remote')}</dt>
        <dd>${remote}</dd>
        <dt>${t('ep.state')}</dt>
        <dd><span class="state ${s.state}">${s.state}</span></dd>
      </dl>
      ${
        s.last
          ? html`<div class="since">
            ${t('ep.since', { from: s.last.from, t: (s.last.t / 1000).toFixed(3) })}: ${s.last.cause}
          </div>`
          : nothing
      }
      ${tk(`state.${s.state}`, '') ? html`<div class="note">${tk(`state.${s.state}`, '')}</div>` : nothing}
      ${isListener ? this.renderListen(h, s) : this.renderConn(s, buf, unread, pct, rel)}
      ${
        timers.length
          ? html`<div class="section-title">${t('ep.timers')}</div>
            ${timers.map(([kind, deadline]) => {
              const left = Math.max(0, deadline - this.nowT);
              return html`<div class="timer ${kind === 'time-wait' ? 'tw' : ''}" role=${kind === 'time-wait' ? 'timer' : nothing}>
                <span>${tk(`timer.${kind}`, kind)}</span><span>${fmtMs(left)}</span>
              </div>`;
            })}`
          : nothing
      }
      ${this.renderOpts(s)}`;
  }

  private renderListen(h: HostView, s: SockView) {
    const l = s.listen!;
    const chip = (id: number) => {
      const c = h.socks[id];
      return html`<span class="chip" title=${c ? `${ipToString(c.remoteAddr)}:${c.remotePort}` : ''}>#${id} ${c?.state ?? ''}</span>`;
    };
    return html`<div class="section-title">${t('ep.queues')}</div>
      <dl class="kv">
        <dt>backlog</dt>
        <dd>${l.backlog}</dd>
      </dl>
      <div class="queue" aria-label=${t('ep.synQueue')}>
        <span class="muted">${t('ep.synQueue')} (${l.syn.length}):</span>${l.syn.length ? l.syn.map(chip) : html`<span class="muted">—</span>`}
      </div>
      <div class="queue" aria-label=${t('ep.acceptQueue')}>
        <span class="muted">${t('ep.acceptQueue')} (${l.accept.length}):</span
        >${l.accept.length ? l.accept.map(chip) : html`<span class="muted">—</span>`}
      </div>
      <div class="note">${t('ep.queuesNote')}</div>`;
  }

  private renderConn(
    s: SockView,
    buf: { acked: number; inFlight: number; unsent: number },
    unread: number,
    pct: (n: number) => string,
    rel: string,
  ) {
    const cc = s.cc;
    const ssthresh = cc && cc.ssthresh < 0x7fffffff ? String(cc.ssthresh) : '∞';
    const rto = s.timers.retransmit;
    return html`<div class="section-title">${t('ep.sendBuffer')}</div>
      <div class="bar" role="img" aria-label=${t('ep.sendBufferAria', { acked: buf.acked, flight: buf.inFlight, unsent: buf.unsent })}>
        <span class="acked" style="width:${pct(buf.acked)}"></span>
        <span class="flight" style="width:${pct(buf.inFlight)}"></span>
        <span class="unsent" style="width:${pct(buf.unsent)}"></span>
      </div>
      <div class="legend">
        <span><i class="acked"></i>${t('ep.acked')} ${fmtBytes(buf.acked)}</span>
        <span><i class="flight"></i>${t('ep.inFlight')} ${fmtBytes(buf.inFlight)}</span>
        <span><i class="unsent"></i>${t('ep.unsent')} ${fmtBytes(buf.unsent)}</span>
      </div>
      <div class="section-title">${t('ep.recvBuffer')}</div>
      <div class="legend">
        <span><i class="unread"></i>${t('ep.unread')} ${fmtBytes(unread)}</span>
        <span>${t('ep.readSoFar')} ${fmtBytes(s.read)}</span>
        ${s.finRcvd ? html`<span>FIN ✓</span>` : nothing}
        ${s.shutWr ? html`<span>SHUT_WR</span>` : nothing} ${s.shutRd ? html`<span>SHUT_RD</span>` : nothing}
      </div>
      ${s.lastRecv !== undefined ? html`<div class="last" title=${t('ep.lastRecv')}>“${s.lastRecv}”</div>` : nothing}
      <div class="section-title" title=${t('ep.internalsTip')}>${t('ep.internals')}${rel}</div>
      <dl class="kv">
        <dt title=${t('tcb.sndUna')}>SND.UNA</dt>
        <dd>${this.seq(s.sndUna, s.iss)}</dd>
        <dt title=${t('tcb.sndNxt')}>SND.NXT</dt>
        <dd>${this.seq(s.sndNxt, s.iss)}</dd>
        <dt title=${t('tcb.sndWnd')}>SND.WND</dt>
        <dd>${s.sndWnd ?? '—'}</dd>
        <dt title=${t('tcb.rcvNxt')}>RCV.NXT</dt>
        <dd>${this.seq(s.rcvNxt, s.irs)}</dd>
        <dt title=${t('tcb.rcvWnd')}>RCV.WND</dt>
        <dd>${s.rcvWnd ?? '—'}</dd>
        <dt title=${t('tcb.cwnd')}>cwnd</dt>
        <dd>${cc ? `${cc.cwnd}` : '—'}</dd>
        <dt title=${t('tcb.ssthresh')}>ssthresh</dt>
        <dd>${cc ? ssthresh : '—'}</dd>
        <dt title=${t('tcb.phase')}>${t('ep.phase')}</dt>
        <dd>${cc ? tk(`phase.${cc.phase}`, cc.phase) : '—'}</dd>
        <dt title=${t('tcb.rto')}>RTO</dt>
        <dd>${rto !== undefined ? `◷ ${fmtMs(Math.max(0, rto - this.nowT))}` : '—'}</dd>
        <dt>ISS / IRS</dt>
        <dd>${s.iss ?? '—'} / ${s.irs ?? '—'}</dd>
        <dt>${t('ep.segsSent')}</dt>
        <dd>${s.segsSent}${s.retransmits ? ` (${t('ep.rexmits', { n: s.retransmits })})` : ''}</dd>
      </dl>`;
  }

  private renderOpts(s: SockView) {
    const o = s.opts;
    const parts: string[] = [];
    if (o.linger) parts.push(`SO_LINGER {${o.linger.onoff ? 1 : 0}, ${o.linger.lingerSec}}`);
    if (o.reuseAddr) parts.push('SO_REUSEADDR');
    if (o.nodelay) parts.push('TCP_NODELAY');
    if (o.nonblocking) parts.push('O_NONBLOCK');
    if (!parts.length) return nothing;
    return html`<div class="section-title">${t('ep.options')}</div>
      <div class="queue">${parts.map((p) => html`<span class="chip">${p}</span>`)}</div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tcp-endpoint': TcpEndpoint;
  }
}
