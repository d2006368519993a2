// Lexical peer: Okapi BM25 over passages, with a light suffix stemmer, an English stop-word list and
// identifier splitting (camelCase / snake_case). Pure TypeScript, no `vscode`.

import type { Passage } from '../types';

/** BM25 free parameters (classic values). */
export const BM25_K1 = 1.2;
export const BM25_B = 0.75;

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

const WORD_RE = /[\p{L}\p{N}_]+/gu;
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
  const body = p.segments.map((s) => s.text).join('\n');
  return p.context ? `${p.context}\n${body}` : body;
}

/**
 * Okapi BM25 over passages (context + body). Score of document d for query q:
 *   Σ_{t ∈ distinct terms of q}  idf(t) · tf·(k1+1) / (tf + k1·(1 − b + b·|d|/avgdl))
 * with idf(t) = ln(1 + (N − n_t + 0.5)/(n_t + 0.5)) (the non-negative Lucene form), |d| the number of
 * terms of d and avgdl their mean. Postings are stored per term in typed arrays.
 */
export class Bm25Index {
  readonly k1 = BM25_K1;
  readonly b = BM25_B;
  private readonly vocab = new Map<string, number>();
  /**
   * Postings of all terms in flat typed arrays (compressed sparse rows): term t's passages, in
   * ascending order, are postingDocs[termStart[t] .. termStart[t + 1]), with their term counts in
   * postingTfs. No per-passage or per-term objects are kept (at 100k passages, arrays of numbers
   * per term held several times the memory during the build).
   */
  private readonly termStart: Int32Array;
  private readonly postingDocs: Int32Array;
  private readonly postingTfs: Int32Array;
  private readonly docLen: Float64Array;
  private readonly avgdl: number;
  private readonly n: number;

  /** Reads each passage's text once, in order: only one passage's text is needed at a time. */
  constructor(passages: readonly Passage[]) {
    this.n = passages.length;
    this.docLen = new Float64Array(this.n);
    // Pass 1, passage by passage: its distinct term ids and their counts, appended to flat arrays.
    let docTerms = new Int32Array(1024);
    let docTfs = new Int32Array(1024);
    let used = 0;
    const docStart = new Int32Array(this.n + 1);
    let df = new Int32Array(1024);
    let terms = 0;
    let total = 0;
    // surface word → term ids, so each distinct word is split and stemmed once (build time only)
    const wordIds = new Map<string, number[]>();
    const termId = (t: string): number => {
      let id = this.vocab.get(t);
      if (id === undefined) {
        id = terms++;
        this.vocab.set(t, id);
      }
      return id;
    };
    let tf = new Int32Array(1024); // per-term count in the current passage
    const seen: number[] = [];
    for (let d = 0; d < this.n; d++) {
      let len = 0;
      for (const m of passageIndexText(passages[d]).matchAll(WORD_RE)) {
        let ids = wordIds.get(m[0]);
        if (ids === undefined) {
          ids = wordTerms(m[0]).map(termId);
          wordIds.set(m[0], ids);
          if (terms > tf.length) {
            tf = growInt32(tf, Math.max(terms, tf.length * 2));
            df = growInt32(df, tf.length);
          }
        }
        for (const id of ids) {
          if (tf[id]++ === 0) seen.push(id);
          len++;
        }
      }
      this.docLen[d] = len;
      total += len;
      if (used + seen.length > docTerms.length) {
        const cap = Math.max(used + seen.length, docTerms.length * 2);
        docTerms = growInt32(docTerms, cap);
        docTfs = growInt32(docTfs, cap);
      }
      for (const id of seen) {
        docTerms[used] = id;
        docTfs[used++] = tf[id];
        df[id]++;
        tf[id] = 0;
      }
      docStart[d + 1] = used;
      seen.length = 0;
    }
    // Pass 2: invert into per-term rows; passages go in ascending order, as they were met.
    this.termStart = new Int32Array(terms + 1);
    for (let t = 0; t < terms; t++) this.termStart[t + 1] = this.termStart[t] + df[t];
    this.postingDocs = new Int32Array(used);
    this.postingTfs = new Int32Array(used);
    const fill = this.termStart.slice(0, terms);
    for (let d = 0; d < this.n; d++) {
      for (let k = docStart[d]; k < docStart[d + 1]; k++) {
        const at = fill[docTerms[k]]++;
        this.postingDocs[at] = d;
        this.postingTfs[at] = docTfs[k];
      }
    }
    this.avgdl = this.n > 0 ? total / this.n : 0;
  }

