// BM25's text analysis: how a passage's text becomes index terms (word split, identifier
// splitting, stop words, stemming). Kept apart from the index (bm25.ts) because two writers must
// agree term for term: the in-memory build from texts, and the per-segment term lists written at
// save time (segment-file.ts) from which a loaded index builds BM25 without reading any text.
// Pure TypeScript, no `vscode`.

import type { Passage, TextSegment } from '../types';

/**
 * English stop words (a common list, close to NLTK's, without contraction fragments). Checked on the
 * lowercased surface form, before stemming.
 */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a about above after again against all am an and any are as at be because been before being ' +
    'below between both but by can could did do does doing down during each few for from further ' +
    'had has have having he her here hers herself him himself his how i if in into is it its itself ' +
    'just me more most my myself no nor not now of off on once only or other our ours ourselves out ' +
    'over own same she should so some such than that the their theirs them themselves then there ' +
    'these they this those through to too under until up very was we were what when where which ' +
    'while who whom why will with would you your yours yourself yourselves'
  ).split(' '),
);

/** A word: a maximal run of letters, digits and underscores. */
export const WORD_RE = /[\p{L}\p{N}_]+/gu;
const ASCII_LOWER_RE = /^[a-z]+$/;
const VOWEL_RE = /[aeiouy]/;
/** An uppercase letter after the first character: the only way a word without `_` can split. */
const INNER_UPPER_RE = /.\p{Lu}/u;

/**
 * Light English suffix stemmer. Applies, in order, to lowercase ASCII words only (anything with a
 * digit, an underscore or a non-ASCII letter is returned unchanged):
 *  1. plural S-stemmer (Harman): -ies → -y (not -eies/-aies), -es → -e (not -aes/-ees/-oes),
 *     -s → '' (not -us/-ss);
 *  2. one of: -ied → -y; -ing / -ed removed when at least two letters with a vowel remain
 *     (-eed is kept: need, speed); the stem then loses a doubled final consonant other than
 *     l/s/z when at least three letters remain (running → run, stopped → stop, added → add);
 *     or -ily → -y (easily → easy); or -ly removed when at least four letters remain that do
 *     not end in p (quickly → quick; apply, reply, only stay);
 *  3. a final -e is removed when at least two letters remain (close/closing/closes → clos).
 * The same function stems index and query words, so only consistency matters, not linguistics.
 */
export function stem(word: string): string {
  if (word.length < 3 || !ASCII_LOWER_RE.test(word)) return word;
  let w = word;

  // 1. plurals
  if (w.endsWith('ies') && !w.endsWith('eies') && !w.endsWith('aies') && w.length > 4) {
    w = w.slice(0, -3) + 'y';
  } else if (w.endsWith('es') && !w.endsWith('aes') && !w.endsWith('ees') && !w.endsWith('oes')) {
    w = w.slice(0, -1);
  } else if (w.endsWith('s') && !w.endsWith('us') && !w.endsWith('ss')) {
    w = w.slice(0, -1);
  }

  // 2. -ing / -ed / -ly
  if (w.endsWith('ied') && w.length > 4) {
    w = w.slice(0, -3) + 'y';
  } else if (w.endsWith('ing') || (w.endsWith('ed') && !w.endsWith('eed'))) {
    const base = w.slice(0, w.endsWith('ing') ? -3 : -2);
    if (base.length >= 2 && VOWEL_RE.test(base)) {
      w = base;
      const last = w[w.length - 1];
      if (w.length > 3 && last === w[w.length - 2] && !'aeioulsz'.includes(last)) {
        w = w.slice(0, -1);
      }
    }
  } else if (w.endsWith('ily') && w.length >= 6) {
    w = w.slice(0, -3) + 'y';
  } else if (w.endsWith('ly') && w.length >= 6 && w[w.length - 3] !== 'p') {
    w = w.slice(0, -2);
  }

  // 3. final e
  if (w.endsWith('e') && w.length >= 3) w = w.slice(0, -1);
  return w;
}

/**
 * Splits one word (a maximal `[\p{L}\p{N}_]` run) at snake_case and camelCase boundaries:
 * `onSend` → [on, Send], `HTTPServer` → [HTTP, Server], `snake_case` → [snake, case],
 * `getURL2` → [get, URL2]. Digits stay attached. Returns [] when the word has no inner boundary.
 */
