/**
 * Two languages, chosen from the browser's (zh* → 简体中文, else English) and switchable; the
 * choice is remembered in localStorage. `t(key, params)` formats `{name}` placeholders. Components
 * add a `LocaleController` so they re-render when the language changes.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { en, type MessageKey } from './en.ts';
import { zh } from './zh-CN.ts';

export type Locale = 'en' | 'zh-CN';
export const LOCALES: ReadonlyArray<{ id: Locale; label: string }> = [
  { id: 'zh-CN', label: '中文' },
  { id: 'en', label: 'English' },
];

const DICTS: Record<Locale, Record<MessageKey, string>> = { en, 'zh-CN': zh };
const STORAGE_KEY = 'tcplab.locale';
const EVENT = 'tcp-locale-change';

export function detectLocale(languages: readonly string[] = navigatorLanguages()): Locale {
  for (const l of languages) {
    const lower = l.toLowerCase();
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

function navigatorLanguages(): readonly string[] {
  if (typeof navigator === 'undefined') return ['en'];
  return navigator.languages?.length ? navigator.languages : [navigator.language ?? 'en'];
}

function stored(): Locale | undefined {
  try {
    const v = globalThis.localStorage?.getItem(STORAGE_KEY);
    return v === 'en' || v === 'zh-CN' ? v : undefined;
  } catch {
    return undefined;
  }
}

let current: Locale = stored() ?? detectLocale();
applyDocumentLang();

function applyDocumentLang(): void {
  if (typeof document !== 'undefined') document.documentElement.lang = current;
}

export function getLocale(): Locale {
  return current;
}

export function setLocale(l: Locale): void {
  if (l === current) return;
  current = l;
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, l);
  } catch {
    // private mode: the choice lasts for this page only
  }
  applyDocumentLang();
  globalThis.dispatchEvent?.(new CustomEvent(EVENT, { detail: { locale: l } }));
}

export type Params = Record<string, string | number>;

export function t(key: MessageKey, params?: Params): string {
  const text = DICTS[current][key] ?? en[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in params ? String(params[name]) : m));
}

/** True when the dictionary has `key` (for keys built from data, e.g. errno names). */
export function has(key: string): key is MessageKey {
  return key in en;
}

/** `t` for keys built at run time, with a fallback when the key is unknown. */
export function tk(key: string, fallback: string, params?: Params): string {
  return has(key) ? t(key, params) : fallback;
}

export class LocaleController implements ReactiveController {
  private readonly host: ReactiveControllerHost;
  private readonly onChange = () => this.host.requestUpdate();

  constructor(host: ReactiveControllerHost) {
    this.host = host;
    host.addController(this);
  }

  hostConnected(): void {
    globalThis.addEventListener(EVENT, this.onChange);
  }

  hostDisconnected(): void {
    globalThis.removeEventListener(EVENT, this.onChange);
  }
}

/** Seconds with 3 decimals in the locale's style ("1.234 s" / "1.234 秒"). */
export function seconds(ms: number, digits = 3): string {
  return t('unit.seconds', { n: (ms / 1000).toFixed(digits) });
}

export type { MessageKey };