  get size(): number {
    return this.n;
  }

  /** Number of passages containing the term (an already stemmed index term). */
  docFreq(term: string): number {
    const id = this.vocab.get(term);
    return id === undefined ? 0 : this.termStart[id + 1] - this.termStart[id];
  }

  idf(term: string): number {
    const df = this.docFreq(term);
    return Math.log(1 + (this.n - df + 0.5) / (df + 0.5));
  }

  /** Top `topK` passages by BM25 score: score desc, ties by index asc, only scores > 0. */
  search(query: string, topK: number): Array<{ index: number; score: number }> {
    if (topK <= 0 || this.n === 0) return [];
    const terms = [...new Set(tokenize(query))];
    const scores = new Float64Array(this.n);
    const touched: number[] = [];
    const k1 = this.k1;
    const b = this.b;
    const avgdl = this.avgdl > 0 ? this.avgdl : 1;
    for (const t of terms) {
      const id = this.vocab.get(t);
      if (id === undefined) continue;
      const from = this.termStart[id];
      const to = this.termStart[id + 1];
      const docs = this.postingDocs;
      const tfs = this.postingTfs;
      const idf = Math.log(1 + (this.n - (to - from) + 0.5) / (to - from + 0.5));
      for (let i = from; i < to; i++) {
        const d = docs[i];
        const tf = tfs[i];
        if (scores[d] === 0) touched.push(d);
        scores[d] += (idf * (tf * (k1 + 1))) / (tf + k1 * (1 - b + (b * this.docLen[d]) / avgdl));
      }
    }
    return topByScore(touched, scores, topK);
  }
}

function growInt32(a: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size);
  b.set(a);
  return b;
}

/** "a ranks before b": higher score, then lower index. */
function before(scores: Float64Array, a: number, b: number): boolean {
  return scores[a] > scores[b] || (scores[a] === scores[b] && a < b);
}

/**
 * The `k` best of `candidates` (score desc, index asc; scores ≤ 0 dropped), via a size-k heap whose
 * root is the worst kept candidate, so a common term over 100k passages costs O(n log k).
 */
function topByScore(candidates: readonly number[], scores: Float64Array, k: number): Array<{ index: number; score: number }> {
  const heap: number[] = [];
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < heap.length && before(scores, heap[worst], heap[l])) worst = l;
      if (r < heap.length && before(scores, heap[worst], heap[r])) worst = r;
      if (worst === i) return;
      [heap[i], heap[worst]] = [heap[worst], heap[i]];
      i = worst;
    }
  };
  for (const d of candidates) {
    if (!(scores[d] > 0)) continue;
    if (heap.length < k) {
      heap.push(d);
      for (let i = heap.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (!before(scores, heap[parent], heap[i])) break;
        [heap[i], heap[parent]] = [heap[parent], heap[i]];
        i = parent;
      }
    } else if (before(scores, d, heap[0])) {
      heap[0] = d;
      siftDown(0);
    }
  }
  heap.sort((a, b) => (before(scores, a, b) ? -1 : 1));
  return heap.map((index) => ({ index, score: scores[index] }));
}

/** The distinct non-stop, stemmed terms of a query (whole words and identifier parts). */
export function queryTerms(query: string): Set<string> {
  return new Set(tokenize(query));
}

/**
 * Absolute file ranges `[start, end)` of the passage body's words (not its context) that share a
 * term with the query: a word matches when its whole form or one of its identifier parts stems to
 * a non-stop query term. Whole words are highlighted. Ranges are sorted; two are merged only when
 * they touch (one ends where the next starts).
 */
export function queryWordHighlights(query: string, passage: Passage): Array<[number, number]> {
  const wanted = queryTerms(query);
  if (wanted.size === 0) return [];
  const ranges: Array<[number, number]> = [];
  for (const seg of passage.segments) {
    for (const m of seg.text.matchAll(WORD_RE)) {
      if (wordTerms(m[0]).some((t) => wanted.has(t))) {
        const s = seg.offset + (m.index ?? 0);
        ranges.push([s, s + m[0].length]);
      }
    }
  }
  ranges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}
