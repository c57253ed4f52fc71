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
  CLOSED: [80, 80],
  LISTEN: [255, 28],
  'SYN-SENT': [255, 132],
  'SYN-RECEIVED': [430, 28],
  ESTABLISHED: [605, 80],
  'FIN-WAIT-1': [780, 28],
  'CLOSE-WAIT': [780, 132],
  'FIN-WAIT-2': [955, 28],
  CLOSING: [955, 80],
  'LAST-ACK': [955, 132],
  'TIME-WAIT': [1130, 28],
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

const W = 150;
const H = 28;

function edgePath(from: TcpState, to: TcpState): string {
  const [x0, y0] = POS[from];
  const [x1, y1] = POS[to];
  if (from === 'TIME-WAIT' && to === 'CLOSED') {
    // down the right and under everything, back to CLOSED
    return `M${x0},${y0 + H / 2} L${x0},${166} L${x1 - 20},${166} L${x1 - 20},${y1 + H / 2}`;
  }
  if (from === 'LAST-ACK' && to === 'CLOSED') {
    return `M${x0},${y0 + H / 2} L${x0},${158} L${x1 + 20},${158} L${x1 + 20},${y1 + H / 2}`;
  }
  if (from === 'SYN-RECEIVED' && to === 'LISTEN') return `M${x0 - W / 2},${y0 + 7} L${x1 + W / 2},${y1 + 7}`;
  if (from === 'LISTEN' && to === 'SYN-RECEIVED') return `M${x0 + W / 2},${y0 - 7} L${x1 - W / 2},${y1 - 7}`;
  if (from === 'FIN-WAIT-1' && to === 'TIME-WAIT')
    return `M${x0 + W / 2},${y0 + 9} Q${(x0 + x1) / 2},${y1 + 44} ${x1 - W / 2 + 6},${y1 + H / 2}`;
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
        display: grid;
        grid-template-rows: auto minmax(0, 1fr);
        height: 100%;
        overflow: hidden;
        padding: 0.3rem 0.6rem 0.2rem;
      }
      svg {
        width: 100%;
        height: 100%;
        min-height: 0;
        font-family: var(--mono);
      }
      .node rect {
        fill: var(--surface);
        stroke: var(--line-strong);
        stroke-width: 1.2;
      }
      .node text {
        font-size: 13px;
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
        font-size: 12px;
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
      <svg viewBox="0 8 1210 164" role="img" aria-label=${this.aria(on)}>
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
            <text x=${here.length ? x - W / 2 + 9 : x} y=${y + 4.5} text-anchor=${here.length ? 'start' : 'middle'}>${st}</text>
            ${here.slice(0, 2).map((h, i) => {
              const tx = x + W / 2 - 4 - (Math.min(here.length, 2) - i) * 30;
              const ty = y - 9;
              return svg`<g class="tag">${
                h.side === 'A'
                  ? svg`<rect x=${tx} y=${ty} width="28" height="18" rx="3" fill="var(--a)"></rect>`
                  : svg`<rect x=${tx} y=${ty} width="28" height="18" rx="9" fill="var(--b)"></rect>`
              }<text x=${tx + 14} y=${ty + 13} text-anchor="middle">${h.side}${h.id}</text></g>`;
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
