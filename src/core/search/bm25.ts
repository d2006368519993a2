// Lexical peer: Okapi BM25 over passages, with a light suffix stemmer, an English stop-word list and
// identifier splitting (camelCase / snake_case) — the analysis is in bm25-analysis.ts. Built either
// from the passages' texts or, for units of a saved index, from the term lists their segments
// store (segment-file.ts), which reads no text: at 100k passages reading and analysing every text
// was most of the first query after each open. Pure TypeScript, no `vscode`.

import type { Passage } from '../types';
import { passageIndexText, tokenize, TermCounter, WORD_RE, wordTerms } from './bm25-analysis';

export { passageIndexText, splitIdentifier, stem, STOP_WORDS, tokenize, wordTerms } from './bm25-analysis';

/** BM25 free parameters (classic values). */
export const BM25_K1 = 1.2;
export const BM25_B = 0.75;

/**
 * The analysed terms of a group of passages (one segment's units), as TermCounter counted them:
 * passage p's pairs are ids[start[p] .. start[p + 1]) with their counts in tfs; ids index
 * `dictionary`. A passage's length is the sum of its counts.
 */
export interface TermLists {
  dictionary: readonly string[];
  start: Int32Array;
  ids: Uint16Array | Uint32Array;
  tfs: Uint8Array | Uint16Array | Uint32Array;
}

/** Where a passage's terms are stored: its number in a TermLists. */
export interface StoredTermsRef {
  lists: TermLists;
  local: number;
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

  /**
   * `storedTerms(d)`, when it gives passage d's stored term lists, is used instead of its text;
   * the other passages' texts are read once each, in order (only one is needed at a time). Both
   * give the same pairs and lengths (TermCounter), and term ids do not enter the scores, so
   * the index answers identically either way.
   */
  constructor(passages: readonly Passage[], storedTerms?: (d: number) => StoredTermsRef | undefined) {
    this.n = passages.length;
    this.docLen = new Float64Array(this.n);
    const counter = new TermCounter(this.vocab);
    // Where passage d's pairs are: in lists[docList[d]] at docLocal[d], or (docList -1) in the
    // pairs counted here from its text, at textStart[docLocal[d]].
    const docList = new Int32Array(this.n);
    const docLocal = new Int32Array(this.n);
    const lists: TermLists[] = [];
    /** Per list, its dictionary's global term ids. */
    const globalIds: Int32Array[] = [];
    const listNo = new Map<TermLists, number>();
    let textTerms = new Int32Array(1024);
    let textTfs = new Int32Array(1024);
    let textStart = new Int32Array(1025);
    let texts = 0;
    let used = 0;
    let df = new Int32Array(1024);
    let total = 0;
    // Pass 1: each passage's pairs (stored, or counted from its text), its length, and df.
    for (let d = 0; d < this.n; d++) {
      const ref = storedTerms?.(d);
      let len = 0;
      if (ref) {
        let k = listNo.get(ref.lists);
        if (k === undefined) {
          k = lists.push(ref.lists) - 1;
          listNo.set(ref.lists, k);
          globalIds.push(Int32Array.from(ref.lists.dictionary, (t) => counter.termId(t)));
          if (counter.terms.length > df.length) df = growInt32(df, Math.max(counter.terms.length, df.length * 2));
        }
        docList[d] = k;
        docLocal[d] = ref.local;
        const { start, ids, tfs } = ref.lists;
        const g = globalIds[k];
        for (let i = start[ref.local]; i < start[ref.local + 1]; i++) {
          df[g[ids[i]]]++;
          len += tfs[i];
        }
      } else {
        len = counter.add(passageIndexText(passages[d]));
        if (counter.terms.length > df.length) df = growInt32(df, Math.max(counter.terms.length, df.length * 2));
        const seen = counter.seen;
        if (used + seen.length > textTerms.length) {
          const cap = Math.max(used + seen.length, textTerms.length * 2);
          textTerms = growInt32(textTerms, cap);
          textTfs = growInt32(textTfs, cap);
        }
        for (const id of seen) {
          textTerms[used] = id;
          textTfs[used++] = counter.count(id);
          df[id]++;
        }
        docList[d] = -1;
        docLocal[d] = texts;
        if (texts + 2 > textStart.length) textStart = growInt32(textStart, textStart.length * 2);
        textStart[++texts] = used;
      }
      this.docLen[d] = len;
      total += len;
    }
    // Pass 2: invert into per-term rows; passages go in ascending order, as they are met.
    const terms = counter.terms.length;
    this.termStart = new Int32Array(terms + 1);
    for (let t = 0; t < terms; t++) this.termStart[t + 1] = this.termStart[t] + df[t];
    this.postingDocs = new Int32Array(this.termStart[terms]);
    this.postingTfs = new Int32Array(this.termStart[terms]);
    const fill = this.termStart.slice(0, terms);
    for (let d = 0; d < this.n; d++) {
      const k = docList[d];
      if (k >= 0) {
        const { start, ids, tfs } = lists[k];
        const g = globalIds[k];
        for (let i = start[docLocal[d]]; i < start[docLocal[d] + 1]; i++) {
          const at = fill[g[ids[i]]]++;
          this.postingDocs[at] = d;
          this.postingTfs[at] = tfs[i];
        }
      } else {
        for (let i = textStart[docLocal[d]]; i < textStart[docLocal[d] + 1]; i++) {
          const at = fill[textTerms[i]]++;
          this.postingDocs[at] = d;
          this.postingTfs[at] = textTfs[i];
        }
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
