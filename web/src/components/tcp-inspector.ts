/**
 * Segment inspector: the chosen segment's header drawn like the course notes' header table (32
 * bits a row, each field with its value), every field with its meaning, the options, the payload,
 * a hex dump where the field under the pointer is highlighted (both ways), whether the checksums
 * verify, and what happened to the segment and why the engine sent it.
 */
import { css, html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { emit } from '../events.ts';
import { LocaleController, t, tk } from '../i18n/index.ts';
import { type FieldKey, type HeaderField, payloadText, viewPacket } from '../model/packet-view.ts';
import type { RoomStore } from '../model/room-store.ts';
import { fullInfo, type Segment, tagText } from '../model/segments.ts';
import { base } from '../styles/theme.ts';
import { fmtT } from './ui.ts';

/** The rows of the notes' diagram: fields with their bit widths. */
const DIAGRAM: FieldKey[][] = [
  ['tcp.srcPort', 'tcp.dstPort'],
  ['tcp.seq'],
  ['tcp.ack'],
  ['tcp.dataOffset', 'tcp.reserved', 'tcp.flags', 'tcp.window'],
  ['tcp.checksum', 'tcp.urgent'],
];

const BITS: Partial<Record<FieldKey, number>> = {
  'tcp.srcPort': 16,
  'tcp.dstPort': 16,
  'tcp.seq': 32,
  'tcp.ack': 32,
  'tcp.dataOffset': 4,
  'tcp.reserved': 4,
  'tcp.flags': 8,
  'tcp.window': 16,
  'tcp.checksum': 16,
  'tcp.urgent': 16,
};

@customElement('tcp-inspector')
export class TcpInspector extends LitElement {
  static override styles = [
    base,
    css`
      :host {
        display: block;
        height: 100%;
        overflow: auto;
        font-size: 0.84rem;
      }
      .empty {
        padding: 1rem;
        color: var(--ink-soft);
      }
      .cols {
        display: grid;
        grid-template-columns: minmax(0, 1.25fr) minmax(0, 1fr);
        gap: 0.9rem;
        padding: 0.6rem 0.8rem;
      }
      .summary {
        font-family: var(--mono);
        font-weight: 600;
        word-break: break-word;
      }
      .tags {
        color: var(--danger);
        font-weight: 700;
        font-family: var(--mono);
      }
      .fates {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem 0.5rem;
        margin: 0.3rem 0;
        font-size: 0.8rem;
      }
      .fate {
        border-radius: 5px;
        padding: 0.05em 0.45em;
        background: var(--surface-2);
        border: 1px solid var(--line);
        font-family: var(--mono);
      }
      .fate.bad {
        border-color: var(--danger);
        background: var(--danger-soft);
      }
      .why {
        margin: 0.25rem 0;
        padding: 0.3rem 0.5rem;
        background: var(--info-soft);
        border-left: 4px solid var(--info);
        border-radius: 5px;
      }
      .links {
        display: flex;
        gap: 0.35rem;
        flex-wrap: wrap;
        align-items: center;
      }
      .diagram {
        display: grid;
        grid-template-columns: repeat(32, 1fr);
        border: 1px solid var(--line-strong);
        border-radius: 6px;
        overflow: hidden;
        margin: 0.4rem 0;
        font-size: 0.74rem;
      }
      .cell {
        border-right: 1px solid var(--line-strong);
        border-bottom: 1px solid var(--line-strong);
        padding: 0.15rem 0.3rem;
        text-align: center;
        min-width: 0;
        overflow: hidden;
        cursor: default;
        background: var(--surface);
      }
      .cell .n {
        display: block;
        color: var(--ink-soft);
        font-size: 0.68rem;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .cell .v {
        display: block;
        font-family: var(--mono);
        font-weight: 600;
        white-space: nowrap;
        overflow: hidden;
        text-overflow: ellipsis;
      }
      .cell.hl,
      tr.hl td {
        background: #fff1c2 !important;
      }
      .cell.bad .v {
        color: var(--danger);
      }
      table {
        width: 100%;
        border-collapse: collapse;
        font-size: 0.78rem;
      }
      th {
        text-align: left;
        color: var(--ink-soft);
        font-weight: 600;
        border-bottom: 1px solid var(--line);
        padding: 0.15rem 0.3rem;
      }
      td {
        border-bottom: 1px solid var(--line);
        padding: 0.15rem 0.3rem;
        vertical-align: top;
      }
      td.v {
        font-family: var(--mono);
        white-space: nowrap;
      }
      td.m {
        color: var(--ink-soft);
      }
      .ck-ok {
        color: var(--ok);
        font-weight: 700;
      }
      .ck-bad {
        color: var(--danger);
        font-weight: 700;
      }
      .hex {
        font-family: var(--mono);
        font-size: 0.78rem;
        line-height: 1.5;
        user-select: text;
      }
      .hexrow {
        display: flex;
        gap: 0.6rem;
        white-space: pre;
      }
      .off {
        color: var(--ink-soft);
      }
      .b {
        padding: 0 1px;
        border-radius: 2px;
        cursor: default;
      }
      .b.ip {
        color: #475569;
      }
      .b.data {
        color: var(--ok);
      }
      .b.hl {
        background: #ffd866;
        color: #000;
      }
      details summary {
        cursor: pointer;
        font-weight: 600;
        margin: 0.3rem 0;
      }
      .payload {
        font-family: var(--mono);
        background: var(--surface-2);
        border: 1px solid var(--line);
        border-radius: 5px;
        padding: 0.25rem 0.4rem;
        white-space: pre-wrap;
        word-break: break-all;
        max-height: 6em;
        overflow: auto;
      }
    `,
  ];

  @property({ attribute: false }) segment: Segment | undefined;
  @property({ attribute: false }) store: RoomStore | undefined;
  @property({ type: Boolean }) absolute = false;
  @property({ type: Number }) version = 0;
  @state() private _hl: FieldKey | null = null;
  @state() private _received = false;
  protected readonly locale = new LocaleController(this);

  override render() {
    const seg = this.segment;
    if (!seg) return html`<div class="empty">${t('insp.none')}</div>`;
    const received = this._received && seg.corrupted;
    const bytes = received ? seg.corrupted!.bytes : seg.bytes;
    // Headers-first replay: until the payload arrives, the bytes end with the TCP header.
    const cut = received ? seg.corrupted!.cut : seg.cut;
    const view = viewPacket(bytes);
    if (cut)
      for (const f of view.fields)
        if (f.key === 'tcp.checksum') {
          delete f.ok;
          delete f.expected;
        }
    return html`<div class="cols">
      <section aria-label=${t('insp.headerAria')}>
        ${this.renderSummary(seg)} ${this.renderDiagram(view.fields)} ${this.renderTable(view.fields)}
      </section>
      <section aria-label=${t('insp.bytesAria')}>
        ${
          cut
            ? html`<div class="muted" role="status">${t('insp.payloadLater', { n: seg.h?.payloadLen ?? 0 })}</div>`
            : html`${this.renderChecks(view)} ${this.renderPayload(bytes, view.payloadStart, view.payloadEnd)}`
        }
        <div class="section-title">${t('insp.hex')}</div>
        ${this.renderHex(bytes, view.fields)}
      </section>
    </div>`;
  }

  private select(id: number) {
    emit(this, 'segment-select', { id, reveal: true });
  }

  private renderSummary(seg: Segment) {
    const addrs = this.store?.info.addrs ?? { A: '10.0.0.1', B: '10.0.0.2' };
    const fates: Array<{ text: string; bad?: boolean }> = [
      {
        text: `${seg.start.fate === 'duplicated' ? t('insp.dupAt') : t('insp.sentAt')} ${fmtT(seg.start.t)}`,
      },
    ];
    if (seg.held) fates.push({ text: `${t('insp.heldAt')} ${fmtT(seg.held.t)}` });
    if (seg.released) fates.push({ text: `${t('insp.releasedAt')} ${fmtT(seg.released.t)}` });
    if (seg.delayed) fates.push({ text: t('insp.delayed', { ms: seg.delayed.ms }) });
    if (seg.corrupted) fates.push({ text: t('insp.corrupted'), bad: true });
    if (seg.end) {
      const cause =
        seg.end.cause !== 'none'
          ? ` (${tk(`cause.${seg.end.cause}`, seg.end.cause)}${this.ruleLabel(seg)})`
          : '';
      fates.push({
        text: `${seg.end.fate === 'arrived' ? t('insp.arrivedAt') : t('insp.droppedAt')} ${fmtT(seg.end.t)}${cause}`,
        bad: seg.end.fate === 'dropped',
      });
    } else fates.push({ text: seg.held && !seg.released ? t('seg.heldNow') : t('seg.inFlight') });
    if (seg.discard)
      fates.push({
        text: `⊘ ${t('insp.discarded')}: ${seg.discard.detail || seg.discard.reason}`,
        bad: true,
      });
    const rex = seg.tags.find((x) => x.kind === 'retransmission' || x.kind === 'fast-retransmission') as
      | { of: number | undefined; nth: number }
      | undefined;
    const dup = seg.tags.find((x) => x.kind === 'dup-ack') as { of: number; count: number } | undefined;
    return html`<div class="summary">
        #${seg.id} ${seg.from} ${addrs[seg.from]} → ${seg.to} ${addrs[seg.to]}
      </div>
      ${seg.tags.length ? html`<div class="tags">${seg.tags.map(tagText).join(' ')}</div>` : nothing}
      <div class="summary" style="font-weight:400">${fullInfo(seg, { absolute: this.absolute })}</div>
      <div class="fates">${fates.map((f) => html`<span class="fate ${f.bad ? 'bad' : ''}">${f.text}</span>`)}</div>
      ${seg.why ? html`<div class="why"><strong>${t('seg.why')}:</strong> ${tk(`why.${seg.why}`, seg.why)}</div>` : nothing}
      <div class="links">
        ${
          rex?.of !== undefined
            ? html`<button class="btn small" @click=${() => this.select(rex.of!)}>↖ ${t('insp.repeats', { id: rex.of, n: rex.nth })}</button>`
            : nothing
        }
        ${
          dup
            ? html`<button class="btn small" @click=${() => this.select(dup.of)}>↖ ${t('insp.dupOf', { id: dup.of, n: dup.count })}</button>`
            : nothing
        }
        ${
          seg.copyOf
            ? html`<button class="btn small" @click=${() => this.select(seg.copyOf)}>↖ ${t('insp.copyOf', { id: seg.copyOf })}</button>`
            : nothing
        }
        ${seg.rexmittedBy.map(
          (id) =>
            html`<button class="btn small" @click=${() => this.select(id)}>↘ ${t('insp.rexmittedBy', { id })}</button>`,
        )}
        ${
          seg.corrupted
            ? html`<button class="btn small" aria-pressed=${this._received ? 'true' : 'false'} @click=${() => (this._received = !this._received)}>
              ${t('insp.showReceived')}
            </button>`
            : nothing
        }
      </div>`;
  }

  private ruleLabel(seg: Segment): string {
    if (!seg.ruleId || !this.store) return '';
    const rule = (this.store.info.faults as Array<{ id?: number; label?: string }>).find(
      (r) => r.id === seg.ruleId,
    );
    return rule?.label ? `: ${rule.label}` : ` #${seg.ruleId}`;
  }

  private hover(key: FieldKey | null) {
    this._hl = key;
  }

  private renderDiagram(fields: HeaderField[]) {
    const by = new Map(fields.map((f) => [f.key, f]));
    const cell = (key: FieldKey, span: number) => {
      const f = by.get(key);
      return html`<div
        class="cell ${this._hl === key ? 'hl' : ''} ${f?.ok === false ? 'bad' : ''}"
        style="grid-column: span ${span}"
        @pointerenter=${() => this.hover(key)}
        @pointerleave=${() => this.hover(null)}
        title=${`${t(`field.${key}` as 'field.tcp.seq')} — ${t(`meaning.${key}` as 'meaning.tcp.seq')}`}
      >
        <span class="n">${t(`field.${key}` as 'field.tcp.seq')} (${span})</span>
        <span class="v">${f ? this.shortValue(f) : ''}</span>
      </div>`;
    };
    const opt = by.get('tcp.options');
    const data = by.get('tcp.data');
    return html`<div class="diagram" role="img" aria-label=${t('insp.diagramAria')}>
      ${DIAGRAM.map((row) => row.map((k) => cell(k, BITS[k]!)))}
      <div
        class="cell ${this._hl === 'tcp.options' ? 'hl' : ''}"
        style="grid-column: span 32"
        @pointerenter=${() => this.hover('tcp.options')}
        @pointerleave=${() => this.hover(null)}
      >
        <span class="n">${t('field.tcp.options')}</span><span class="v">${opt?.value ?? '—'}</span>
      </div>
      <div
        class="cell ${this._hl === 'tcp.data' ? 'hl' : ''}"
        style="grid-column: span 32"
        @pointerenter=${() => this.hover('tcp.data')}
        @pointerleave=${() => this.hover(null)}
      >
        <span class="n">${t('field.tcp.data')}</span><span class="v">${data?.value ?? ''}</span>
      </div>
    </div>`;
  }

  private shortValue(f: HeaderField): string {
    const seg = this.segment!;
    if (f.key === 'tcp.seq' && !this.absolute) return `${f.value} (${t('insp.rel')} ${seg.rseq})`;
    if (f.key === 'tcp.ack' && !this.absolute && seg.rack !== undefined)
      return `${f.value} (${t('insp.rel')} ${seg.rack})`;
    if (f.key === 'tcp.checksum') return `${f.value} ${f.ok ? '✓' : '✗'}`;
    return f.value;
  }

  private renderTable(fields: HeaderField[]) {
    const row = (f: HeaderField) => html`<tr
      class=${this._hl === f.key ? 'hl' : ''}
      @pointerenter=${() => this.hover(f.key)}
      @pointerleave=${() => this.hover(null)}
    >
      <td>${t(`field.${f.key}` as 'field.tcp.seq')}</td>
      <td class="v">
        ${this.shortValue(f)}${f.ok === false && f.expected ? html` <span class="ck-bad">(${t('insp.expected')} ${f.expected})</span>` : nothing}
      </td>
      <td class="m">${t(`meaning.${f.key}` as 'meaning.tcp.seq')}</td>
    </tr>`;
    const tcp = fields.filter((f) => f.layer === 'tcp');
    const ip = fields.filter((f) => f.layer === 'ip');
    return html`<table>
        <thead>
          <tr>
            <th scope="col">${t('insp.field')}</th>
            <th scope="col">${t('insp.value')}</th>
            <th scope="col">${t('insp.meaning')}</th>
          </tr>
        </thead>
        <tbody>
          ${tcp.map(row)}
        </tbody>
      </table>
      <details>
        <summary>${t('insp.ipHeader')}</summary>
        <table>
          <tbody>
            ${ip.map(row)}
          </tbody>
        </table>
      </details>`;
  }

  private renderChecks(view: ReturnType<typeof viewPacket>) {
    const ck = (ok: boolean, label: string) =>
      html`<div>
        ${label}: ${ok ? html`<span class="ck-ok">✓ ${t('insp.verifies')}</span>` : html`<span class="ck-bad">✗ ${t('insp.fails')}</span>`}
      </div>`;
    return html`<div class="section-title">${t('insp.checksums')}</div>
      ${view.problem ? html`<div class="error-box">${view.problem}</div>` : nothing}
      ${ck(view.ipChecksumOk, t('insp.ipChecksum'))} ${ck(view.tcpChecksumOk, t('insp.tcpChecksum'))}
      <div class="muted" style="font-size:0.76rem">${t('insp.checksumNote')}</div>`;
  }

  private renderPayload(bytes: Uint8Array, start: number, end: number) {
    if (end <= start) return nothing;
    const text = payloadText(bytes, start, end);
    return html`<div class="section-title">${t('insp.payload', { n: end - start })}</div>
      <div class="payload">${text !== undefined ? text : t('insp.binary')}</div>`;
  }

  private renderHex(bytes: Uint8Array, fields: HeaderField[]) {
    // Each byte belongs to the last field that covers it (TCP fields after IP fields).
    const owner: Array<FieldKey | undefined> = new Array(bytes.length);
    for (const f of fields) for (let i = f.start; i < f.end && i < bytes.length; i++) owner[i] = f.key;
    const hl = this._hl;
    const rows = [];
    for (let r = 0; r < bytes.length; r += 16) {
      const cells = [];
      let ascii = '';
      for (let i = r; i < Math.min(r + 16, bytes.length); i++) {
        const k = owner[i];
        const cls = `b ${k?.startsWith('ip.') ? 'ip' : k === 'tcp.data' ? 'data' : ''} ${hl && k === hl ? 'hl' : ''}`;
        cells.push(
          html`<span class=${cls} @pointerenter=${() => this.hover(k ?? null)} @pointerleave=${() => this.hover(null)}
            >${bytes[i]!.toString(16).padStart(2, '0')}</span
          >${i % 16 === 7 ? '  ' : ' '}`,
        );
        const ch = bytes[i]!;
        ascii += ch >= 0x20 && ch < 0x7f ? String.fromCharCode(ch) : '.';
      }
      rows.push(html`<div class="hexrow">
        <span class="off">${r.toString(16).padStart(4, '0')}</span><span>${cells}</span><span class="off">${ascii}</span>
      </div>`);
    }
    return html`<div class="hex" role="group" aria-label=${t('insp.hexAria', { n: bytes.length })}>${rows}</div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'tcp-inspector': TcpInspector;
  }
}
