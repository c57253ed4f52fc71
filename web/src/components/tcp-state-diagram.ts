/**
 * The RFC 9293 state diagram (Figure 5), laid out left to right: each endpoint's sockets are
 * marked on their states (A with a square tag, B with a round one, so colour is not the only
 * difference), and each side's last transition is drawn animated.
 */
import { css, html, LitElement, nothing, svg } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { TcpState } from '../../../shared/tcp/types.ts';
import { LocaleController, t, tk } from '../i18n/index.ts';
import type { RoomView, Transition } from '../model/endpoints.ts';
import type { Side } from '../model/history.ts';
import { base } from '../styles/theme.ts';

const POS: Record<TcpState, [number, number]> = {
  CLOSED: [70, 120],
  LISTEN: [215, 52],
  'SYN-SENT': [215, 190],
  'SYN-RECEIVED': [370, 52],
  ESTABLISHED: [520, 120],
  'FIN-WAIT-1': [670, 52],
  'CLOSE-WAIT': [670, 190],
  'FIN-WAIT-2': [815, 22],
  CLOSING: [815, 100],
  'LAST-ACK': [815, 190],
  'TIME-WAIT': [955, 62],
};

/** Figure 5's edges with their event / action. */
const EDGES: Array<[TcpState, TcpState, string]> = [
  ['CLOSED', 'LISTEN', 'passive OPEN / create TCB'],
  ['CLOSED', 'SYN-SENT', 'active OPEN / snd SYN'],
  ['LISTEN', 'SYN-RECEIVED', 'rcv SYN / snd SYN,ACK'],
  ['LISTEN', 'SYN-SENT', 'SEND / snd SYN'],
  ['SYN-SENT', 'SYN-RECEIVED', 'rcv SYN / snd ACK'],
  ['SYN-SENT', 'ESTABLISHED', 'rcv SYN,ACK / snd ACK'],
  ['SYN-RECEIVED', 'ESTABLISHED', 'rcv ACK of SYN'],
  ['SYN-RECEIVED', 'FIN-WAIT-1', 'CLOSE / snd FIN'],
  ['ESTABLISHED', 'FIN-WAIT-1', 'CLOSE / snd FIN'],
  ['ESTABLISHED', 'CLOSE-WAIT', 'rcv FIN / snd ACK'],
  ['FIN-WAIT-1', 'FIN-WAIT-2', 'rcv ACK of FIN'],
  ['FIN-WAIT-1', 'CLOSING', 'rcv FIN / snd ACK'],
  ['FIN-WAIT-2', 'TIME-WAIT', 'rcv FIN / snd ACK'],
  ['CLOSING', 'TIME-WAIT', 'rcv ACK of FIN'],
  ['CLOSE-WAIT', 'LAST-ACK', 'CLOSE / snd FIN'],
  ['LAST-ACK', 'CLOSED', 'rcv ACK of FIN'],
  ['TIME-WAIT', 'CLOSED', 'timeout = 2MSL'],
  ['LISTEN', 'CLOSED', 'CLOSE'],
  ['SYN-SENT', 'CLOSED', 'CLOSE'],
  ['SYN-RECEIVED', 'LISTEN', 'rcv RST'],
  ['FIN-WAIT-1', 'TIME-WAIT', 'rcv FIN,ACK / snd ACK'],
];

const W = 92;
const H = 30;

function edgePath(from: TcpState, to: TcpState): string {
  const [x0, y0] = POS[from];
  const [x1, y1] = POS[to];
  if (to === 'CLOSED' && (from === 'TIME-WAIT' || from === 'LAST-ACK')) {
    // around the bottom, back to CLOSED
    const yb = 236;
    const sx = from === 'TIME-WAIT' ? x0 + W / 2 - 6 : x0;
    const sy = from === 'TIME-WAIT' ? y0 + H / 2 : y0 + H / 2;
    return `M${sx},${sy} C${sx},${yb} ${sx - 40},${yb} ${(sx + x1) / 2},${yb} S${x1},${yb} ${x1},${y1 + H / 2}`;
  }
  if (from === 'SYN-RECEIVED' && to === 'LISTEN') return `M${x0 - W / 2},${y0 - 6} L${x1 + W / 2},${y1 - 6}`;
  if (from === 'LISTEN' && to === 'CLOSED') return `M${x0 - W / 2},${y0 + 6} L${x1 + 10},${y1 - H / 2}`;
  if (from === 'SYN-SENT' && to === 'CLOSED') return `M${x0 - W / 2},${y0 - 6} L${x1 + 10},${y1 + H / 2}`;
  if (from === 'FIN-WAIT-1' && to === 'TIME-WAIT')
    return `M${x0 + W / 2},${y0 + 6} Q${(x0 + x1) / 2},${y1 + 30} ${x1 - W / 2},${y1 + 6}`;
  // straight, from the box edge to the box edge
  const dx = x1 - x0;
  const dy = y1 - y0;
  const clip = (x: number, y: number, ux: number, uy: number) => {
    const tx = ux !== 0 ? W / 2 / Math.abs(ux) : Number.POSITIVE_INFINITY;
    const ty = uy !== 0 ? H / 2 / Math.abs(uy) : Number.POSITIVE_INFINITY;
    const k = Math.min(tx, ty);
    return [x + ux * k, y + uy * k];
  };
  const len = Math.hypot(dx, dy);
  const ux = dx / len;
  const uy = dy / len;
  const [sx, sy] = clip(x0, y0, ux, uy);
  const [ex, ey] = clip(x1, y1, -ux, -uy);
  return `M${sx},${sy} L${ex},${ey}`;
}

