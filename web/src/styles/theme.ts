/**
 * Shared look: design tokens are CSS custom properties on :root (index.html), so every shadow
 * root sees them; these are the common control styles each component adopts. High contrast and
 * large enough for a classroom projector; focus is always visible; A and B are told apart by
 * their letter and line style, never by colour alone.
 */
import { css } from 'lit';

export const base = css`
  :host {
    box-sizing: border-box;
    font-family: var(--font);
    color: var(--ink);
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  [hidden] {
    display: none !important;
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    padding: 0;
    margin: -1px;
    overflow: hidden;
    clip: rect(0, 0, 0, 0);
    white-space: nowrap;
    border: 0;
  }
  button,
  select,
  input,
  textarea {
    font: inherit;
    color: inherit;
  }
  :focus-visible {
    outline: 3px solid var(--focus);
    outline-offset: 2px;
  }
  .btn {
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: 0.35em;
    min-height: 30px;
    padding: 0.25em 0.7em;
    border: 1px solid var(--line-strong);
    border-radius: 7px;
    background: var(--surface);
    color: var(--ink);
    cursor: pointer;
    font-size: 0.9rem;
    line-height: 1.2;
    white-space: nowrap;
    transition:
      background 0.12s,
      border-color 0.12s;
  }
  .btn:hover:not(:disabled) {
    background: var(--surface-hover);
    border-color: var(--ink-soft);
  }
  .btn:active:not(:disabled) {
    transform: translateY(1px);
  }
  .btn:disabled,
  .btn[aria-disabled='true'] {
    cursor: not-allowed;
    opacity: 0.45;
  }
  .btn.primary {
    background: var(--accent);
    border-color: var(--accent);
    color: #fff;
  }
  .btn.primary:hover:not(:disabled) {
    background: var(--accent-strong);
  }
  .btn.danger {
    color: var(--danger);
    border-color: color-mix(in srgb, var(--danger) 45%, transparent);
  }
  .btn.small {
    min-height: 26px;
    padding: 0.15em 0.5em;
    font-size: 0.82rem;
  }
  .btn.icon {
    min-width: 30px;
    padding: 0.2em 0.45em;
  }
  .btn[aria-pressed='true'] {
    background: var(--accent-soft);
    border-color: var(--accent);
    color: var(--accent-strong);
    font-weight: 600;
  }
  input[type='text'],
  input[type='number'],
  select {
    min-height: 28px;
    padding: 0.15em 0.4em;
    border: 1px solid var(--line-strong);
    border-radius: 6px;
    background: var(--surface);
    font-size: 0.88rem;
  }
  input:disabled,
  select:disabled {
    opacity: 0.5;
  }
  .mono {
    font-family: var(--mono);
    font-variant-numeric: tabular-nums;
  }
  .muted {
    color: var(--ink-soft);
  }
  .seat {
    display: inline-grid;
    place-items: center;
    width: 1.55em;
    height: 1.55em;
    border-radius: 5px;
    font-weight: 700;
    font-size: 0.85em;
    color: #fff;
    flex: none;
  }
  .seat.A {
    background: var(--a);
  }
  .seat.B {
    background: var(--b);
    border-radius: 50%;
  }
  .state {
    display: inline-block;
    padding: 0.08em 0.45em;
    border-radius: 5px;
    border: 1px solid var(--line-strong);
    background: var(--surface-2);
    font-family: var(--mono);
    font-size: 0.8rem;
    font-weight: 600;
    letter-spacing: 0.01em;
  }
  .state.ESTABLISHED {
    background: var(--ok-soft);
    border-color: var(--ok);
  }
  .state.TIME-WAIT,
  .state.FIN-WAIT-1,
  .state.FIN-WAIT-2,
  .state.CLOSING,
  .state.LAST-ACK,
  .state.CLOSE-WAIT {
    background: var(--warn-soft);
    border-color: var(--warn);
  }
  .state.LISTEN,
  .state.SYN-SENT,
  .state.SYN-RECEIVED {
    background: var(--info-soft);
    border-color: var(--info);
  }
  .error-box {
    border: 1px solid var(--danger);
    border-left-width: 4px;
    background: var(--danger-soft);
    border-radius: 6px;
    padding: 0.35em 0.55em;
    font-size: 0.85rem;
  }
  .error-box strong {
    font-family: var(--mono);
  }
  .ok-box {
    border: 1px solid var(--ok);
    border-left-width: 4px;
    background: var(--ok-soft);
    border-radius: 6px;
    padding: 0.3em 0.55em;
    font-size: 0.85rem;
  }
  h2,
  h3 {
    margin: 0;
    font-weight: 650;
  }
  .section-title {
    font-size: 0.74rem;
    text-transform: uppercase;
    letter-spacing: 0.06em;
    color: var(--ink-soft);
    font-weight: 700;
    margin: 0.7rem 0 0.3rem;
  }
`;
