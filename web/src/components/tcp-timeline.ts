/**
 * The shared timeline: a ladder diagram on a canvas. A on the left, B on the right, time flowing
 * down; each segment an arrow from where it was sent to where it arrived (a ✕ half-way when it was
 * dropped, hanging mid-flight while held), labelled the way Wireshark labels it; state changes,
 * socket calls and room inputs written beside the lines; a live TIME-WAIT countdown.
 *
 * Two modes: `time` (y is virtual time, so an arrow's slope is the link delay; long idle stretches
 * with nothing in flight are folded and marked) and `events` (one row per drawn event).
 *
 * Rendering is virtualized: only what intersects the viewport is drawn, found by binary search
 * over the anchors' y positions (non-decreasing), so 10,000 segments cost what 30 do.
 */
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { emit } from '../events.ts';
import { getLocale, LocaleController, t, tk } from '../i18n/index.ts';
import { primarySock, type RoomView } from '../model/endpoints.ts';
import { callArgsText, inputText, resultText } from '../model/format.ts';
import type { EventItem, Side, WireResult } from '../model/history.ts';
import { AnchorKind, type Mark, type RoomStore } from '../model/room-store.ts';
import { fullInfo, hasData, isFlag, RST, type Segment, shortText, tagsText } from '../model/segments.ts';
import { base } from '../styles/theme.ts';
import { fmtT } from './ui.ts';

export type LadderMode = 'time' | 'events';

/** Pixels per virtual ms at zoom 1 (time mode) and row height (events mode). */
const PX_PER_MS = 0.16;
const ROW_PX = 24;
const HEADER_PX = 46;
const TOP_PAD = 18;
const BOTTOM_PAD = 90;
const GUTTER_PX = 62;
/** Idle stretches longer than this with nothing in flight are folded to `GAP_SHOW_MS`. */
const GAP_MS = 1500;
const GAP_SHOW_MS = 600;
/** Where along its first leg a segment's label is centred (0: sender, 1: receiver). */
const LABEL_AT = 0.45;
/** How far below its moment a mark's text may be pushed by the marks before it. */
const MAX_STACK_PX = 52;
/** Above this many segments on screen, labels and arrowheads are left out (zoom in to read). */
const DENSE_SEGMENTS = 400;
export const MIN_ZOOM = 0.1;
export const MAX_ZOOM = 12;

interface Colors {
  ink: string;
  soft: string;
  line: string;
  a: string;
  b: string;
  danger: string;
  warn: string;
  ok: string;
  accent: string;
  surface: string;
  bg: string;
  focus: string;
}

interface SegGeom {
  id: number;
  pts: number[];
}

interface SegDraw {
  seg: Segment;
  /** Screen coordinates: x0, y0, x1, y1, … */
  sp: number[];
  endKind: 'arrow' | 'cross' | 'open' | 'held';
  col: string;
  /** Index in DASHES: solid, retransmission, held, link copy. */
  dash: number;
  width: number;
  faded: boolean;
}

const DASHES: number[][] = [[], [8, 4], [2, 3], [1.5, 3]];

/** A written label: the x range of its text, the line through its middle (y = cy + rise·(x − cx)), its height. */
interface LabelLine {
  x0: number;
  x1: number;
  cx: number;
  cy: number;
  rise: number;
  h: number;
}

/** Do two labels overlap? Compares their middle lines where their x ranges overlap. */
function linesClash(a: LabelLine, b: LabelLine): boolean {
  const lo = Math.max(a.x0, b.x0);
  const hi = Math.min(a.x1, b.x1);
  if (lo >= hi) return false;
  const gap = (a.h + b.h) / 2;
  const dy = (x: number) => a.cy + a.rise * (x - a.cx) - (b.cy + b.rise * (x - b.cx));
  const d0 = dy(lo);
  const d1 = dy(hi);
  if (Math.sign(d0) !== Math.sign(d1)) return true;
  return Math.min(Math.abs(d0), Math.abs(d1)) < gap;
}

function addPolyline(p: Path2D, pts: number[]): void {
  p.moveTo(pts[0]!, pts[1]!);
  for (let k = 2; k < pts.length; k += 2) p.lineTo(pts[k]!, pts[k + 1]!);
}

/** A filled arrowhead at (x1, y1) pointing away from (x0, y0). */
function addHead(p: Path2D, x0: number, y0: number, x1: number, y1: number): void {
  const ang = Math.atan2(y1 - y0, x1 - x0);
  const len = 10;
  p.moveTo(x1, y1);
  p.lineTo(x1 - len * Math.cos(ang - 0.42), y1 - len * Math.sin(ang - 0.42));
  p.lineTo(x1 - len * Math.cos(ang + 0.42), y1 - len * Math.sin(ang + 0.42));
  p.closePath();
}

interface Hover {
  x: number;
  y: number;
  lines: string[];
  seg?: number;
}

/** Room a held segment's row of buttons takes (px), to keep two rows from overlapping. */
const HELD_ROW_HEIGHT = 36;
const HELD_ROW_WIDTH = 260;

interface HeldPos {
  id: number;
  x: number;
  y: number;
}

/**
 * What to point out on the ladder, e.g. the evidence of an exercise goal: each segment is
 * outlined with a ◆ beside it, each mark is a ◆ on its host's line at that moment, and `label`
 * says what they show in a legend that screen readers announce (not colour alone).
 */
export interface LadderHighlight {
  label: string;
  /** Segment ids, as numbered in the ladder. */
  segments: readonly number[];
  /** Moments on a host's line (state changes, calls, timers): virtual time (ms) and host. */
  marks?: ReadonlyArray<{ t: number; host: 'A' | 'B' }>;
}