@customElement('tcp-state-diagram')
export class TcpStateDiagram extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: block;
        height: 100%;
        overflow: auto;
        padding: 0.3rem 0.6rem;
      }
      svg {
        width: 100%;
        height: 100%;
        min-height: 170px;
        max-height: 100%;
        font-family: var(--mono);
      }
      .node rect {
        fill: var(--surface);
        stroke: var(--line-strong);
        stroke-width: 1.2;
      }
      .node text {
        font-size: 11px;
        font-weight: 600;
        fill: var(--ink);
      }
      .node.on rect {
        fill: var(--accent-soft);
        stroke: var(--accent);
        stroke-width: 2;
      }
      .edge {
        fill: none;
        stroke: #9aa6b8;
        stroke-width: 1.2;
      }
      .edge.last {
        stroke-width: 3;
        stroke-dasharray: 8 5;
        animation: flow 0.9s linear infinite;
      }
      .edge.last.A {
        stroke: var(--a);
      }
      .edge.last.B {
        stroke: var(--b);
      }
      @keyframes flow {
        to {
          stroke-dashoffset: -26;
        }
      }
      .tag text {
        font-size: 10px;
        font-weight: 700;
        fill: #fff;
      }
      .legend {
        font-size: 0.78rem;
        color: var(--ink-soft);
        display: flex;
        gap: 1rem;
        flex-wrap: wrap;
      }
    `,
  ];

  @property({ attribute: false }) view: RoomView | undefined;
  /** The store's version: the live view is updated in place, so this is what says it changed. */
  @property({ type: Number }) version = 0;
  protected readonly locale = new LocaleController(this);

  override render() {
    const v = this.view;
    const on = new Map<TcpState, Array<{ side: Side; id: number }>>();
    const last: Partial<Record<Side, Transition>> = {};
    if (v) {
      for (const side of ['A', 'B'] as const) {
        for (const s of Object.values(v[side].socks)) {
          if (s.freed && s.state === 'CLOSED') continue;
          const list = on.get(s.state) ?? [];
          list.push({ side, id: s.id });
          on.set(s.state, list);
          if (s.last && (!last[side] || s.last.n > last[side]!.n)) last[side] = s.last;
        }
      }
    }
    const lastKey = (side: Side) => (last[side] ? `${last[side]!.from}>${last[side]!.to}` : '');
    return html`<div class="legend">
        <span>${t('diagram.title')}</span>
        ${(['A', 'B'] as const).map((side) =>
          last[side]
            ? html`<span
                ><span class="seat ${side}">${side}</span> ${t('diagram.last', { from: last[side]!.from, to: last[side]!.to })}
                ${last[side]!.cause ? html`<span class="muted">(${last[side]!.cause})</span>` : nothing}</span
              >`
            : nothing,
        )}
      </div>
      <svg viewBox="0 0 1010 250" role="img" aria-label=${this.aria(on)}>
        <defs>
          <marker id="arr" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" fill="#9aa6b8" />
          </marker>
          <marker id="arrA" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" fill="var(--a)" />
          </marker>
          <marker id="arrB" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" fill="var(--b)" />
          </marker>
        </defs>
        ${EDGES.map(([from, to, label]) => {
          const key = `${from}>${to}`;
          const sides = (['A', 'B'] as const).filter((s) => lastKey(s) === key);
          return svg`<path class="edge" d=${edgePath(from, to)} marker-end="url(#arr)"><title>${from} → ${to}: ${label}</title></path>
            ${sides.map((s) => svg`<path class="edge last ${s}" d=${edgePath(from, to)} marker-end="url(#arr${s})"><title>${s}: ${from} → ${to}</title></path>`)}`;
        })}
        ${(Object.keys(POS) as TcpState[]).map((st) => {
          const [x, y] = POS[st];
          const here = on.get(st) ?? [];
          return svg`<g class="node ${here.length ? 'on' : ''}">
            <title>${st}: ${tk(`state.${st}`, st)}</title>
            <rect x=${x - W / 2} y=${y - H / 2} width=${W} height=${H} rx="7"></rect>
            <text x=${x} y=${y + 4} text-anchor="middle">${st}</text>
            ${here.slice(0, 4).map((h, i) => {
              const tx = x - W / 2 + 4 + i * 24;
              const ty = y - H / 2 - 13;
              return svg`<g class="tag">${
                h.side === 'A'
                  ? svg`<rect x=${tx} y=${ty} width="22" height="14" rx="2" fill="var(--a)"></rect>`
                  : svg`<rect x=${tx} y=${ty} width="22" height="14" rx="7" fill="var(--b)"></rect>`
              }<text x=${tx + 11} y=${ty + 10.5} text-anchor="middle">${h.side}${h.id}</text></g>`;
            })}
          </g>`;
        })}
      </svg>`;
  }

  private aria(on: Map<TcpState, Array<{ side: Side; id: number }>>): string {
    const parts: string[] = [];
    for (const [st, list] of on) for (const h of list) parts.push(`${h.side} #${h.id}: ${st}`);
    return `${t('diagram.title')}. ${parts.join('; ')}`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tcp-state-diagram': TcpStateDiagram;
  }
}
