/**
 * A room: the shared timeline in the middle, an endpoint panel on each side (next to its line),
 * the clock in the header, and a dock with the segment inspector, the state diagram and the
 * network controls. It is the mediator between its children: it holds the scrub position, the
 * selection and the view settings, answers the keyboard (Space, →, ←, S, G, +/−, ?), and turns
 * the children's intents into requests through `actions` (absent for a recorded trace).
 */
import { css, html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import type {
  ClientMessage,
  ClockPolicy,
  Seat,
  SessionInfo,
  SockCall,
} from '../../../shared/protocol/messages.ts';
import type { TcpEvent } from '../events.ts';
import { getLocale, LocaleController, t } from '../i18n/index.ts';
import type { RoomView } from '../model/endpoints.ts';
import type { RoomStore } from '../model/room-store.ts';
import type { LabRequestError } from '../net/lab-client.ts';
import { base } from '../styles/theme.ts';
import { tt } from '../teach/strings.ts';
import './tcp-endpoint.ts';
import './tcp-exercise-panel.ts';
import { type GoalSelectDetail, goalHighlight, type RoomExercise } from './tcp-exercise-panel.ts';
import './tcp-help.ts';
import './tcp-inspector.ts';
import './tcp-network.ts';
import './tcp-state-diagram.ts';
import { clampZoom, type LadderHighlight, type LadderMode, type TcpTimeline } from './tcp-timeline.ts';
import './tcp-timeline.ts';
import { icons } from './icons.ts';
import { fmtT, refusal } from './ui.ts';

type RoomScoped = Extract<ClientMessage, { room: number }>;
type RoomRequest = RoomScoped extends infer T
  ? T extends RoomScoped
    ? Omit<T, 'room' | 'id'>
    : never
  : never;

/** What the room may ask of the lab (the `LabController`); absent when replaying a recording. */
export interface RoomActions {
  session: SessionInfo | undefined;
  call(seat: Seat, call: SockCall): Promise<unknown>;
  roomRequest(msg: RoomRequest): Promise<unknown>;
  mySeats(): Seat[];
  takeSeat(seat: Seat): Promise<void>;
  releaseSeat(seat: Seat): Promise<void>;
  leave(): Promise<void>;
}

const SPEEDS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 25, 50, 100];
type DockTab = 'segment' | 'diagram' | 'network' | 'exercise';

