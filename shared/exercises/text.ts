/**
 * The two languages of the lab and the small helpers every message of this module goes through.
 * Exercise files carry their own words as `{ "en": "…", "zh-CN": "…" }`; the words this module
 * writes itself (explanations of unmet goals, answer feedback) come from `say(lang, en, zh)`.
 */

export type Lang = 'en' | 'zh-CN';

export const LANGS: readonly Lang[] = ['en', 'zh-CN'];

/** Text in both languages, as exercise files write it. */
export type Localized = Record<Lang, string>;

/** Any browser or user language tag to one of ours: `zh`, `zh-Hans`, `zh-TW`… → zh-CN; else en. */
export function toLang(tag: string | undefined): Lang {
  return tag !== undefined && /^zh\b/i.test(tag) ? 'zh-CN' : 'en';
}

/** The text in `lang`. */
export function pick(text: Localized, lang: Lang): string {
  return text[lang];
}

/** One of two literal sentences, by language. */
export function say(lang: Lang, en: string, zh: string): string {
  return lang === 'en' ? en : zh;
}

/** A virtual time as the ladder shows it: `t=1050 ms`. */
export function at(t: number): string {
  return `t=${Math.round(t * 1000) / 1000} ms`;
}

/** A span of virtual time: `4000 ms`. */
export function ms(d: number): string {
  return `${Math.round(d * 1000) / 1000} ms`;
}

/** Joins clauses into a list: "a, b and c" / "a、b 和 c". */
export function list(lang: Lang, items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  const head = items.slice(0, -1);
  const last = items[items.length - 1]!;
  return lang === 'en' ? `${head.join(', ')} and ${last}` : `${head.join('、')}和${last}`;
}

/** "1 time" / "3 times" / "3 次". */
export function times(lang: Lang, n: number): string {
  if (lang === 'zh-CN') return `${n} 次`;
  return n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`;
}

/** Chinese text with a space between Han characters and Latin letters or digits, as the notes write. */
export function tidy(lang: Lang, s: string): string {
  if (lang !== 'zh-CN') return s;
  return s
    .replace(/([\u4e00-\u9fff])([A-Za-z0-9#])/g, '$1 $2')
    .replace(/([A-Za-z0-9)])([\u4e00-\u9fff])/g, '$1 $2');
}

/** Joins sentences, with the sentence separator of the language. */
export function sentences(lang: Lang, parts: readonly string[]): string {
  const kept = parts.filter((p) => p !== '');
  return lang === 'en' ? kept.join('; ') : kept.join('；');
}