function lowerBound(arr: ArrayLike<number>, n: number, v: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

@customElement('tcp-timeline')
export class TcpTimeline extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: block;
        position: relative;
        min-height: 0;
        background: var(--surface);
      }
      .wrap {
        position: absolute;
        inset: 0;
        overflow: hidden;
        cursor: default;
        touch-action: none;
      }
      .wrap:focus-visible {
        outline: 3px solid var(--focus);
        outline-offset: -3px;
      }
      canvas {
        position: absolute;
        inset: 0;
        width: 100%;
        height: 100%;
      }
      .tooltip {
        position: absolute;
        z-index: 5;
        max-width: 460px;
        pointer-events: none;
        background: #111827;
        color: #f9fafb;
        border-radius: 8px;
        padding: 0.45em 0.65em;
        font-family: var(--mono);
        font-size: 0.78rem;
        line-height: 1.45;
        box-shadow: var(--shadow);
        white-space: normal;
        overflow-wrap: anywhere;
      }
      .tooltip .tag {
        color: #fca5a5;
        font-weight: 700;
      }
      .held {
        position: absolute;
        z-index: 4;
        display: flex;
        gap: 4px;
        transform: translate(-50%, 6px);
      }
      .held .btn {
        box-shadow: var(--shadow);
        background: var(--surface);
      }
      .hl-legend {
        position: absolute;
        z-index: 3;
        bottom: 8px;
        left: 50%;
        transform: translateX(-50%);
        max-width: min(70%, 60ch);
        padding: 0.2em 0.6em;
        border: 2px solid var(--ok);
        border-radius: 7px;
        background: var(--surface);
        font-size: 0.8rem;
        box-shadow: var(--shadow);
        pointer-events: none;
      }
      .empty {
        position: absolute;
        left: 50%;
        top: 45%;
        transform: translate(-50%, -50%);
        color: var(--ink-soft);
        text-align: center;
        max-width: 32ch;
        line-height: 1.5;
        pointer-events: none;
      }
    `,
  ];

  @property({ attribute: false }) store!: RoomStore;
  @property({ type: Number }) version = 0;
  @property() mode: LadderMode = 'time';
  @property({ type: Number }) zoom = 1;
  @property({ type: Boolean }) absolute = false;
  /** Anchor the user scrubbed to; null while live. */
  @property({ attribute: false }) cursor: number | null = null;
  @property({ attribute: false }) selected: number | null = null;
  /** Endpoints at the cursor (or live), for the header states and TIME-WAIT. */
  @property({ attribute: false }) view: RoomView | undefined;
  /** May this user release or drop held segments? */
  @property({ type: Boolean }) canAct = false;
  /** A read-only view (an instructor watching): held segments get no release/drop buttons. */
  @property({ type: Boolean }) readonly = false;
  /** Segments and moments to point out (e.g. an exercise goal's evidence); null: none. */
  @property({ attribute: false }) highlight: LadderHighlight | null = null;

  @state() private _follow = true;
  @state() private _hover: Hover | null = null;
  @state() private _focusTip: Hover | null = null;
  @state() private _focused = false;
  @state() private _held: HeldPos[] = [];
  protected readonly locale = new LocaleController(this);

  private canvas: HTMLCanvasElement | undefined;
  private ctx: CanvasRenderingContext2D | null = null;
  private colors: Colors | undefined;
  private width = 0;
  private height = 0;
  private dpr = 1;
  private scrollY = 0;
  private raf = 0;
  private resizeObs: ResizeObserver | undefined;
  // Layout: y of every anchor, and per segment the running maximum of where it ends.
  private ys = new Float64Array(1024);
  private yCount = 0;
  private yKey = '';
  private gaps: Array<{ anchor: number; hiddenMs: number }> = [];
  private segMaxEnd = new Float64Array(1024);
  private segStable = 0;
  private drawnSegs: SegGeom[] = [];
  private readonly markCache = new Map<
    number,
    { fitted: string; color?: string; bold?: boolean; maxW: number; final: boolean; locale: string }
  >();
  private readonly labelCache = new Map<number, { key: string; shown: string; tags: string; w: number }>();
  private drag: { x: number; y: number; scroll: number; moved: boolean } | undefined;
  private firstFrameOf: RoomStore | undefined;
  /** Frame times of the last draws (ms), for the benchmark. */
  readonly frameTimes: number[] = [];

  override connectedCallback(): void {
    super.connectedCallback();
    this.resizeObs = new ResizeObserver(() => this.measure());
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.resizeObs?.disconnect();
    if (this.raf) cancelAnimationFrame(this.raf);
    this.raf = 0;
  }

  override firstUpdated(): void {
    this.canvas = this.renderRoot.querySelector('canvas')!;
    this.ctx = this.canvas.getContext('2d', { alpha: false });
    this.resizeObs?.observe(this.renderRoot.querySelector('.wrap')!);
    this.measure();
  }

  override updated(changed: PropertyValues<this>): void {
    if (changed.has('zoom') || changed.has('mode')) this.relayout(changed.get('zoom') as number | undefined);
    if (changed.has('selected') && this.selected !== null && changed.get('selected') !== undefined) {
      // keep the keyboard selection in view
    }
    // A room's whole history has just arrived: draw it in this frame, with the DOM update that
    // brought it, rather than one frame later.
    if (this.store?.synced && this.firstFrameOf !== this.store && this.ctx && this.width > 0) {
      if (this.raf) cancelAnimationFrame(this.raf);
      this.raf = 0;
      this.draw();
      return;
    }
    this.schedule();
  }

  private measure(): void {
    const wrap = this.renderRoot.querySelector('.wrap') as HTMLElement | null;
    if (!wrap || !this.canvas) return;
    const r = wrap.getBoundingClientRect();
    this.dpr = Math.min(2, globalThis.devicePixelRatio || 1);
    this.width = Math.max(200, Math.floor(r.width));
    this.height = Math.max(120, Math.floor(r.height));
    this.canvas.width = Math.floor(this.width * this.dpr);
    this.canvas.height = Math.floor(this.height * this.dpr);
    this.schedule();
  }

  /** Draw on the next frame (coalesced). */
  schedule(): void {
    if (this.raf) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = 0;
      this.draw();
    });
  }

  // ── layout ──────────────────────────────────────────────────────────────────────────────────

  private get pxPerMs(): number {
    return PX_PER_MS * this.zoom;
  }

  private get rowPx(): number {
    return ROW_PX * Math.sqrt(this.zoom);
  }

  private gapPx(dt: number, inFlight: number, anchor: number, record: boolean): number {
    if (dt > GAP_MS && inFlight === 0) {
      if (record) this.gaps.push({ anchor, hiddenMs: dt - GAP_SHOW_MS });
      return GAP_SHOW_MS * this.pxPerMs;
    }
    return dt * this.pxPerMs;
  }

  /** Brings `ys` up to date with the store's anchors (incrementally when only new ones came). */
  private layout(): void {
    const s = this.store;
    const n = s.anchorT.length;
    const key = `${this.mode}|${this.zoom}|${s.epoch}`;
    if (key !== this.yKey || n < this.yCount) {
      if (n < this.yCount || !key.endsWith(`|${s.epoch}`) || !this.yKey.endsWith(`|${s.epoch}`)) {
        this.markCache.clear();
        this.labelCache.clear();
      }
      this.yKey = key;
      this.yCount = 0;
      this.gaps = [];
      this.segStable = 0;
    }
    if (this.ys.length < n) {
      const next = new Float64Array(Math.max(n, this.ys.length * 2));
      next.set(this.ys.subarray(0, this.yCount));
      this.ys = next;
    }
    const ys = this.ys;
    const T = s.anchorT;
    const F = s.anchorInFlight;
    for (let i = this.yCount; i < n; i++) {
      if (i === 0) ys[0] = TOP_PAD;
      else if (this.mode === 'events') ys[i] = ys[i - 1]! + this.rowPx;
      else ys[i] = ys[i - 1]! + this.gapPx(T[i]! - T[i - 1]!, F[i]!, i, true);
    }
    this.yCount = n;
    // Running maximum of segment ends (open segments count by their start; they are drawn apart).
    const segs = s.segments.list;
    const m = segs.length;
    if (this.segMaxEnd.length < m) {
      const next = new Float64Array(Math.max(m, this.segMaxEnd.length * 2));
      next.set(this.segMaxEnd.subarray(0, this.segStable));
      this.segMaxEnd = next;
    }
    let firstOpen = m;
    for (let i = this.segStable; i < m; i++) {
      const a0 = s.segStart[i]!;
      const a1 = s.segEnd[i]!;
      let end = a0 >= 0 ? ys[a0]! : 0;
      if (a1 >= 0) end = Math.max(end, ys[a1]!) + this.dropExtent(segs[i]!);
      else if (firstOpen === m) firstOpen = i;
      const prev = i > 0 ? this.segMaxEnd[i - 1]! : 0;
      this.segMaxEnd[i] = Math.max(prev, end);
    }
    this.segStable = firstOpen;
  }

  private relayout(oldZoom: number | undefined): void {
    if (!this.store || this.yCount === 0) return;
    const center = this.scrollY + this.viewH / 2;
    const a = Math.min(this.yCount - 1, Math.max(0, lowerBound(this.ys, this.yCount, center)));
    const delta = center - this.ys[a]!;
    const ratio = oldZoom ? this.zoom / oldZoom : 1;
    this.yKey = '';
    this.layout();
    if (!this._follow) this.scrollY = Math.max(0, this.ys[a]! + delta * ratio - this.viewH / 2);
  }

  private get viewH(): number {
    return this.height - HEADER_PX;
  }

  private delayPx(seg: Segment): number {
    const link = this.store.info.link as Record<string, { delayMs?: number } | undefined>;
    const d = link?.[seg.from === 'A' ? 'AB' : 'BA']?.delayMs ?? 500;
    return this.mode === 'time' ? Math.max(d * this.pxPerMs, 16) : this.rowPx * 2;
  }

  /** How far below its last anchor a dropped or held segment's drawing reaches. */
  private dropExtent(seg: Segment): number {
    return seg.end?.fate === 'dropped' ? this.delayPx(seg) / 2 : 0;
  }

  /** y (content) of the present moment. */
  private nowY(): number {
    const s = this.store;
    const n = this.yCount;
    if (n === 0) return TOP_PAD;
    const last = this.ys[n - 1]!;
    if (this.mode === 'events') return last + this.rowPx;
    const dt = Math.max(0, s.nowT() - s.anchorT[n - 1]!);
    return last + (dt > GAP_MS && s.moving === 0 ? GAP_SHOW_MS * this.pxPerMs : dt * this.pxPerMs) + 4;
  }

  private contentH(): number {
    return this.nowY() + BOTTOM_PAD;
  }

  private maxScroll(): number {
    return Math.max(0, this.contentH() - this.viewH);
  }

  // ── drawing ─────────────────────────────────────────────────────────────────────────────────

  private readColors(): Colors {
    const cs = getComputedStyle(this);
    const v = (name: string, fallback: string) => cs.getPropertyValue(name).trim() || fallback;
    return {
      ink: v('--ink', '#141b26'),
      soft: v('--ink-soft', '#566176'),
      line: v('--line', '#dde2ea'),
      a: v('--a', '#1d4ed8'),
      b: v('--b', '#b4460b'),
      danger: v('--danger', '#b91c1c'),
      warn: v('--warn', '#b45309'),
      ok: v('--ok', '#15803d'),
      accent: v('--accent', '#1d4ed8'),
      surface: v('--surface', '#ffffff'),
      bg: v('--surface-2', '#f5f7fa'),
      focus: v('--focus', '#f59e0b'),
    };
  }

  private xs() {
    const w = this.width;
    const side = Math.max(118, Math.min(220, (w - GUTTER_PX) * 0.24));
    const xA = GUTTER_PX + side;
    const xB = w - side;
    return { xA, xB, side };
  }

  private draw(): void {
    const ctx = this.ctx;
    const s = this.store;
    if (!ctx || !s || this.width === 0) return;
    const t0 = performance.now();
    this.colors ??= this.readColors();
    const c = this.colors;
    this.layout();
    const max = this.maxScroll();
    if (this._follow) this.scrollY = max;
    this.scrollY = Math.min(Math.max(0, this.scrollY), max);
    const top = this.scrollY;
    const bottom = top + this.viewH;
    const Y = (y: number) => HEADER_PX + y - top;
    const { xA, xB, side } = this.xs();
    const W = this.width;
    const H = this.height;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = c.surface;
    ctx.fillRect(0, 0, W, H);
    // gutter
    ctx.fillStyle = c.bg;
    ctx.fillRect(0, HEADER_PX, GUTTER_PX, H - HEADER_PX);
    ctx.strokeStyle = c.line;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(GUTTER_PX + 0.5, HEADER_PX);
    ctx.lineTo(GUTTER_PX + 0.5, H);
    ctx.stroke();

    const cursorY = this.cursor !== null && this.cursor < this.yCount ? this.ys[this.cursor]! : undefined;
    const nowY = this.nowY();

    // folded gaps
    ctx.font = `11px ${getFontMono()}`;
    for (const g of this.gaps) {
      const y1 = this.ys[g.anchor]!;
      const y0 = y1 - GAP_SHOW_MS * this.pxPerMs;
      if (y1 < top || y0 > bottom) continue;
      this.drawGap(ctx, Y((y0 + y1) / 2), g.hiddenMs, W, c);
    }
    if (this.mode === 'time' && s.moving === 0 && this.yCount > 0) {
      const dt = s.nowT() - s.anchorT[this.yCount - 1]!;
      if (dt > GAP_MS) {
        const y1 = nowY - 4;
        const y0 = y1 - GAP_SHOW_MS * this.pxPerMs;
        if (y1 >= top && y0 <= bottom) this.drawGap(ctx, Y((y0 + y1) / 2), dt - GAP_SHOW_MS, W, c);
      }
    }

    // host lines
    const lineTop = HEADER_PX;
    const lineBottom = Math.min(H, Y(nowY));
    for (const [x, col] of [
      [xA, c.a],
      [xB, c.b],
    ] as const) {
      ctx.strokeStyle = col;
      ctx.lineWidth = 2.5;
      ctx.beginPath();
      ctx.moveTo(x, lineTop);
      ctx.lineTo(x, lineBottom);
      ctx.stroke();
    }

    // TIME-WAIT bars (behind the arrows)
    if (this.view) this.drawTimeWait(ctx, Y, xA, xB, side, cursorY ?? nowY, c);

    // time labels in the gutter
    this.drawGutter(ctx, top, bottom, Y, c);

    // marks beside the lines
    this.drawMarks(ctx, top, bottom, Y, xA, xB, side, c);

    // segments
    this.drawnSegs = [];
    const held = this.drawSegments(ctx, top, bottom, Y, xA, xB, c, nowY);
    this.drawHighlight(ctx, Y, xA, xB, c);

    // present moment
    if (this.cursor === null) {
      ctx.strokeStyle = c.soft;
      ctx.setLineDash([3, 4]);
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(GUTTER_PX, Y(nowY));
      ctx.lineTo(W, Y(nowY));
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = c.ink;
      ctx.font = `600 11px ${getFontMono()}`;
      ctx.textAlign = 'left';
      ctx.fillText(t('timeline.now'), 6, Y(nowY) - 4);
      ctx.font = `11px ${getFontMono()}`;
      ctx.fillText((s.nowT() / 1000).toFixed(3), 6, Y(nowY) + 11);
    } else if (cursorY !== undefined) {
      ctx.strokeStyle = c.focus;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(0, Y(cursorY));
      ctx.lineTo(W, Y(cursorY));
      ctx.stroke();
      ctx.fillStyle = c.ink;
      ctx.font = `700 11px ${getFontMono()}`;
      ctx.textAlign = 'left';
      ctx.fillText(`▶ ${((s.anchorT[this.cursor!] ?? 0) / 1000).toFixed(3)}`, 4, Y(cursorY) - 4);
    }

    // header band (drawn last: it covers what scrolls under it)
    this.drawHeader(ctx, xA, xB, W, c);

    // held segments' buttons: segments held at about the same moment hang at the same height
    // (mid-flight is mid-ladder for both directions), so their button rows are stacked apart.
    held.sort((p, q) => p.y - q.y || p.id - q.id);
    for (let i = 1; i < held.length; i++) {
      const prev = held[i - 1]!;
      const h = held[i]!;
      if (Math.abs(h.x - prev.x) < HELD_ROW_WIDTH && h.y < prev.y + HELD_ROW_HEIGHT)
        h.y = prev.y + HELD_ROW_HEIGHT;
    }
    const changed =
      held.length !== this._held.length ||
      held.some((h, i) => {
        const o = this._held[i]!;
        return o.id !== h.id || Math.abs(o.x - h.x) > 0.5 || Math.abs(o.y - h.y) > 0.5;
      });
    if (changed) this._held = held;

    // With the keyboard, the selected segment's full label shows as the pointer's would.
    let tip: Hover | null = null;
    if (this._focused && this.selected !== null && !this._hover) {
      const g = this.drawnSegs.find((d) => d.id === this.selected);
      const seg = g ? s.segments.get(g.id) : undefined;
      if (g && seg) {
        const x = (g.pts[0]! + g.pts[2]!) / 2;
        const y = (g.pts[1]! + g.pts[3]!) / 2;
        tip = { x, y: y + 8, lines: this.describeSegment(seg), seg: seg.id };
      }
    }
    const old = this._focusTip;
    if (
      tip?.seg !== old?.seg ||
      (tip && old && (Math.abs(tip.x - old.x) > 0.5 || Math.abs(tip.y - old.y) > 0.5))
    )
      this._focusTip = tip;

    const dt = performance.now() - t0;
    if (this.firstFrameOf !== s && s.synced) {
      this.firstFrameOf = s;
      performance.mark('tcplab:first-frame', {
        detail: { segments: s.segments.size, items: s.items.length },
      });
    }
    this.frameTimes.push(dt);
    if (this.frameTimes.length > 600) this.frameTimes.splice(0, 300);
    // keep animating while time runs (in-flight arrows, countdowns)
    if (this.cursor === null && s.clock.running) this.schedule();
  }

  /** The highlight: a band along each highlighted segment drawn, a ◆ beside it and on marked moments. */
  private drawHighlight(
    ctx: CanvasRenderingContext2D,
    Y: (y: number) => number,
    xA: number,
    xB: number,
    c: Colors,
  ): void {
    const h = this.highlight;
    if (!h) return;
    const ids = new Set(h.segments);
    const diamond = (x: number, y: number) => {
      ctx.beginPath();
      ctx.moveTo(x, y - 8);
      ctx.lineTo(x + 8, y);
      ctx.lineTo(x, y + 8);
      ctx.lineTo(x - 8, y);
      ctx.closePath();
      ctx.fillStyle = c.ok;
      ctx.fill();
      ctx.lineWidth = 2;
      ctx.strokeStyle = c.surface;
      ctx.stroke();
    };
    ctx.save();
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    for (const d of this.drawnSegs) {
      if (!ids.has(d.id)) continue;
      ctx.globalAlpha = 0.3;
      ctx.strokeStyle = c.ok;
      ctx.lineWidth = 14;
      this.path(ctx, d.pts);
      ctx.stroke();
      ctx.globalAlpha = 1;
      ctx.setLineDash([5, 4]);
      ctx.lineWidth = 1.5;
      ctx.stroke();
      ctx.setLineDash([]);
      // the ◆ near the sender, on the first leg
      const p = d.pts;
      diamond(p[0]! + (p[2]! - p[0]!) * 0.18, p[1]! + (p[3]! - p[1]!) * 0.18);
    }
    const s = this.store;
    for (const m of h.marks ?? []) {
      const a = Math.min(this.yCount - 1, lowerBound(s.anchorT, this.yCount, m.t));
      if (a < 0) continue;
      diamond(m.host === 'A' ? xA : xB, Y(this.ys[a]!));
    }
    ctx.restore();
  }

  /** Scrolls to the first highlighted segment or moment (the earliest on the ladder). */
  revealHighlight(): void {
    const h = this.highlight;
    if (!h || !this.store) return;
    this.layout();
    const s = this.store;
    const anchors: number[] = [];
    for (const id of h.segments) {
      const seg = s.segments.get(id);
      const a = seg ? s.segStart[seg.index]! : -1;
      if (a >= 0) anchors.push(a);
    }
    for (const m of h.marks ?? [])
      anchors.push(Math.min(this.yCount - 1, lowerBound(s.anchorT, this.yCount, m.t)));
    const first = Math.min(...anchors.filter((a) => a >= 0 && a < this.yCount));
    if (!Number.isFinite(first)) return;
    const y = this.ys[first]!;
    this.scrollY = Math.max(0, Math.min(this.maxScroll(), y - this.viewH / 4));
    this.setFollow(this.scrollY >= this.maxScroll() - 2);
    this.schedule();
  }

  private drawGap(ctx: CanvasRenderingContext2D, y: number, hiddenMs: number, W: number, c: Colors): void {
    ctx.save();
    ctx.fillStyle = c.bg;
    ctx.fillRect(GUTTER_PX + 1, y - 9, W - GUTTER_PX, 18);
    ctx.strokeStyle = c.line;
    ctx.beginPath();
    for (let x = GUTTER_PX + 2; x < W; x += 12) {
      ctx.moveTo(x, y - 9);
      ctx.lineTo(x + 6, y + 9);
    }
    ctx.stroke();
    ctx.fillStyle = c.soft;
    ctx.textAlign = 'center';
    ctx.fillText(t('timeline.gap', { s: (hiddenMs / 1000).toFixed(1) }), (GUTTER_PX + W) / 2, y + 4);
    ctx.restore();
  }

  private drawHeader(ctx: CanvasRenderingContext2D, xA: number, xB: number, W: number, c: Colors): void {
    ctx.fillStyle = c.surface;
    ctx.fillRect(0, 0, W, HEADER_PX);
    ctx.strokeStyle = c.line;
    ctx.beginPath();
    ctx.moveTo(0, HEADER_PX - 0.5);
    ctx.lineTo(W, HEADER_PX - 0.5);
    ctx.stroke();
    const addrs = this.store.info.addrs;
    for (const side of ['A', 'B'] as const) {
      const x = side === 'A' ? xA : xB;
      const col = side === 'A' ? c.a : c.b;
      // seat badge: a square for A, a circle for B (not colour alone)
      ctx.fillStyle = col;
      if (side === 'A') ctx.fillRect(x - 11, 6, 22, 22);
      else {
        ctx.beginPath();
        ctx.arc(x, 17, 11, 0, Math.PI * 2);
        ctx.fill();
      }
      ctx.fillStyle = '#fff';
      ctx.font = `700 13px ${getFont()}`;
      ctx.textAlign = 'center';
      ctx.fillText(side, x, 22);
      ctx.fillStyle = c.ink;
      ctx.font = `11px ${getFontMono()}`;
      const st = this.view ? primarySock(this.view[side])?.state : undefined;
      ctx.textAlign = side === 'A' ? 'right' : 'left';
      const tx = side === 'A' ? x - 16 : x + 16;
      ctx.fillText(addrs?.[side] ?? '', tx, st ? 14 : 21);
      if (st) {
        ctx.font = `700 11px ${getFontMono()}`;
        ctx.fillText(st, tx, 28);
      }
    }
    ctx.fillStyle = c.soft;
    ctx.font = `10px ${getFont()}`;
    ctx.textAlign = 'left';
    ctx.fillText(
      this.mode === 'time' ? t('timeline.gutterTime') : t('timeline.gutterEvents'),
      6,
      HEADER_PX - 8,
    );
  }

  private drawGutter(
    ctx: CanvasRenderingContext2D,
    top: number,
    bottom: number,
    Y: (y: number) => number,
    c: Colors,
  ): void {
    const s = this.store;
    let i = lowerBound(this.ys, this.yCount, top - 10);
    let lastY = Number.NEGATIVE_INFINITY;
    let lastT = Number.NaN;
    ctx.font = `10.5px ${getFontMono()}`;
    ctx.textAlign = 'right';
    ctx.fillStyle = c.soft;
    ctx.strokeStyle = c.line;
    for (; i < this.yCount; i++) {
      const y = this.ys[i]!;
      if (y > bottom + 10) break;
      const tt = s.anchorT[i]!;
      if (y - lastY < 26 || tt === lastT) continue;
      lastY = y;
      lastT = tt;
      const faded = this.cursor !== null && i > this.cursor;
      ctx.globalAlpha = faded ? 0.35 : 1;
      ctx.fillText((tt / 1000).toFixed(3), GUTTER_PX - 6, Y(y) + 3.5);
      ctx.beginPath();
      ctx.moveTo(GUTTER_PX - 3, Y(y) + 0.5);
      ctx.lineTo(GUTTER_PX, Y(y) + 0.5);
      ctx.stroke();
    }
    ctx.globalAlpha = 1;
  }

  private markText(m: Mark): { text: string; color?: string; bold?: boolean } {
    const s = this.store;
    const item = s.items[m.item] as EventItem;
    const e = item.event as Record<string, unknown> & { type: string };
    switch (m.kind) {
      case AnchorKind.State:
        return { text: `→ ${String(e.to)}`, bold: true };
      case AnchorKind.Call: {
        const ret = s.returns.get(`${e.host}:${e.callId}`);
        const blockedLater = ret && ret.t > item.t;
        const r = ret && !blockedLater ? (ret.event as { result?: WireResult }).result : undefined;
        const call = callArgsText(
          String(e.op),
          e.fd as number | undefined,
          (e.args ?? {}) as Record<string, unknown>,
          Number(e.pid ?? 1),
        );
        const failed = r && !r.ok;
        return {
          text: `${call} = ${r ? resultText(String(e.op), r) : '…'}`,
          ...(failed ? { color: this.colors!.danger } : {}),
        };
      }
      case AnchorKind.Return: {
        const r = e.result as WireResult | undefined;
        return {
          text: `⤶ ${String(e.op)}(${e.fd ?? ''}) = ${resultText(String(e.op), r)}`,
          ...(r && !r.ok ? { color: this.colors!.danger } : {}),
        };
      }
      case AnchorKind.Discard:
        return { text: `⊘ ${tk(`discard.${e.reason}`, String(e.reason))}`, color: this.colors!.danger };
      case AnchorKind.Timer:
        return {
          text: e.kind === 'retransmit' ? `◷ ${t('timeline.rtoFired')}` : `◷ ${String(e.kind)}`,
          color: this.colors!.warn,
        };
      default:
        return { text: inputText(e) };
    }
  }

  private drawMarks(
    ctx: CanvasRenderingContext2D,
    top: number,
    bottom: number,
    Y: (y: number) => number,
    xA: number,
    xB: number,
    side: number,
    c: Colors,
  ): void {
    const s = this.store;
    const marks = s.marks;
    // first mark at or below the top
    let lo = 0;
    let hi = marks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ys[marks[mid]!.anchor]! < top - 40) lo = mid + 1;
      else hi = mid;
    }
    const lastY: Record<string, number> = { A: -1e9, B: -1e9, C: -1e9 };
    const maxW = side - 16;
    for (let i = lo; i < marks.length; i++) {
      const m = marks[i]!;
      if (m.anchor >= this.yCount) break;
      const trueY = this.ys[m.anchor]!;
      if (trueY > bottom + 20) break;
      const y = Math.max(trueY, lastY[m.side]! + 13);
      // A few marks at one moment stack up (socket, bind, listen, accept); beyond that it is too
      // crowded to write (zoom in to read) and a tick on the line says something happened.
      const crowded = y - trueY > MAX_STACK_PX;
      if (!crowded) lastY[m.side] = y;
      ctx.globalAlpha = this.cursor !== null && m.anchor > this.cursor ? 0.25 : 1;
      if (crowded) {
        if (m.side !== 'C') {
          ctx.fillStyle = c.soft;
          ctx.fillRect((m.side === 'A' ? xA : xB) - 2, Y(trueY) - 1, 4, 2);
        }
        continue;
      }
      const cached = this.markLabel(ctx, i, m, m.side === 'C' ? xB - xA - 20 : maxW);
      const { color, bold } = cached;
      const text = cached.fitted;
      ctx.font = `${bold ? '600 ' : ''}11px ${getFontMono()}`;
      if (m.side === 'C') {
        ctx.strokeStyle = c.soft;
        ctx.setLineDash([2, 3]);
        ctx.beginPath();
        ctx.moveTo(xA, Y(y));
        ctx.lineTo(xB, Y(y));
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.textAlign = 'center';
        this.haloText(ctx, text, (xA + xB) / 2, Y(y) - 3, color ?? c.soft, c.surface);
        continue;
      }
      const x = m.side === 'A' ? xA : xB;
      const dir = m.side === 'A' ? -1 : 1;
      // a dot on the line
      ctx.fillStyle = m.kind === AnchorKind.State ? (m.side === 'A' ? c.a : c.b) : c.soft;
      ctx.beginPath();
      if (m.kind === AnchorKind.State) ctx.rect(x - 3.5, Y(trueY) - 3.5, 7, 7);
      else ctx.arc(x, Y(trueY), 2.5, 0, Math.PI * 2);
      ctx.fill();
      if (y - trueY > 1) {
        // a leader from where it happened to where its text had to go
        ctx.strokeStyle = c.line;
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(x + dir * 3, Y(trueY));
        ctx.lineTo(x + dir * 7, Y(y));
        ctx.stroke();
      }
      ctx.textAlign = m.side === 'A' ? 'right' : 'left';
      const tx = x + dir * 9;
      ctx.fillStyle = color ?? (m.kind === AnchorKind.State ? c.ink : c.soft);
      ctx.fillText(text, tx, Y(y) + 4);
    }
    ctx.globalAlpha = 1;
  }

  /**
   * A mark's text fitted to `maxW`, cached: a call's text is final once its result is known, so
   * strings (and the base64 of a recv() result) are not rebuilt at every frame.
   */
  private markLabel(
    ctx: CanvasRenderingContext2D,
    index: number,
    m: Mark,
    maxW: number,
  ): { fitted: string; color?: string; bold?: boolean } {
    const hit = this.markCache.get(index);
    const locale = getLocale();
    if (hit && hit.maxW === maxW && hit.final && hit.locale === locale) return hit;
    const r = this.markText(m);
    const final = m.kind !== AnchorKind.Call || r.text.slice(-1) !== '…';
    ctx.font = `${r.bold ? '600 ' : ''}11px ${getFontMono()}`;
    const fitted = fitText(ctx, m.side === 'C' ? `▸ ${r.text}` : r.text, maxW);
    const entry = { ...r, fitted, maxW, final, locale };
    this.markCache.set(index, entry);
    return entry;
  }

  private drawTimeWait(
    ctx: CanvasRenderingContext2D,
    Y: (y: number) => number,
    xA: number,
    xB: number,
    side: number,
    atY: number,
    c: Colors,
  ): void {
    const v = this.view!;
    const s = this.store;
    const nowT = this.cursor === null ? s.nowT() : (s.anchorT[this.cursor] ?? 0);
    for (const sd of ['A', 'B'] as const) {
      for (const sock of Object.values(v[sd].socks)) {
        if (sock.state !== 'TIME-WAIT' || !sock.last) continue;
        const deadline = sock.timers['time-wait'];
        const itemIndex = s.indexOfN(sock.last.n);
        const a = itemIndex >= 0 ? s.itemAnchor[itemIndex]! : -1;
        if (a < 0 || a >= this.yCount) continue;
        const y0 = this.ys[a]!;
        const x = sd === 'A' ? xA : xB;
        ctx.fillStyle = `${c.warn}33`;
        ctx.fillRect(x - 6, Y(y0), 12, Math.max(0, Y(atY) - Y(y0)));
        ctx.strokeStyle = c.warn;
        ctx.setLineDash([4, 3]);
        ctx.strokeRect(x - 6, Y(y0), 12, Math.max(0, Y(atY) - Y(y0)));
        ctx.setLineDash([]);
        if (deadline !== undefined) {
          const left = Math.max(0, deadline - nowT);
          const text = `◷ TIME-WAIT ${t('timeline.left', { s: (left / 1000).toFixed(1) })}`;
          ctx.font = `700 12px ${getFontMono()}`;
          ctx.textAlign = sd === 'A' ? 'right' : 'left';
          const tx = sd === 'A' ? x - 10 : x + 10;
          this.haloText(ctx, fitText(ctx, text, side - 12), tx, Y(atY) - 8, c.warn, c.surface);
        }
      }
    }
  }

  private haloText(
    ctx: CanvasRenderingContext2D,
    text: string,
    x: number,
    y: number,
    fill: string,
    halo: string,
  ) {
    ctx.lineWidth = 4;
    ctx.lineJoin = 'round';
    ctx.strokeStyle = halo;
    ctx.strokeText(text, x, y);
    ctx.fillStyle = fill;
    ctx.fillText(text, x, y);
  }

  private drawSegments(
    ctx: CanvasRenderingContext2D,
    top: number,
    bottom: number,
    Y: (y: number) => number,
    xA: number,
    xB: number,
    c: Colors,
    nowY: number,
  ): HeldPos[] {
    const s = this.store;
    const segs = s.segments.list;
    const m = segs.length;
    const held: HeldPos[] = [];
    // Candidates: closed segments whose running maximum end reaches the viewport, up to the first
    // that starts below it; plus the few still open (in flight or held).
    const first = lowerBound(this.segMaxEnd, Math.min(this.segStable, m), top - 30);
    const todo: number[] = [];
    for (let i = first; i < m; i++) {
      const a0 = s.segStart[i]!;
      if (a0 < 0 || a0 >= this.yCount) continue;
      if (this.ys[a0]! > bottom + 30) {
        if (i >= this.segStable) continue;
        break;
      }
      todo.push(i);
    }
    for (const i of s.open) if (i < first) todo.push(i);
    const geoms: SegDraw[] = [];
    for (const i of todo) {
      const g = this.geometry(segs[i]!, i, Y, xA, xB, c, nowY, top, bottom, held);
      if (g) geoms.push(g);
    }
    // Lines, batched by style: one stroke per colour, dash, width and fade.
    const batches = new Map<string, { path: Path2D; g: SegDraw }>();
    for (const g of geoms) {
      const key = `${g.col}|${g.dash}|${g.width}|${g.faded ? 1 : 0}`;
      let b = batches.get(key);
      if (!b) {
        b = { path: new Path2D(), g };
        batches.set(key, b);
      }
      addPolyline(b.path, g.sp);
    }
    ctx.lineCap = 'butt';
    for (const { path, g } of batches.values()) {
      ctx.globalAlpha = g.faded ? 0.22 : 1;
      ctx.strokeStyle = g.col;
      ctx.lineWidth = g.width;
      ctx.setLineDash(DASHES[g.dash]!);
      ctx.stroke(path);
    }
    ctx.setLineDash([]);
    // Too many to read (zoomed far out): lines only, no heads or labels, except the selection.
    const dense = geoms.length > DENSE_SEGMENTS;
    // Ends: arrowheads batched by colour, crosses in one path.
    const heads = new Map<string, Path2D>();
    const crosses = new Path2D();
    let anyCross = false;
    for (const g of geoms) {
      const sp = g.sp;
      const n = sp.length;
      if (g.endKind === 'arrow' && !dense) {
        const key = `${g.col}|${g.faded ? 1 : 0}`;
        let p = heads.get(key);
        if (!p) heads.set(key, (p = new Path2D()));
        addHead(p, sp[n - 4]!, sp[n - 3]!, sp[n - 2]!, sp[n - 1]!);
      } else if (g.endKind === 'cross') {
        const ex = sp[n - 2]!;
        const ey = sp[n - 1]!;
        crosses.moveTo(ex - 7, ey - 7);
        crosses.lineTo(ex + 7, ey + 7);
        crosses.moveTo(ex + 7, ey - 7);
        crosses.lineTo(ex - 7, ey + 7);
        anyCross = true;
      }
    }
    for (const [key, p] of heads) {
      const [col, faded] = key.split('|');
      ctx.globalAlpha = faded === '1' ? 0.22 : 1;
      ctx.fillStyle = col!;
      ctx.fill(p);
    }
    ctx.globalAlpha = 1;
    if (anyCross) {
      ctx.strokeStyle = c.danger;
      ctx.lineWidth = 3;
      ctx.stroke(crosses);
    }
    for (const g of geoms) this.drawSpecialEnd(ctx, g, c);
    // Labels, skipping those that would overlap one already written.
    const labels: LabelLine[] = [];
    const special: SegDraw[] = [];
    for (const g of geoms) {
      if (g.seg.id === this.selected || g.seg.id === this._hover?.seg) special.push(g);
      else if (!dense) this.drawLabel(ctx, g, xA, xB, c, labels, false);
    }
    // The selected and hovered segments on top, highlighted, with their labels always written.
    for (const g of special) {
      ctx.globalAlpha = 1;
      ctx.strokeStyle = `${c.focus}99`;
      ctx.lineWidth = 8;
      ctx.lineCap = 'round';
      this.path(ctx, g.sp);
      ctx.stroke();
      ctx.lineCap = 'butt';
      ctx.strokeStyle = g.col;
      ctx.lineWidth = g.width;
      ctx.setLineDash(DASHES[g.dash]!);
      this.path(ctx, g.sp);
      ctx.stroke();
      ctx.setLineDash([]);
      const n = g.sp.length;
      if (g.endKind === 'arrow') {
        const p = new Path2D();
        addHead(p, g.sp[n - 4]!, g.sp[n - 3]!, g.sp[n - 2]!, g.sp[n - 1]!);
        ctx.fillStyle = g.col;
        ctx.fill(p);
      }
      this.drawLabel(ctx, g, xA, xB, c, labels, true);
    }
    ctx.globalAlpha = 1;
    return held;
  }

  /** Where a segment is drawn (screen coordinates), or undefined when it is off screen. */
  private geometry(
    seg: Segment,
    i: number,
    Y: (y: number) => number,
    xA: number,
    xB: number,
    c: Colors,
    nowY: number,
    top: number,
    bottom: number,
    held: HeldPos[],
  ): SegDraw | undefined {
    const s = this.store;
    const a0 = s.segStart[i]!;
    const aEnd = s.segEnd[i]!;
    const aHeld = s.segHeld[i]!;
    const aRel = s.segRelease[i]!;
    const y0 = this.ys[a0]!;
    const x0 = seg.from === 'A' ? xA : xB;
    const x1 = seg.from === 'A' ? xB : xA;
    const xm = (x0 + x1) / 2;
    const delay = this.delayPx(seg);
    const pts: number[] = [x0, y0];
    let endKind: SegDraw['endKind'] = 'arrow';
    let hang: number[] | undefined;
    if (aHeld >= 0) {
      const yh = Math.max(this.ys[aHeld]!, y0) + delay / 2;
      pts.push(xm, yh);
      if (aRel >= 0 || aEnd >= 0) {
        const yr = aRel >= 0 ? Math.max(this.ys[aRel]!, yh) : yh;
        pts.push(xm, yr);
        if (aEnd >= 0 && seg.end?.fate === 'arrived') pts.push(x1, Math.max(this.ys[aEnd]!, yr + 2));
        else if (aEnd >= 0) endKind = 'cross';
        else {
          const yl = Math.min(nowY, yr + delay / 2);
          const f = Math.min(0.95, (yl - yr) / Math.max(1, delay / 2));
          pts.push(xm + (x1 - xm) * f, yl);
          endKind = 'open';
        }
      } else {
        pts.push(xm, Math.max(yh, nowY));
        endKind = 'held';
        hang = [xm, yh];
      }
    } else if (aEnd >= 0) {
      if (seg.end!.fate === 'dropped') {
        pts.push(xm, Math.max(this.ys[aEnd]!, y0) + delay / 2);
        endKind = 'cross';
      } else {
        pts.push(x1, Math.max(this.ys[aEnd]!, y0 + 1));
      }
    } else {
      // in flight: grow towards the receiver along the expected slope
      const yl = Math.min(nowY, y0 + delay);
      const f = Math.min(0.96, Math.max(0.02, (yl - y0) / delay));
      pts.push(x0 + (x1 - x0) * f, y0 + (yl - y0));
      endKind = 'open';
    }
    let minY = Number.POSITIVE_INFINITY;
    let maxY = Number.NEGATIVE_INFINITY;
    for (let k = 1; k < pts.length; k += 2) {
      minY = Math.min(minY, pts[k]!);
      maxY = Math.max(maxY, pts[k]!);
    }
    if (maxY < top - 20 || minY > bottom + 20) return undefined;
    for (let k = 1; k < pts.length; k += 2) pts[k] = Y(pts[k]!);
    if (hang && this.cursor === null) held.push({ id: seg.id, x: hang[0]!, y: Y(hang[1]!) });
    this.drawnSegs.push({ id: seg.id, pts });
    const rexmit = seg.tags.some((tg) => tg.kind === 'retransmission' || tg.kind === 'fast-retransmission');
    return {
      seg,
      sp: pts,
      endKind,
      col: isFlag(seg, RST) ? c.danger : seg.from === 'A' ? c.a : c.b,
      dash: rexmit ? 1 : endKind === 'held' ? 2 : seg.copyOf ? 3 : 0,
      width: hasData(seg) ? 2.6 : 1.5,
      faded: this.cursor !== null && s.segStart[i]! > this.cursor,
    };
  }

  /** Open heads (in flight), the held badge and the discarded mark: rare, drawn one by one. */
  private drawSpecialEnd(ctx: CanvasRenderingContext2D, g: SegDraw, c: Colors): void {
    const sp = g.sp;
    const n = sp.length;
    ctx.globalAlpha = g.faded ? 0.22 : 1;
    if (g.endKind === 'open') {
      const p = new Path2D();
      addHead(p, sp[n - 4]!, sp[n - 3]!, sp[n - 2]!, sp[n - 1]!);
      ctx.fillStyle = c.surface;
      ctx.fill(p);
      ctx.strokeStyle = g.col;
      ctx.lineWidth = 1.5;
      ctx.stroke(p);
    } else if (g.endKind === 'held') {
      const hx = sp[2]!;
      const hy = sp[3]!;
      ctx.fillStyle = c.warn;
      ctx.beginPath();
      ctx.arc(hx, hy, 9, 0, Math.PI * 2);
      ctx.fill();
      ctx.fillStyle = '#fff';
      ctx.fillRect(hx - 4, hy - 4.5, 3, 9);
      ctx.fillRect(hx + 1, hy - 4.5, 3, 9);
    } else if (g.endKind === 'arrow' && g.seg.discard) {
      ctx.fillStyle = c.danger;
      ctx.font = `700 13px ${getFont()}`;
      ctx.textAlign = 'center';
      ctx.fillText('⊘', sp[n - 2]! + (g.seg.to === 'A' ? 12 : -12), sp[n - 1]! + 4);
    }
    ctx.globalAlpha = 1;
  }

  /** The label along the first leg, unless it would overlap a label already written. */
  private drawLabel(
    ctx: CanvasRenderingContext2D,
    g: SegDraw,
    xA: number,
    xB: number,
    c: Colors,
    labels: LabelLine[],
    force: boolean,
  ): void {
    const sp = g.sp;
    const seg = g.seg;
    // a little before the middle, so that a reply's label does not meet this one where they join
    const lx = sp[0]! + (sp[2]! - sp[0]!) * LABEL_AT;
    const ly = sp[1]! + (sp[3]! - sp[1]!) * LABEL_AT;
    let dx = sp[2]! - sp[0]!;
    let dy = sp[3]! - sp[1]!;
    if (dx < 0) {
      dx = -dx;
      dy = -dy;
    }
    const ang = Math.atan2(dy, dx);
    const along = Math.abs(ang) < 0.62;
    const legLen = Math.hypot(sp[2]! - sp[0]!, sp[3]! - sp[1]!);
    const span = Math.abs(xB - xA) - 22;
    const maxW = Math.max(60, along ? Math.max(legLen * 0.86, g.endKind === 'cross' ? span * 0.8 : 0) : span);
    const lab = this.segLabel(ctx, seg, maxW);
    const w = lab.w;
    const h = lab.tags ? 26 : 13;
    const cos = Math.cos(ang);
    // The label as the line its text sits on (rotated labels are not boxes on the screen's axes).
    const rise = along ? Math.tan(ang) : 0;
    const cy = ly - (h + 6) / 2;
    const line: LabelLine = {
      x0: lx - (w / 2) * (along ? cos : 1),
      x1: lx + (w / 2) * (along ? cos : 1),
      cx: lx,
      cy,
      rise,
      h,
    };
    if (!force) {
      // Labels come roughly in y order: checking the last few is enough.
      for (let k = labels.length - 1; k >= 0 && k >= labels.length - 12; k--)
        if (linesClash(line, labels[k]!)) return;
    }
    labels.push(line);
    ctx.globalAlpha = g.faded ? 0.22 : 1;
    ctx.save();
    ctx.translate(lx, ly);
    if (along) ctx.rotate(ang);
    ctx.textAlign = 'center';
    ctx.font = `${hasData(seg) ? '600 ' : ''}11px ${getFontMono()}`;
    this.haloText(ctx, lab.shown, 0, -4, c.ink, c.surface);
    if (lab.tags) {
      ctx.font = `700 11px ${getFontMono()}`;
      this.haloText(ctx, lab.tags, 0, -17, c.danger, c.surface);
    }
    ctx.restore();
    ctx.globalAlpha = 1;
  }

  /** A segment's label fitted to `maxW` (cached until its numbers, tags or the width change). */
  private segLabel(
    ctx: CanvasRenderingContext2D,
    seg: Segment,
    maxW: number,
  ): { shown: string; tags: string; w: number } {
    const key = `${this.absolute ? 1 : 0}|${seg.tags.length}|${Math.round(maxW / 8)}`;
    const hit = this.labelCache.get(seg.id);
    if (hit && hit.key === key) return hit;
    ctx.font = `${hasData(seg) ? '600 ' : ''}11px ${getFontMono()}`;
    const shown = fitText(ctx, `#${seg.id} ${shortText(seg, { absolute: this.absolute })}`, maxW);
    const w = ctx.measureText(shown).width;
    const tagText = tagsText(seg);
    ctx.font = `700 11px ${getFontMono()}`;
    const tags = tagText ? fitText(ctx, tagText, maxW) : '';
    const entry = { key, shown, tags, w };
    this.labelCache.set(seg.id, entry);
    return entry;
  }

  private path(ctx: CanvasRenderingContext2D, p: number[]): void {
    ctx.beginPath();
    ctx.moveTo(p[0]!, p[1]!);
    for (let k = 2; k < p.length; k += 2) ctx.lineTo(p[k]!, p[k + 1]!);
  }

  // ── interaction ─────────────────────────────────────────────────────────────────────────────

  private hit(x: number, y: number): number | undefined {
    let best: number | undefined;
    let bestD = 7;
    for (const g of this.drawnSegs) {
      const p = g.pts;
      for (let k = 0; k + 3 < p.length; k += 2) {
        const d = distToSegment(x, y, p[k]!, p[k + 1]!, p[k + 2]!, p[k + 3]!);
        if (d < bestD) {
          bestD = d;
          best = g.id;
        }
      }
    }
    return best;
  }

  private markAt(x: number, y: number): Mark | undefined {
    const s = this.store;
    const contentY = y - HEADER_PX + this.scrollY;
    const { xA, xB } = this.xs();
    const side: Side | 'C' = x < xA ? 'A' : x > xB ? 'B' : 'C';
    let lo = 0;
    let hi = s.marks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ys[s.marks[mid]!.anchor]! < contentY - 8) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < s.marks.length; i++) {
      const m = s.marks[i]!;
      const my = this.ys[m.anchor]!;
      if (my > contentY + 8) break;
      if (m.side === side || (side === 'C' && m.side === 'C')) return m;
    }
    return undefined;
  }

  private describeMark(m: Mark): string[] {
    const s = this.store;
    const item = s.items[m.item] as EventItem;
    const e = item.event as Record<string, unknown>;
    const head = `${fmtT(item.t)}  ${m.side === 'C' ? '' : `${m.side}  `}`;
    switch (m.kind) {
      case AnchorKind.State:
        return [
          `${head}${t('timeline.stateChange', { sock: String(e.sock), from: String(e.from), to: String(e.to) })}`,
          `${t('timeline.cause')}: ${String(e.cause)}`,
        ];
      case AnchorKind.Call:
      case AnchorKind.Return: {
        const ret = s.returns.get(`${e.host}:${e.callId}`);
        const r = (ret?.event as { result?: WireResult } | undefined)?.result;
        const lines = [`${head}${this.markText(m).text}`];
        if (r && !r.ok) lines.push(r.message);
        if (ret && ret.t > item.t)
          lines.push(t('timeline.blockedFor', { s: ((ret.t - item.t) / 1000).toFixed(3) }));
        return lines;
      }
      case AnchorKind.Discard:
        return [`${head}${t('timeline.discarded')}: ${String(e.reason)}`, String(e.detail ?? '')];
      default:
        return [`${head}${this.markText(m).text}`];
    }
  }

  /**
   * The ladder as text, one line per segment in the order they were sent:
   * `#3 A→B [ACK] Seq=1 Ack=1 Win=65535 Len=0 · arrived`. Used by "copy as text" and the tests.
   */
  ladderLines(): string[] {
    return this.store.segments.list.map((seg) => {
      const fate = seg.end ? seg.end.fate : seg.held && !seg.released ? 'held' : 'in flight';
      const mark = this.highlight?.segments.includes(seg.id) ? ' · ◆' : '';
      return `#${seg.id} ${seg.from}→${seg.to} ${fullInfo(seg, { absolute: this.absolute })} · ${fate}${mark}`;
    });
  }

  describeSegment(seg: Segment): string[] {
    const s = this.store;
    const addrs = s.info.addrs ?? { A: '10.0.0.1', B: '10.0.0.2' };
    const lines = [
      `#${seg.id}  ${seg.from} ${addrs[seg.from]}:${seg.h?.srcPort ?? '?'} → ${seg.to} ${addrs[seg.to]}:${seg.h?.dstPort ?? '?'}`,
      fullInfo(seg, { absolute: this.absolute }),
    ];
    const fate = seg.end
      ? seg.end.fate === 'arrived'
        ? t('seg.arrivedAt', { t: fmtT(seg.end.t) })
        : t('seg.droppedAt', { t: fmtT(seg.end.t), cause: tk(`cause.${seg.end.cause}`, seg.end.cause) })
      : seg.held && !seg.released
        ? t('seg.heldNow')
        : t('seg.inFlight');
    lines.push(`${t('seg.sentAt', { t: fmtT(seg.start.t) })} · ${fate}`);
    if (seg.why) lines.push(`${t('seg.why')}: ${tk(`why.${seg.why}`, seg.why)}`);
    if (seg.discard) lines.push(`⊘ ${seg.discard.detail}`);
    return lines;
  }

  private onPointerMove = (e: PointerEvent) => {
    const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    if (this.drag) {
      const dy = y - this.drag.y;
      if (Math.abs(dy) > 3 || Math.abs(x - this.drag.x) > 3) this.drag.moved = true;
      if (this.drag.moved) {
        this.scrollY = Math.max(0, Math.min(this.maxScroll(), this.drag.scroll - dy));
        this.setFollow(this.scrollY >= this.maxScroll() - 2);
        this._hover = null;
        this.schedule();
      }
      return;
    }
    if (y < HEADER_PX) {
      if (this._hover) this._hover = null;
      return;
    }
    const id = this.hit(x, y);
    if (id !== undefined) {
      const seg = this.store.segments.get(id);
      if (seg && this._hover?.seg !== id) this._hover = { x, y, lines: this.describeSegment(seg), seg: id };
      else if (this._hover) this._hover = { ...this._hover, x, y };
      this.schedule();
      return;
    }
    const m = this.markAt(x, y);
    if (m) {
      this._hover = { x, y, lines: this.describeMark(m) };
      return;
    }
    if (this._hover) {
      this._hover = null;
      this.schedule();
    }
  };

  private onPointerDown = (e: PointerEvent) => {
    if (e.button !== 0) return;
    const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
    this.drag = { x: e.clientX - r.left, y: e.clientY - r.top, scroll: this.scrollY, moved: false };
    (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
  };

  private onPointerUp = (e: PointerEvent) => {
    const d = this.drag;
    this.drag = undefined;
    if (!d || d.moved) return;
    const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    if (y < HEADER_PX) return;
    if (x < GUTTER_PX) {
      // scrub: click the time gutter to see the endpoints at that moment
      const contentY = y - HEADER_PX + this.scrollY;
      const a = Math.min(this.yCount - 1, lowerBound(this.ys, this.yCount, contentY));
      if (a >= 0) emit(this, 'cursor-change', { anchor: a });
      return;
    }
    const id = this.hit(x, y);
    emit(this, 'segment-select', { id: id ?? null });
  };

  private onWheel = (e: WheelEvent) => {
    e.preventDefault();
    if (e.ctrlKey || e.metaKey) {
      const factor = Math.exp(-e.deltaY * 0.0025);
      emit(this, 'zoom-change', { zoom: clampZoom(this.zoom * factor) });
      return;
    }
    const dy = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
    this.scrollLadder(dy);
  };

  /** Scrolls the ladder by `dy` pixels (following the present again at the bottom). */
  scrollLadder(dy: number): void {
    this.layout();
    const max = this.maxScroll();
    this.scrollY = Math.max(0, Math.min(max, this.scrollY + dy));
    this.setFollow(this.scrollY >= max - 2);
    this.schedule();
  }

  /** Brings a segment into view. */
  reveal(id: number): void {
    const seg = this.store.segments.get(id);
    if (!seg) return;
    this.layout();
    const a = this.store.segStart[seg.index]!;
    if (a < 0 || a >= this.yCount) return;
    const y = this.ys[a]!;
    if (y < this.scrollY + 30 || y > this.scrollY + this.viewH - 60) {
      this.scrollY = Math.max(0, Math.min(this.maxScroll(), y - this.viewH / 3));
      this.setFollow(false);
    }
    this.schedule();
  }

  /** Brings an anchor into view (for scrubbing). */
  revealAnchor(a: number): void {
    this.layout();
    if (a < 0 || a >= this.yCount) return;
    const y = this.ys[a]!;
    if (y < this.scrollY + 20 || y > this.scrollY + this.viewH - 40) {
      this.scrollY = Math.max(0, Math.min(this.maxScroll(), y - this.viewH / 2));
      this.setFollow(false);
    }
    this.schedule();
  }

  /** Remembers whether the view follows the present, and tells the room when that changes. */
  private setFollow(on: boolean): void {
    if (on === this._follow) return;
    this._follow = on;
    emit(this, 'follow-change', { follow: on });
  }

  followLive(): void {
    this.setFollow(true);
    this.schedule();
  }

  get following(): boolean {
    return this._follow;
  }

  private onKey = (e: KeyboardEvent) => {
    const segs = this.store.segments.list;
    if (!segs.length) return;
    const cur = this.selected !== null ? this.store.segments.get(this.selected) : undefined;
    let next: Segment | undefined;
    switch (e.key) {
      case 'ArrowDown':
      case 'j':
        next = cur ? segs[Math.min(segs.length - 1, cur.index + 1)] : this.firstVisibleSeg();
        break;
      case 'ArrowUp':
      case 'k':
        next = cur ? segs[Math.max(0, cur.index - 1)] : this.firstVisibleSeg();
        break;
      case 'Home':
        next = segs[0];
        break;
      case 'End':
        next = segs[segs.length - 1];
        break;
      case 'PageDown':
        this.scrollLadder(this.viewH * 0.8);
        e.preventDefault();
        return;
      case 'PageUp':
        this.scrollLadder(-this.viewH * 0.8);
        e.preventDefault();
        return;
      case 'Enter':
        if (cur) emit(this, 'segment-select', { id: cur.id, reveal: true });
        e.preventDefault();
        return;
      default:
        return;
    }
    e.preventDefault();
    e.stopPropagation();
    if (next) {
      emit(this, 'segment-select', { id: next.id });
      this.reveal(next.id);
    }
  };

  private firstVisibleSeg(): Segment | undefined {
    const d = this.drawnSegs[0];
    return d ? this.store.segments.get(d.id) : this.store.segments.list[0];
  }

  // ── template ────────────────────────────────────────────────────────────────────────────────

  override render() {
    const s = this.store;
    const sel = this.selected !== null ? s?.segments.get(this.selected) : undefined;
    const hv = this._hover ?? this._focusTip;
    return html`<div
      class="wrap"
      tabindex="0"
      role="application"
      aria-roledescription=${t('timeline.roleDescription')}
      aria-label=${t('timeline.label', { n: s?.segments.size ?? 0 })}
      @pointermove=${this.onPointerMove}
      @pointerdown=${this.onPointerDown}
      @pointerup=${this.onPointerUp}
      @pointerleave=${() => {
        if (!this.drag) this._hover = null;
      }}
      @wheel=${this.onWheel}
      @keydown=${this.onKey}
      @focus=${() => {
        this._focused = true;
        this.schedule();
      }}
      @blur=${() => {
        this._focused = false;
        this._focusTip = null;
      }}
    >
      <canvas aria-hidden="true"></canvas>
      ${
        s && s.segments.size === 0 && s.marks.length === 0
          ? html`<div class="empty">${t('timeline.empty')}</div>`
          : nothing
      }
      ${
        this.highlight
          ? html`<div class="hl-legend" role="status" data-testid="ladder-highlight">
              <span aria-hidden="true">◆</span> ${this.highlight.label}
            </div>`
          : nothing
      }
      ${(this.readonly ? [] : this._held).map(
        (h) => html`<div class="held" style="left:${h.x}px;top:${h.y}px">
          <button
            class="btn small"
            ?disabled=${!this.canAct}
            title=${this.canAct ? t('held.releaseTip', { id: h.id }) : t('held.cannot')}
            aria-label=${t('held.releaseTip', { id: h.id })}
            @pointerdown=${(e: Event) => e.stopPropagation()}
            @click=${() => emit(this, 'held-action', { segId: h.id, action: 'release' })}
          >
            ▶ ${t('held.release')}
          </button>
          <button
            class="btn small danger"
            ?disabled=${!this.canAct}
            title=${this.canAct ? t('held.dropTip', { id: h.id }) : t('held.cannot')}
            aria-label=${t('held.dropTip', { id: h.id })}
            @pointerdown=${(e: Event) => e.stopPropagation()}
            @click=${() => emit(this, 'held-action', { segId: h.id, action: 'drop' })}
          >
            ✕ ${t('held.drop')}
          </button>
        </div>`,
      )}
      ${
        hv
          ? html`<div
            class="tooltip"
            role="tooltip"
            style="left:${Math.min(hv.x + 14, this.width - 470)}px;top:${Math.min(hv.y + 16, this.height - 110)}px"
          >
            ${hv.lines.map((l, i) => html`<div class=${i === 1 && hv.seg !== undefined && l.startsWith('[TCP') ? 'tag' : ''}>${l}</div>`)}
          </div>`
          : nothing
      }
      <div class="sr-only" aria-live="polite">${sel ? this.describeSegment(sel).join('. ') : ''}</div>
    </div>`;
  }
}