@customElement('tcp-room')
export class TcpRoom extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: grid;
        height: 100%;
        min-height: 0;
        grid-template-rows: auto minmax(0, 1fr) auto;
        grid-template-columns: minmax(250px, 300px) minmax(0, 1fr) minmax(250px, 300px);
        grid-template-areas:
          'head head head'
          'a mid b'
          'dock dock dock';
        background: var(--bg);
        gap: 0;
      }
      header {
        grid-area: head;
        display: flex;
        align-items: center;
        gap: 0.6rem;
        padding: 0.35rem 0.7rem;
        background: var(--surface);
        border-bottom: 1px solid var(--line);
        min-height: 48px;
        flex-wrap: wrap;
        position: relative;
      }
      .brand {
        display: flex;
        align-items: center;
        gap: 0.45rem;
        font-weight: 700;
      }
      .brand svg {
        width: 26px;
        height: 26px;
      }
      .roomname {
        font-weight: 600;
        max-width: 16ch;
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .code {
        font-family: var(--mono);
        font-size: 0.8rem;
        color: var(--ink-soft);
      }
      .people {
        font-size: 0.82rem;
        color: var(--ink-soft);
        white-space: nowrap;
      }
      .group {
        display: flex;
        align-items: center;
        gap: 0.3rem;
      }
      .clock {
        padding: 0.15rem 0.4rem;
        border: 1px solid var(--line);
        border-radius: 9px;
        background: var(--surface-2);
      }
      /* watching read-only: the clock's state and time, none of its controls */
      .clock.watching > :is(button, select, label) {
        display: none;
      }
      .time {
        font-family: var(--mono);
        font-variant-numeric: tabular-nums;
        font-weight: 600;
        min-width: 8.5ch;
        text-align: right;
      }
      .running {
        font-size: 0.72rem;
        padding: 0.05em 0.4em;
        border-radius: 4px;
        background: var(--ok-soft);
        color: var(--ok);
        font-weight: 700;
      }
      .paused {
        background: var(--warn-soft);
        color: var(--warn);
      }
      .spacer {
        flex: 1;
      }
      .toast {
        position: absolute;
        top: calc(100% + 4px);
        left: 50%;
        transform: translateX(-50%);
        z-index: 20;
        min-width: 280px;
        max-width: 520px;
      }
      .panel-a {
        grid-area: a;
        border-right: 1px solid var(--line);
        min-height: 0;
      }
      .panel-b {
        grid-area: b;
        border-left: 1px solid var(--line);
        min-height: 0;
      }
      .mid {
        grid-area: mid;
        display: grid;
        grid-template-rows: auto minmax(0, 1fr) auto;
        min-height: 0;
        min-width: 0;
      }
      .toolbar,
      .scrub {
        display: flex;
        align-items: center;
        gap: 0.35rem;
        padding: 0.25rem 0.5rem;
        background: var(--surface);
        border-bottom: 1px solid var(--line);
        flex-wrap: nowrap;
        overflow: hidden;
        font-size: 0.85rem;
        white-space: nowrap;
      }
      .scrub {
        border-top: 1px solid var(--line);
        border-bottom: 0;
      }
      .scrub input[type='range'] {
        flex: 1;
        min-width: 80px;
        accent-color: var(--accent);
      }
      .seg {
        display: inline-flex;
        border: 1px solid var(--line-strong);
        border-radius: 7px;
        overflow: hidden;
      }
      .seg button {
        border: 0;
        border-radius: 0;
        min-height: 26px;
        font-size: 0.8rem;
        padding: 0.1em 0.55em;
        background: var(--surface);
        cursor: pointer;
      }
      .seg button + button {
        border-left: 1px solid var(--line-strong);
      }
      .seg button[aria-pressed='true'] {
        background: var(--accent);
        color: #fff;
        font-weight: 600;
      }
      .where {
        font-family: var(--mono);
        font-size: 0.8rem;
        white-space: nowrap;
      }
      .where.past {
        color: var(--warn);
        font-weight: 700;
      }
      tcp-timeline {
        min-height: 0;
      }
      .dock {
        grid-area: dock;
        background: var(--surface);
        border-top: 1px solid var(--line-strong);
        display: grid;
        grid-template-rows: auto minmax(0, 1fr);
        height: var(--dock-h, 212px);
        min-height: 0;
      }
      .dock.closed {
        height: auto;
      }
      .tabs {
        display: flex;
        align-items: stretch;
        gap: 0.15rem;
        padding: 0 0.5rem;
        border-bottom: 1px solid var(--line);
        background: var(--surface-2);
      }
      .tabs [role='tab'] {
        border: 0;
        background: none;
        padding: 0.4rem 0.8rem;
        cursor: pointer;
        font-size: 0.86rem;
        border-bottom: 3px solid transparent;
        color: var(--ink-soft);
      }
      .tabs [role='tab'][aria-selected='true'] {
        color: var(--ink);
        font-weight: 650;
        border-bottom-color: var(--accent);
      }
      .tabpanel {
        min-height: 0;
        overflow: hidden;
      }
      .frozen {
        background: var(--danger-soft);
        color: var(--danger);
        font-weight: 600;
        padding: 0.2rem 0.6rem;
        font-size: 0.85rem;
      }
      .goto {
        position: absolute;
        top: 52px;
        left: 50%;
        transform: translateX(-50%);
        z-index: 30;
        background: var(--surface);
        border: 1px solid var(--line-strong);
        box-shadow: var(--shadow);
        border-radius: 10px;
        padding: 0.6rem 0.8rem;
        display: flex;
        gap: 0.4rem;
        align-items: center;
      }
      .goto input {
        width: 7em;
      }
      @media (max-width: 1100px) {
        :host {
          grid-template-columns: minmax(230px, 260px) minmax(0, 1fr) minmax(230px, 260px);
        }
      }
    `,
  ];

  @property({ attribute: false }) store!: RoomStore;
  @property({ type: Number }) version = 0;
  @property({ attribute: false }) actions: RoomActions | undefined;
  /** Shown instead of the room name when replaying a recording. */
  @property() recorded = '';
  /** The room's exercise (`room.exercise`), shown in the dock's first tab; none: no tab. */
  @property({ attribute: false }) exercise: RoomExercise | undefined;
  /** An instructor watching read-only (no `actions`): no control that changes the room is shown. */
  @property({ type: Boolean }) watching = false;
  private exerciseShown = '';

  @state() private _cursor: number | null = null;
  @state() private _selected: number | null = null;
  @state() private _mode: LadderMode = 'time';
  @state() private _zoom = 1;
  @state() private _absolute = false;
  @state() private _dock: DockTab = 'segment';
  @state() private _dockOpen = false;
  @state() private _help = false;
  @state() private _goto = false;
  @state() private _gotoText = '';
  @state() private _busy = false;
  @state() private _following = true;
  @state() private _callErr: Partial<Record<Seat, LabRequestError>> = {};
  @state() private _netErr: LabRequestError | undefined;
  @state() private _toast: LabRequestError | undefined;
  @query('tcp-timeline') private timeline!: TcpTimeline;
  /** The exercise goal whose evidence the ladder highlights. */
  @state() private _goal: string | null = null;
  protected readonly locale = new LocaleController(this);
  private ticker: ReturnType<typeof setInterval> | undefined;
  private toastTimer: ReturnType<typeof setTimeout> | undefined;
  private viewCache: { key: string; view: RoomView } | undefined;
  private lastEpoch = -1;

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('keydown', this.onKey);
    this.ticker = setInterval(() => {
      if (this._cursor === null && this.store?.clock.running) this.requestUpdate();
    }, 250);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('keydown', this.onKey);
    clearInterval(this.ticker);
    clearTimeout(this.toastTimer);
  }

  override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has('store') || this.store.epoch !== this.lastEpoch) {
      if (this.lastEpoch !== -1 || changed.has('store')) {
        this._cursor = null;
        this._selected = null;
        this._goal = null;
      }
      this.lastEpoch = this.store.epoch;
    }
  }

  // ── derived ─────────────────────────────────────────────────────────────────────────────────

  private get itemIndex(): number {
    const s = this.store;
    if (this._cursor === null) return s.items.length - 1;
    return s.anchorItem[this._cursor] ?? s.items.length - 1;
  }

  private view(): RoomView {
    const s = this.store;
    const idx = this.itemIndex;
    const key = `${s.epoch}|${idx}|${this._cursor === null ? 'live' : 'past'}|${s.items.length}`;
    if (this.viewCache?.key === key) return this.viewCache.view;
    const view = s.view(idx);
    this.viewCache = { key, view };
    return view;
  }

  private viewT(): number {
    const s = this.store;
    if (this._cursor === null) return s.nowT();
    return s.anchorT[this._cursor] ?? 0;
  }

  private mySeats(): Seat[] {
    return this.actions?.mySeats() ?? [];
  }

  private frozenReason(): string {
    const info = this.store.info;
    if (info.broken) return t('room.broken', { why: info.broken });
    if (info.full) return t('room.full');
    return '';
  }

  /** Why this user may not move the clock (empty: may). */
  private clockBlocked(): string {
    if (!this.actions) return t('room.recorded');
    const role = this.actions.session?.role;
    if (role === 'instructor') return '';
    const policy = this.store.info.clock.policy;
    if (policy === 'instructor') return t('clock.onlyInstructor');
    if (this.mySeats().length === 0) return t('clock.observer');
    return this.frozenReason();
  }

  private canTake(seat: Seat): boolean {
    return !!this.actions && this.actions.session?.role === 'student' && this.store.info.seats[seat] === null;
  }

  private networkBlocked(): string {
    if (!this.actions) return t('room.recorded');
    if (this.actions.session?.role === 'instructor') return '';
    if (this.mySeats().length === 0) return t('net.observer');
    return this.frozenReason();
  }

  /** The highlighted goal's evidence, as the ladder draws it (null: none, or nothing to show yet). */
  private highlight(): LadderHighlight | null {
    const goal = this._goal;
    if (!goal || !this.exercise) return null;
    const g = this.exercise.goals[getLocale()].find((x) => x.id === goal);
    return g ? goalHighlight(g) : null;
  }

  private readonly onGoal = async (e: CustomEvent<GoalSelectDetail>) => {
    this._goal = e.detail.goal;
    await this.updateComplete;
    this.timeline?.revealHighlight();
  };

  private readonly answerExercise = (question: string, answer: unknown) =>
    this.actions!.roomRequest({
      type: 'exercise.answer',
      question,
      answer: answer as never,
      lang: getLocale(),
    });

  // ── render ──────────────────────────────────────────────────────────────────────────────────

  override render() {
    const s = this.store;
    const info = s.info;
    const view = this.view();
    const mine = this.mySeats();
    const live = this._cursor === null;
    const viewT = this.viewT();
    const frozen = this.frozenReason();
    const selected = this._selected !== null ? s.segments.get(this._selected) : undefined;
    const canAct =
      !!this.actions && (mine.length > 0 || this.actions.session?.role === 'instructor') && !frozen;
    const highlight = this.highlight();
    return html`${this.renderHeader()}
      <tcp-endpoint
        class="panel-a"
        side="A"
        .host=${view.A}
        .version=${this.version}
        .nowT=${viewT}
        .live=${live}
        .mine=${mine.includes('A')}
        .holder=${info.seats.A}
        .addrs=${info.addrs}
        .absolute=${this._absolute}
        .frozen=${frozen}
        .error=${this._callErr.A}
        .busy=${this._busy}
        .canTake=${this.canTake('A')}
        @sock-call=${this.onCall}
        @seat-take=${this.onTakeSeat}
      ></tcp-endpoint>
      <div class="mid">
        ${this.renderToolbar()}
        <tcp-timeline
          .store=${s}
          .version=${this.version}
          .mode=${this._mode}
          .zoom=${this._zoom}
          .absolute=${this._absolute}
          .cursor=${this._cursor}
          .selected=${this._selected}
          .view=${view}
          .canAct=${canAct}
          .readonly=${this.watching}
          .highlight=${highlight}
          @segment-select=${this.onSelect}
          @cursor-change=${(e: TcpEvent<'cursor-change'>) => this.setCursor(e.detail.anchor)}
          @zoom-change=${(e: TcpEvent<'zoom-change'>) => (this._zoom = e.detail.zoom)}
          @follow-change=${(e: TcpEvent<'follow-change'>) => (this._following = e.detail.follow)}
          @held-action=${this.onHeld}
        ></tcp-timeline>
        ${this.renderScrubber()}
      </div>
      <tcp-endpoint
        class="panel-b"
        side="B"
        .host=${view.B}
        .version=${this.version}
        .nowT=${viewT}
        .live=${live}
        .mine=${mine.includes('B')}
        .holder=${info.seats.B}
        .addrs=${info.addrs}
        .absolute=${this._absolute}
        .frozen=${frozen}
        .error=${this._callErr.B}
        .busy=${this._busy}
        .canTake=${this.canTake('B')}
        @sock-call=${this.onCall}
        @seat-take=${this.onTakeSeat}
      ></tcp-endpoint>
      ${this.renderDock(selected, view, canAct, highlight ? this._goal : null)}
      ${this._help ? html`<tcp-help @close=${() => (this._help = false)}></tcp-help>` : nothing}`;
  }

  private renderHeader() {
    const s = this.store;
    const info = s.info;
    const c = info.clock;
    const running = s.clock.running;
    const blocked = this.clockBlocked();
    const mine = this.mySeats();
    const ready =
      c.policy === 'ready' && c.ready.length > 0 ? t('clock.waiting', { seats: c.ready.join(', ') }) : '';
    return html`<header>
      <div class="brand">
        <svg viewBox="0 0 32 32" aria-hidden="true">
          <rect width="32" height="32" rx="7" fill="#1d4ed8" />
          <path d="M8 7v18M24 7v18M8 11l16 5M24 18L8 23" stroke="white" stroke-width="2.4" fill="none" stroke-linecap="round" />
        </svg>
        <span class="sr-only">TCP Lab</span>
      </div>
      <div>
        <div class="roomname" title=${info.name}>${this.recorded || info.name}</div>
        <div class="code">${this.recorded ? t('room.recordedTag') : `${t('room.class')} ${info.classCode}`}</div>
      </div>
      <div class="people" title=${t('room.peopleTip')}>
        ${
          mine.length === 2
            ? t('room.youSolo')
            : mine.length === 1
              ? t('room.youSeat', { seat: mine[0]! })
              : this.watching
                ? html`<strong>${tt('watchingShort')}</strong>`
                : this.actions
                  ? t('room.youObserve')
                  : ''
        }
        · ${t('room.people', { n: info.people })}
      </div>
      <div class="group clock ${this.watching ? 'watching' : ''}" role="group" aria-label=${t('clock.label')}>
        <span class="running ${running ? '' : 'paused'}">${running ? t('clock.running') : t('clock.paused')}</span>
        <button
          class="btn small icon"
          ?disabled=${!!blocked}
          title=${blocked || `${running ? t('clock.pause') : t('clock.resume')} (Space)`}
          aria-label=${running ? t('clock.pause') : t('clock.resume')}
          @click=${() => this.clock(running ? 'pause' : 'resume')}
        >
          ${running ? icons.pause : icons.play}
        </button>
        <button
          class="btn small icon"
          ?disabled=${!!blocked}
          title=${blocked || `${t('clock.step')} (→)`}
          aria-label=${t('clock.step')}
          @click=${() => this.clock('step')}
        >
          ${icons.step}
        </button>
        <label class="sr-only" for="speed">${t('clock.speed')}</label>
        <select id="speed" ?disabled=${!!blocked} title=${blocked || t('clock.speed')} @change=${this.onSpeed}>
          ${SPEEDS.map((sp) => html`<option value=${sp} ?selected=${Math.abs(sp - c.speed) < 1e-9}>×${sp}</option>`)}
        </select>
        <span class="time" aria-label=${t('clock.time')} title=${t('clock.time')}>${fmtT(s.nowT())}</span>
        <label class="sr-only" for="policy">${t('clock.policy')}</label>
        <select id="policy" ?disabled=${!!blocked} title=${blocked || t('clock.policyTip')} @change=${this.onPolicy}>
          ${(['seats', 'ready', 'instructor'] as ClockPolicy[]).map(
            (p) => html`<option value=${p} ?selected=${p === c.policy}>${t(`policy.${p}`)}</option>`,
          )}
        </select>
        ${ready ? html`<span class="people">${ready}</span>` : nothing}
      </div>
      <span class="spacer"></span>
      <tcp-lang-switch></tcp-lang-switch>
      <button class="btn small icon" title=${t('keys.title')} aria-label=${t('keys.title')} @click=${() => (this._help = true)}>?</button>
      ${this.actions ? html`<button class="btn small" @click=${this.leave}>${t('room.leave')}</button>` : nothing}
      ${this._toast ? html`<div class="toast">${refusal(this._toast)}</div>` : nothing}
      ${this._goto ? this.renderGoto() : nothing}
    </header>`;
  }

  private renderToolbar() {
    const frozen = this.frozenReason();
    return html`<div class="toolbar" role="toolbar" aria-label=${t('tl.toolbar')}>
        <div class="seg" role="group" aria-label=${t('tl.mode')}>
          <button aria-pressed=${this._mode === 'time' ? 'true' : 'false'} title=${t('tl.timeTip')} @click=${() => (this._mode = 'time')}>
            ${t('tl.time')}
          </button>
          <button
            aria-pressed=${this._mode === 'events' ? 'true' : 'false'}
            title=${t('tl.eventsTip')}
            @click=${() => (this._mode = 'events')}
          >
            ${t('tl.events')}
          </button>
        </div>
        <div class="seg" role="group" aria-label=${t('tl.seq')}>
          <button aria-pressed=${this._absolute ? 'false' : 'true'} title=${t('tl.relTip')} @click=${() => (this._absolute = false)}>
            ${t('tl.relative')}
          </button>
          <button aria-pressed=${this._absolute ? 'true' : 'false'} title=${t('tl.absTip')} @click=${() => (this._absolute = true)}>
            ${t('tl.absolute')}
          </button>
        </div>
        <div class="group" role="group" aria-label=${t('tl.zoom')}>
          <button class="btn small icon" aria-label=${t('tl.zoomOut')} title="${t('tl.zoomOut')} (−)" @click=${() => this.zoomBy(1 / 1.4)}>−</button>
          <span class="where" aria-live="polite">${Math.round(this._zoom * 100)}%</span>
          <button class="btn small icon" aria-label=${t('tl.zoomIn')} title="${t('tl.zoomIn')} (+)" @click=${() => this.zoomBy(1.4)}>+</button>
        </div>
        <button class="btn small" title="G" @click=${() => this.openGoto()}>${t('tl.goto')}</button>
        <span class="spacer"></span>
        <span class="people">${t('tl.count', { segs: this.store.segments.size })}</span>
      </div>
      ${frozen ? html`<div class="frozen" role="alert">${frozen}</div>` : nothing}`;
  }

  private renderScrubber() {
    const s = this.store;
    const n = s.anchorItem.length;
    const live = this._cursor === null;
    const pos = live ? Math.max(0, n - 1) : this._cursor!;
    return html`<div class="scrub" role="group" aria-label=${t('scrub.label')}>
      <button class="btn small icon" ?disabled=${n === 0} title=${t('scrub.first')} aria-label=${t('scrub.first')} @click=${() => this.setCursor(0)}>
        ${icons.first}
      </button>
      <button class="btn small icon" ?disabled=${n === 0 || pos === 0} title="${t('scrub.back')} (←)" aria-label=${t('scrub.back')} @click=${() => this.stepBack()}>
        ${icons.back}
      </button>
      <button
        class="btn small icon"
        ?disabled=${live}
        title="${t('scrub.forward')} (→)"
        aria-label=${t('scrub.forward')}
        @click=${() => this.stepForward()}
      >
        ${icons.forward}
      </button>
      <label class="sr-only" for="scrub">${t('scrub.position')}</label>
      <input
        id="scrub"
        type="range"
        min="0"
        max=${Math.max(0, n - 1)}
        .value=${String(pos)}
        ?disabled=${n === 0}
        aria-valuetext=${live ? t('scrub.live') : t('scrub.at', { t: fmtT(s.anchorT[pos] ?? 0) })}
        @input=${(e: Event) => {
          const v = Number((e.target as HTMLInputElement).value);
          this.setCursor(v >= n - 1 ? null : v);
        }}
      />
      <span class="where ${live ? '' : 'past'}">
        ${live ? t('scrub.live') : t('scrub.atN', { t: fmtT(s.anchorT[pos] ?? 0), i: pos + 1, n })}
      </span>
      ${
        live && !this._following
          ? html`<button class="btn small primary" title=${t('timeline.followTip')} @click=${() => this.timeline?.followLive()}>
              ${icons.down} ${t('timeline.follow')}
            </button>`
          : html`<button class="btn small ${live ? '' : 'primary'}" ?disabled=${live} title="L" @click=${() => this.setCursor(null)}>
              ${icons.live} ${t('scrub.goLive')}
            </button>`
      }
    </div>`;
  }

  private renderDock(
    selected: ReturnType<RoomStore['segments']['get']>,
    view: RoomView,
    _canAct: boolean,
    goal: string | null,
  ) {
    const ex = this.exercise;
    if (ex && this.exerciseShown !== ex.id) {
      // A new exercise opens its tab once; the student may close or switch it afterwards.
      this.exerciseShown = ex.id;
      this._dock = 'exercise';
      this._dockOpen = true;
    }
    if (!ex && this._dock === 'exercise') this._dock = 'segment';
    const tabs: Array<[DockTab, string]> = [
      ...(ex
        ? [['exercise', t('ex.tabProgress', { n: Math.round(ex.progress.percent) })] as [DockTab, string]]
        : []),
      ['segment', selected ? t('dock.segmentN', { id: selected.id }) : t('dock.segment')],
      ['diagram', t('dock.diagram')],
      // Watching read-only: the network's controls are not shown (its faults show on the ladder).
      ...(this.watching ? [] : [['network', t('dock.network')] as [DockTab, string]]),
    ];
    if (this.watching && this._dock === 'network') this._dock = 'segment';
    return html`<section class="dock ${this._dockOpen ? '' : 'closed'}" aria-label=${t('dock.label')}>
      <div class="tabs" role="tablist">
        ${tabs.map(
          ([id, label]) => html`<button
            role="tab"
            id="tab-${id}"
            aria-controls="panel-${id}"
            aria-selected=${this._dockOpen && this._dock === id ? 'true' : 'false'}
            @click=${() => {
              if (this._dock === id) this._dockOpen = !this._dockOpen;
              else {
                this._dock = id;
                this._dockOpen = true;
              }
            }}
          >
            ${label}
          </button>`,
        )}
        <span class="spacer" style="flex:1"></span>
        <button
          class="btn small icon"
          style="align-self:center"
          aria-expanded=${this._dockOpen ? 'true' : 'false'}
          aria-label=${this._dockOpen ? t('dock.collapse') : t('dock.expand')}
          title=${this._dockOpen ? t('dock.collapse') : t('dock.expand')}
          @click=${() => (this._dockOpen = !this._dockOpen)}
        >
          ${this._dockOpen ? icons.down : icons.up}
        </button>
      </div>
      ${
        this._dockOpen
          ? html`<div class="tabpanel" role="tabpanel" id="panel-${this._dock}" aria-labelledby="tab-${this._dock}">
            ${
              this._dock === 'exercise'
                ? html`<tcp-exercise-panel
                    .exercise=${ex}
                    .seats=${this.actions?.mySeats() ?? []}
                    .answer=${this.actions ? this.answerExercise : undefined}
                    .readonly=${this.watching}
                    .highlighted=${goal}
                    @goal-select=${this.onGoal}
                  ></tcp-exercise-panel>`
                : this._dock === 'segment'
                  ? html`<tcp-inspector .segment=${selected} .store=${this.store} .absolute=${this._absolute} .version=${this.version}
                    @segment-select=${this.onSelect}></tcp-inspector>`
                  : this._dock === 'diagram'
                    ? html`<tcp-state-diagram .view=${view} .version=${this.version}></tcp-state-diagram>`
                    : html`<tcp-network
                      .info=${this.store.info}
                      .blocked=${this.networkBlocked()}
                      .error=${this._netErr}
                      .busy=${this._busy}
                      @link-set=${(e: TcpEvent<'link-set'>) =>
                        this.net({
                          type: 'link.set',
                          ...(e.detail.dir ? { dir: e.detail.dir } : {}),
                          settings: e.detail.settings,
                        })}
                      @fault-add=${(e: TcpEvent<'fault-add'>) => this.net({ type: 'fault.add', rule: e.detail.rule })}
                      @fault-remove=${(e: TcpEvent<'fault-remove'>) => this.net({ type: 'fault.remove', ruleId: e.detail.ruleId })}
                      @fault-clear=${() => this.net({ type: 'fault.clear' })}
                      @hold-set=${(e: TcpEvent<'hold-set'>) => this.net({ type: 'hold.set', on: e.detail.on })}
                      @held-action=${this.onHeld}
                      @room-reset=${() => this.net({ type: 'room.reset' })}
                    ></tcp-network>`
            }
          </div>`
          : nothing
      }
    </section>`;
  }

  private renderGoto() {
    return html`<form
      class="goto"
      role="dialog"
      aria-label=${t('goto.title')}
      @submit=${(e: Event) => {
        e.preventDefault();
        this.doGoto();
      }}
      @keydown=${(e: KeyboardEvent) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          this._goto = false;
        }
      }}
    >
      <label for="goto">${t('goto.label')}</label>
      <input id="goto" type="text" inputmode="numeric" .value=${this._gotoText} @input=${(e: Event) => (this._gotoText = (e.target as HTMLInputElement).value)} />
      <button class="btn small primary" type="submit">${t('goto.go')}</button>
      <button class="btn small" type="button" @click=${() => (this._goto = false)}>${t('net.cancel')}</button>
    </form>`;
  }

  // ── actions ─────────────────────────────────────────────────────────────────────────────────

  private showToast(err: LabRequestError) {
    this._toast = err;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => (this._toast = undefined), 7000);
  }

  private async onCall(e: TcpEvent<'sock-call'>) {
    const { seat, call } = e.detail;
    if (!this.actions) return;
    this._busy = true;
    this._callErr = { ...this._callErr, [seat]: undefined };
    try {
      await this.actions.call(seat, call);
    } catch (err) {
      this._callErr = { ...this._callErr, [seat]: err as LabRequestError };
    } finally {
      this._busy = false;
    }
  }

  private async net(msg: RoomRequest) {
    if (!this.actions) return;
    this._busy = true;
    this._netErr = undefined;
    try {
      await this.actions.roomRequest(msg);
    } catch (err) {
      this._netErr = err as LabRequestError;
      this.showToast(err as LabRequestError);
    } finally {
      this._busy = false;
    }
  }

  private async clock(action: 'pause' | 'resume' | 'step') {
    if (!this.actions || this.clockBlocked()) return;
    try {
      await this.actions.roomRequest({ type: `clock.${action}` } as RoomRequest);
    } catch (err) {
      this.showToast(err as LabRequestError);
    }
  }

  private onSpeed = async (e: Event) => {
    const speed = Number((e.target as HTMLSelectElement).value);
    if (!this.actions) return;
    try {
      await this.actions.roomRequest({ type: 'clock.speed', speed });
    } catch (err) {
      this.showToast(err as LabRequestError);
    }
  };

  private onPolicy = async (e: Event) => {
    const policy = (e.target as HTMLSelectElement).value as ClockPolicy;
    if (!this.actions) return;
    try {
      await this.actions.roomRequest({ type: 'clock.policy', policy });
    } catch (err) {
      this.showToast(err as LabRequestError);
    }
  };

  private onHeld = (e: TcpEvent<'held-action'>) => {
    const { segId, action } = e.detail;
    void this.net({ type: action === 'release' ? 'held.release' : 'held.drop', segId });
  };

  private onSelect = (e: TcpEvent<'segment-select'>) => {
    this._selected = e.detail.id;
    if (e.detail.id !== null) {
      this._dock = 'segment';
      this._dockOpen = true;
      if (e.detail.reveal) this.timeline?.reveal(e.detail.id);
    }
  };

  private onTakeSeat = async (e: TcpEvent<'seat-take'>) => {
    try {
      await this.actions?.takeSeat(e.detail.seat);
    } catch (err) {
      this.showToast(err as LabRequestError);
    }
  };

  private leave = async () => {
    try {
      await this.actions?.leave();
    } catch (err) {
      this.showToast(err as LabRequestError);
    }
  };

  private setCursor(anchor: number | null) {
    const n = this.store.anchorItem.length;
    if (anchor !== null && (anchor >= n - 1 || n === 0)) anchor = null;
    this._cursor = anchor;
    if (anchor === null) this.timeline?.followLive();
    else this.timeline?.revealAnchor(anchor);
  }

  private stepBack() {
    const n = this.store.anchorItem.length;
    if (n === 0) return;
    const cur = this._cursor ?? n - 1;
    this.setCursor(Math.max(0, cur - 1));
  }

  private stepForward() {
    if (this._cursor === null) return;
    this.setCursor(this._cursor + 1);
  }

  private zoomBy(f: number) {
    this._zoom = clampZoom(this._zoom * f);
  }

  private openGoto() {
    this._goto = true;
    this._gotoText = this._selected !== null ? String(this._selected) : '';
    void this.updateComplete.then(() =>
      (this.renderRoot.querySelector('#goto') as HTMLInputElement | null)?.select(),
    );
  }

  private doGoto() {
    const id = Number(this._gotoText.replace(/^#/, '').trim());
    if (Number.isInteger(id) && this.store.segments.get(id)) {
      this._goto = false;
      this._selected = id;
      this._dock = 'segment';
      this._dockOpen = true;
      this.timeline?.reveal(id);
    } else {
      this.showToast({
        code: 'GOTO',
        message: t('goto.none', { id: this._gotoText }),
        name: 'x',
        path: undefined,
      } as LabRequestError);
    }
  }

  private onKey = (e: KeyboardEvent) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    const path = e.composedPath();
    const target = path[0] as HTMLElement | undefined;
    const tag = target?.tagName;
    if (tag === 'INPUT' || tag === 'SELECT' || tag === 'TEXTAREA' || target?.isContentEditable) return;
    if (this._help || this._goto) return;
    const isButton = tag === 'BUTTON';
    switch (e.key) {
      case ' ':
        if (isButton) return;
        e.preventDefault();
        if (!this.clockBlocked()) void this.clock(this.store.clock.running ? 'pause' : 'resume');
        return;
      case 'ArrowRight':
        e.preventDefault();
        if (this._cursor !== null) this.stepForward();
        else if (!this.clockBlocked()) void this.clock('step');
        return;
      case 'ArrowLeft':
        e.preventDefault();
        this.stepBack();
        return;
      case 's':
      case 'S':
        this._absolute = !this._absolute;
        return;
      case 't':
      case 'T':
        this._mode = this._mode === 'time' ? 'events' : 'time';
        return;
      case 'l':
      case 'L':
        this.setCursor(null);
        return;
      case 'g':
      case 'G':
        e.preventDefault();
        this.openGoto();
        return;
      case '+':
      case '=':
        this.zoomBy(1.4);
        return;
      case '-':
      case '_':
        this.zoomBy(1 / 1.4);
        return;
      case '?':
        this._help = true;
        return;
      case 'Escape':
        if (this._selected !== null) {
          this._selected = null;
          if (this._dock === 'segment') this._dockOpen = false;
        }
        return;
      default:
        return;
    }
  };
}

declare global {
  interface HTMLElementTagNameMap {
    'tcp-room': TcpRoom;
  }
}