export function splitIdentifier(word: string): string[] {
  if (!word.includes('_') && !INNER_UPPER_RE.test(word)) return [];
  const parts: string[] = [];
  for (const chunk of word.split('_')) {
    if (chunk === '') continue;
    // lower/digit → Upper, and Upper → Upper+lower (acronym end)
    const pieces = chunk
      .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1\u0000$2')
      .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1\u0000$2')
      .split('\u0000');
    for (const p of pieces) if (p !== '') parts.push(p);
  }
  return parts.length > 1 ? parts : [];
}

/**
 * The index terms of one word: its whole lowercased form and, for identifiers, each part's, with
 * stop words dropped and the rest stemmed. Duplicates are kept out (`a_a` gives one `a` term).
 */
export function wordTerms(word: string): string[] {
  const out: string[] = [];
  const add = (w: string): void => {
    const lower = w.toLowerCase();
    if (STOP_WORDS.has(lower)) return;
    const t = stem(lower);
    if (!out.includes(t)) out.push(t);
  };
  add(word);
  for (const part of splitIdentifier(word)) add(part);
  return out;
}

/** All index terms of a text, in order (a word contributes each of its distinct terms once). */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(WORD_RE)) for (const t of wordTerms(m[0])) out.push(t);
  return out;
}

/** The text BM25 indexes for a passage: its context, then its segments. */
export function passageIndexText(p: Passage): string {
  return indexText(p.context, p.segments);
}


/** The text BM25 indexes for a context and text segments (passageIndexText without a Passage). */
export function indexText(context: string, segments: readonly TextSegment[]): string {
  const body = segments.map((s) => s.text).join('\n');
  return context ? `${context}\n${body}` : body;
}

/**
 * One passage's terms as a TermCounter counted them: ids into that counter's `terms` (shared
 * with the other passages it counted, and growing as it counts more) and their counts, in
 * order of first occurrence — the pairs a segment stores, in its own numbering.
 */
export interface CountedTerms {
  dictionary: readonly string[];
  ids: Int32Array;
  tfs: Int32Array;
}

/**
 * Counts the index terms of one passage at a time, interning terms into ids (0, 1, … in order of
 * first use). Both BM25 builds count through this, so a passage's (term, count) pairs and its
 * length are the same whichever path computed them. The length is the number of term
 * occurrences, which is also the sum of the counts.
 */
export class TermCounter {
  /** Term of each id. */
  readonly terms: string[] = [];
  private readonly ids = new Map<string, number>();
  /** surface word → term ids, so each distinct word is split and stemmed once */
  private readonly wordIds = new Map<string, number[]>();
  private tf = new Int32Array(1024);
  /** Distinct term ids of the last counted passage, in order of first occurrence. */
  readonly seen: number[] = [];

  constructor(vocab?: Map<string, number>, terms?: string[]) {
    if (vocab) this.ids = vocab;
    if (terms) this.terms = terms;
  }

  /** Id of a term, interning it. */
  termId(t: string): number {
    let id = this.ids.get(t);
    if (id === undefined) {
      id = this.terms.length;
      this.terms.push(t);
      this.ids.set(t, id);
    }
    return id;
  }

  /**
   * Counts one passage's text (clearing the previous passage's counts): afterwards `seen` holds
   * its distinct term ids and `count(id)` their counts. Returns its length in term occurrences.
   */
  add(text: string): number {
    for (const id of this.seen) this.tf[id] = 0;
    this.seen.length = 0;
    let len = 0;
    for (const m of text.matchAll(WORD_RE)) {
      let ids = this.wordIds.get(m[0]);
      if (ids === undefined) {
        ids = wordTerms(m[0]).map((t) => this.termId(t));
        this.wordIds.set(m[0], ids);
        if (this.terms.length > this.tf.length) {
          const grown = new Int32Array(Math.max(this.terms.length, this.tf.length * 2));
          grown.set(this.tf);
          this.tf = grown;
        }
      }
      for (const id of ids) {
        if (this.tf[id]++ === 0) this.seen.push(id);
        len++;
      }
    }
    return len;
  }

  /** Count of term `id` in the last counted passage. */
  count(id: number): number {
    return this.tf[id];
  }

  /** The last counted passage's terms, copied out. */
  counted(): CountedTerms {
    const ids = Int32Array.from(this.seen);
    return { dictionary: this.terms, ids, tfs: ids.map((id) => this.tf[id]) };
  }
}