function distToSegment(px: number, py: number, x0: number, y0: number, x1: number, y1: number): number {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  let u = len2 === 0 ? 0 : ((px - x0) * dx + (py - y0) * dy) / len2;
  u = Math.max(0, Math.min(1, u));
  const cx = x0 + u * dx;
  const cy = y0 + u * dy;
  return Math.hypot(px - cx, py - cy);
}

export function clampZoom(z: number): number {
  return Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, z));
}

const fitCache = new Map<string, string>();

/** `text` cut with an ellipsis to fit `maxW` pixels in the current font. */
function fitText(ctx: CanvasRenderingContext2D, text: string, maxW: number): string {
  if (ctx.measureText(text).width <= maxW) return text;
  const key = `${ctx.font}|${maxW | 0}|${text}`;
  const hit = fitCache.get(key);
  if (hit !== undefined) return hit;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= maxW) lo = mid;
    else hi = mid - 1;
  }
  const out = `${text.slice(0, lo)}…`;
  if (fitCache.size > 2000) fitCache.clear();
  fitCache.set(key, out);
  return out;
}

let fontCache: { font: string; mono: string } | undefined;
function fonts() {
  if (!fontCache) {
    const cs = getComputedStyle(document.documentElement);
    fontCache = {
      font: cs.getPropertyValue('--font').trim() || 'system-ui, sans-serif',
      mono: cs.getPropertyValue('--mono').trim() || 'monospace',
    };
  }
  return fontCache;
}
function getFont(): string {
  return fonts().font;
}
function getFontMono(): string {
  return fonts().mono;
}

declare global {
  interface HTMLElementTagNameMap {
    'tcp-timeline': TcpTimeline;
  }
}
