/**
 * Inline SVG icons (no icon font, no CDN: classrooms are often offline). Decorative: the buttons
 * that use them carry their own labels.
 */
import { svg } from 'lit';

const wrap = (body: ReturnType<typeof svg>) =>
  svg`<svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false" fill="currentColor">${body}</svg>`;

export const icons = {
  play: wrap(svg`<path d="M4 2.5v11l9-5.5z" />`),
  pause: wrap(
    svg`<rect x="3.5" y="2.5" width="3" height="11" rx="0.8" /><rect x="9.5" y="2.5" width="3" height="11" rx="0.8" />`,
  ),
  step: wrap(svg`<path d="M2.5 2.5v11l7.5-5.5z" /><rect x="11" y="2.5" width="2.6" height="11" rx="0.8" />`),
  first: wrap(svg`<rect x="2.4" y="2.5" width="2.6" height="11" rx="0.8" /><path d="M13.5 2.5v11L6 8z" />`),
  back: wrap(svg`<path d="M12 2.5v11L4 8z" />`),
  forward: wrap(svg`<path d="M4 2.5v11L12 8z" />`),
  live: wrap(svg`<circle cx="8" cy="8" r="4.2" />`),
  down: wrap(
    svg`<path d="M3 5.5l5 5 5-5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />`,
  ),
  up: wrap(
    svg`<path d="M3 10.5l5-5 5 5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />`,
  ),
  reset: wrap(
    svg`<path d="M3.2 8a4.8 4.8 0 1 0 1.5-3.5" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" /><path d="M2.5 2.2v3.6h3.6z" />`,
  ),
};
