/**
 * The student's exercise panel (issue 8): the exercise's title and explanation, the steps of the
 * seat(s) this person holds (both for an observer), the goals as a checklist (met or not yet, with
 * why not), the questions with their inputs and the server's feedback, and the progress (进度).
 * It renders the room's `room.exercise` view in the app's language and answers through `answer`
 * (an `exercise.answer` request); nothing is shown when the room has no exercise. A goal with
 * evidence (the segments and events that prove it, or what already happened towards it) is a
 * toggle button: it fires `goal-select` so the room highlights that evidence on the ladder and
 * scrolls to it. `readonly` (an instructor watching) shows the questions without any input.
 */
import { css, html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { ExerciseView, QuestionView } from '../../../shared/exercises/view.ts';
import type { GoalStatus, RoomExerciseEvent } from '../../../shared/protocol/exercises.ts';
import type { Seat } from '../../../shared/protocol/messages.ts';
import { getLocale, LocaleController, type MessageKey, t, tk } from '../i18n/index.ts';
import type { LabRequestError } from '../net/lab-client.ts';
import { base } from '../styles/theme.ts';
import { tt } from '../teach/strings.ts';

export type RoomExercise = RoomExerciseEvent['exercise'];
export type AnswerFn = (question: string, answer: unknown) => Promise<unknown>;

/** `goal-select`: show this goal's evidence on the ladder (`goal` null: show none). */
export interface GoalSelectDetail {
  goal: string | null;
}

/** What a goal's evidence is on the ladder: its segments, its moments on a host's line, and words for it. */
export function goalHighlight(
  g: GoalStatus,
): { label: string; segments: number[]; marks: Array<{ t: number; host: 'A' | 'B' }> } | null {
  const ev = g.evidence;
  if (!ev || ev.events.length === 0) return null;
  const marks: Array<{ t: number; host: 'A' | 'B' }> = [];
  for (const e of ev.events)
    if (e.segment === undefined && (e.host === 'A' || e.host === 'B')) marks.push({ t: e.t, host: e.host });
  const what = ev.events.map((e) => e.text).join('; ');
  return { label: `${tt('goalLabel')}: ${g.text} — ${what}`, segments: [...ev.segments], marks };
}

const FLAGS = ['SYN', 'ACK', 'FIN', 'RST', 'PSH'] as const;

@customElement('tcp-exercise-panel')
export class TcpExercisePanel extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: block;
        height: 100%;
        overflow: hidden;
        font-size: 0.86rem;
      }
      .wrap {
        height: 100%;
        box-sizing: border-box;
        align-items: start;
        display: grid;
        grid-template-columns: minmax(0, 1.1fr) minmax(0, 1fr) minmax(0, 1.3fr);
        gap: 0.9rem;
        padding: 0.5rem 0.8rem;
      }
      .wrap > div {
        max-height: 100%;
        overflow: auto;
        min-height: 0;
      }
      h2 {
        font-size: 1rem;
        margin: 0 0 0.3rem;
      }
      h3 {
        font-size: 0.85rem;
        margin: 0.2rem 0 0.3rem;
        text-transform: uppercase;
        letter-spacing: 0.03em;
        color: var(--ink-soft);
      }
      p {
        margin: 0 0 0.4rem;
      }
      ol,
      ul {
        margin: 0;
        padding-left: 1.3rem;
      }
      li {
        margin-bottom: 0.2rem;
      }
      .progress {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        margin: 0.2rem 0 0.5rem;
      }
      .bar {
        flex: 1;
        height: 10px;
        border-radius: 5px;
        background: var(--surface-2);
        border: 1px solid var(--line);
        overflow: hidden;
      }
      .fill {
        height: 100%;
        background: var(--accent);
      }
      .fill.done {
        background: var(--ok);
      }
      .pct {
        font-variant-numeric: tabular-nums;
        font-weight: 650;
        white-space: nowrap;
      }
      .goals {
        list-style: none;
        padding: 0;
      }
      .goal {
        display: grid;
        grid-template-columns: 1.4em minmax(0, 1fr);
        gap: 0.2rem;
      }
      .mark {
        font-weight: 700;
      }
      .met .mark {
        color: var(--ok);
      }
      .unmet .mark {
        color: var(--ink-soft);
      }
      .why {
        color: var(--ink-soft);
        font-size: 0.8rem;
      }
      .goal-link {
        font: inherit;
        text-align: left;
        padding: 0;
        border: 0;
        background: none;
        color: inherit;
        cursor: pointer;
        text-decoration: underline dotted;
        text-underline-offset: 3px;
      }
      .goal-link:focus-visible {
        outline: 3px solid var(--focus);
        outline-offset: 1px;
      }
      .goal-link[aria-pressed='true'] {
        outline: 2px solid var(--ok);
        outline-offset: 2px;
        border-radius: 3px;
        text-decoration: none;
      }
      .evidence {
        list-style: none;
        padding: 0;
        margin: 0.15rem 0 0.3rem;
        font: 0.78rem var(--mono);
        color: var(--ink-soft);
      }
      .evidence li::before {
        content: '◆ ';
        color: var(--ok);
      }
      .q {
        border: 1px solid var(--line);
        border-radius: 8px;
        padding: 0.4rem 0.55rem;
        margin-bottom: 0.5rem;
      }
      .q fieldset {
        border: 0;
        margin: 0;
        padding: 0;
        min-width: 0;
      }
      .q legend {
        font-weight: 600;
        padding: 0;
        margin-bottom: 0.3rem;
      }
      .row {
        display: flex;
        flex-wrap: wrap;
        gap: 0.3rem 0.7rem;
        align-items: center;
        margin-bottom: 0.3rem;
      }
      .row label {
        display: inline-flex;
        gap: 0.25rem;
        align-items: center;
      }
      input[type='text'] {
        width: 9em;
      }
      .fb {
        margin-top: 0.3rem;
        padding: 0.25rem 0.4rem;
        border-radius: 6px;
        background: var(--surface-2);
      }
      .fb strong {
        margin-right: 0.3em;
      }
      .fb.correct {
        background: var(--ok-soft);
      }
      .fb.wrong,
      .fb.late,
      .fb.invalid {
        background: var(--warn-soft);
      }
      .complete {
        color: var(--ok);
        font-weight: 700;
      }
    `,
  ];

  @property({ attribute: false }) exercise: RoomExercise | undefined;
  /** The seats this person holds (none: an observer). */
  @property({ attribute: false }) seats: Seat[] = [];
  @property({ attribute: false }) answer: AnswerFn | undefined;
  /** An instructor watching: questions are shown with the pair's results, without inputs. */
  @property({ type: Boolean }) readonly = false;
  /** The goal whose evidence the ladder shows (null: none). */
  @property({ attribute: false }) highlighted: string | null = null;

  @state() private _busy = '';
  @state() private _errors: Record<string, string> = {};
  protected readonly locale = new LocaleController(this);

  override render() {
    const ex = this.exercise;
    if (!ex) return nothing;
    const lang = getLocale();
    const view = ex.view[lang] as ExerciseView;
    const goals = ex.goals[lang];
    const p = ex.progress;
    const seats: Seat[] = this.seats.length > 0 ? this.seats : ['A', 'B'];
    return html`<div class="wrap" role="region" aria-label=${t('ex.label')}>
      <div>
        <h2>${view.title}</h2>
        ${this.renderProgress(p)}
        <p>${view.explanation}</p>
      </div>
      <div>
        <h3>${t('ex.steps')}</h3>
        ${this.seats.length === 0 ? html`<p class="why">${this.readonly ? tt('watchingShort') : t('ex.observer')}</p>` : nothing}
        ${seats.map(
          (s) => html`<p><strong>${t('ex.stepsSeat', { seat: s, role: view.seats[s].role })}</strong></p>
            <ol>
              ${view.seats[s].steps.map((st) => html`<li>${st.text}</li>`)}
            </ol>`,
        )}
        <h3>${t('ex.goals')}</h3>
        <ul class="goals">
          ${goals.map((g) => this.renderGoal(g))}
        </ul>
      </div>
      <div>
        <h3>${t('ex.questions')}</h3>
        ${
          this.readonly
            ? html`<p class="why">${tt('readOnlyQuestions')}</p>
                ${view.questions.map((q) => this.renderQuestionReadOnly(q, ex.answers[lang][q.id]))}`
            : view.questions.map((q) => this.renderQuestion(q, ex.answers[lang][q.id]))
        }
      </div>
    </div>`;
  }

  /** A goal: ✓ or ○, its text (a toggle that shows its evidence on the ladder, when it has some). */
  private renderGoal(g: GoalStatus) {
    const ev = g.evidence;
    const shown = this.highlighted === g.id;
    const state = html`<span class="sr-only">(${g.met ? t('ex.goalMet') : t('ex.goalUnmet')})</span>`;
    const action = shown ? tt('hideOnLadder') : g.met ? tt('showOnLadder') : tt('showSoFar');
    return html`<li class="goal ${g.met ? 'met' : 'unmet'}" data-goal=${g.id}>
      <span class="mark" aria-hidden="true">${g.met ? '✓' : '○'}</span>
      <span>
        ${
          ev && ev.events.length > 0
            ? html`<button
                class="goal-link"
                type="button"
                aria-pressed=${shown ? 'true' : 'false'}
                title=${action}
                @click=${() => this.select(shown ? null : g.id)}
              >
                ${g.text}</button
              >${state} <span class="sr-only">— ${action}</span>`
            : html`${g.text} ${state}`
        }
        ${!g.met && g.explanation ? html`<div class="why">${g.explanation}</div>` : nothing}
        ${
          shown && ev
            ? html`<ul class="evidence" aria-label=${tt('onLadder')} data-testid="goal-evidence">
                ${ev.events.map((e) => html`<li>${e.text}</li>`)}
              </ul>`
            : nothing
        }
      </span>
    </li>`;
  }

  private select(goal: string | null) {
    this.dispatchEvent(
      new CustomEvent<GoalSelectDetail>('goal-select', { detail: { goal }, bubbles: true, composed: true }),
    );
  }

  /** A question as the pair sees it, with their latest result, and nothing to fill in. */
  private renderQuestionReadOnly(q: QuestionView, fb: { status: string; feedback: string } | undefined) {
    return html`<div class="q" data-question=${q.id}>
      <p><strong>${q.prompt}</strong></p>
      ${q.kind === 'choice' ? html`<ul>${(q.options ?? []).map((o) => html`<li>${o.text}</li>`)}</ul>` : nothing}
      ${
        fb
          ? html`<div class="fb ${fb.status}" role="status">
              <strong>${tk(`ex.status.${fb.status}`, fb.status)}:</strong>${fb.feedback}
            </div>`
          : html`<p class="why">${tt('unanswered')}</p>`
      }
    </div>`;
  }

  private renderProgress(p: NonNullable<RoomExercise>['progress']) {
    const n = Math.round(p.percent);
    return html`<div class="progress">
        <span id="plabel">${t('ex.progress')}</span>
        <div
          class="bar"
          role="progressbar"
          aria-labelledby="plabel"
          aria-valuemin="0"
          aria-valuemax="100"
          aria-valuenow=${n}
          aria-valuetext=${t('ex.progressOf', {
            n,
            goals: p.goalsMet,
            goalsTotal: p.goalsTotal,
            qs: p.questionsCorrect,
            qsTotal: p.questionsTotal,
          })}
        >
          <div class="fill ${p.complete ? 'done' : ''}" style="width:${n}%"></div>
        </div>
        <span class="pct">${n} %</span>
      </div>
      ${p.complete ? html`<p class="complete" role="status">✓ ${t('ex.complete')}</p>` : nothing}`;
  }

  private renderQuestion(q: QuestionView, fb: { status: string; feedback: string } | undefined) {
    const canAnswer = this.seats.length > 0 && !!this.answer;
    const busy = this._busy === q.id;
    const err = this._errors[q.id];
    return html`<form class="q" data-question=${q.id} @submit=${(e: Event) => this.onSubmit(e, q)}>
      <fieldset ?disabled=${!canAnswer || busy}>
        <legend>${q.prompt}</legend>
        ${this.renderInputs(q)}
        <button class="btn small primary" type="submit">${busy ? t('ex.sending') : t('ex.answer')}</button>
        ${canAnswer ? nothing : html`<span class="why">${t('ex.onlySeat')}</span>`}
      </fieldset>
      ${
        fb
          ? html`<div class="fb ${fb.status}" role="status" aria-live="polite">
              <strong>${tk(`ex.status.${fb.status}`, fb.status)}:</strong>${fb.feedback}
            </div>`
          : nothing
      }
      ${err ? html`<div class="fb invalid" role="alert">${err}</div>` : nothing}
    </form>`;
  }

  private renderInputs(q: QuestionView) {
    const id = (s: string) => `q-${q.id}-${s}`;
    switch (q.kind) {
      case 'choice':
        return html`<div class="row">
          ${(q.options ?? []).map(
            (o) => html`<label>
              <input type=${q.multiple ? 'checkbox' : 'radio'} name="choice" value=${o.id} />${o.text}
            </label>`,
          )}
        </div>`;
      case 'predict': {
        const fields = q.fields ?? [];
        return html`<p class="why">${t('ex.predictHost', { host: q.host ?? '' })}</p>
          ${
            fields.includes('flags')
              ? html`<div class="row" role="group" aria-label=${t('ex.field.flags')}>
                  <span>${t('ex.field.flags')}:</span>
                  ${FLAGS.map((f) => html`<label><input type="checkbox" name="flags" value=${f} />${f}</label>`)}
                </div>`
              : nothing
          }
          <div class="row">
            ${fields
              .filter((f) => f !== 'flags')
              .map(
                (f) => html`<label for=${id(f)}>${t(`ex.field.${f}` as MessageKey)}</label>
                  <input type="text" inputmode="numeric" id=${id(f)} name=${f} autocomplete="off" />`,
              )}
          </div>`;
      }
      default:
        return html`<div class="row">
          <label for=${id('v')}>${t('ex.yourAnswer')}</label>
          <input type="text" id=${id('v')} name="v" autocomplete="off" />
          ${q.unit ? html`<span>${q.unit}</span>` : nothing}
        </div>`;
    }
  }

  private readAnswer(form: HTMLFormElement, q: QuestionView): unknown {
    const data = new FormData(form);
    switch (q.kind) {
      case 'choice': {
        const chosen = data.getAll('choice').map(String);
        return q.multiple ? chosen : (chosen[0] ?? '');
      }
      case 'predict': {
        const a: Record<string, unknown> = {};
        for (const f of q.fields ?? []) {
          if (f === 'flags') a.flags = data.getAll('flags').map(String);
          else {
            const v = String(data.get(f) ?? '').trim();
            if (v !== '') a[f] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : Number.NaN;
          }
        }
        for (const [k, v] of Object.entries(a)) if (typeof v === 'number' && Number.isNaN(v)) delete a[k];
        return a;
      }
      case 'number': {
        const v = String(data.get('v') ?? '').trim();
        return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
      }
      default:
        return String(data.get('v') ?? '');
    }
  }

  private async onSubmit(e: Event, q: QuestionView) {
    e.preventDefault();
    if (!this.answer || this._busy) return;
    const answer = this.readAnswer(e.currentTarget as HTMLFormElement, q);
    this._busy = q.id;
    this._errors = { ...this._errors, [q.id]: '' };
    try {
      await this.answer(q.id, answer);
    } catch (err) {
      this._errors = { ...this._errors, [q.id]: (err as LabRequestError).message ?? String(err) };
    } finally {
      this._busy = '';
    }
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tcp-exercise-panel': TcpExercisePanel;
  }
}
