// FGR evidence: which words of a shown passage answer the query.
//
// For each passage token j: p_j = sigmoid(scale · max_i q_i·d_j + bias), i over the query's
// own tokens (manifest `evidence.queryTokens`). Tokens with p_j ≥ threshold become ranges, widened
// to whole words (a token may be a word piece) and merged across small gaps so that a phrase
// reads as one highlight rather than a dotted line.

const WORD_CHAR = /[\p{L}\p{N}_]/u;

export interface EvidenceToken {
  start: number;
  end: number;
  p: number;
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Widens [start, end) to the word boundaries of `text` (word = run of letters, digits, '_'). */
export function widenToWord(text: string, start: number, end: number): [number, number] {
  let s = start;
  let e = end;
  while (s > 0 && isWordAt(text, s - 1)) s--;
  while (e < text.length && isWordAt(text, e)) e++;
  return [s, e];
}

function isWordAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 128) return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  // surrogate pairs: test the whole code point
  if (c >= 0xdc00 && c <= 0xdfff && i > 0) return WORD_CHAR.test(text.slice(i - 1, i + 1));
  if (c >= 0xd800 && c <= 0xdbff) return WORD_CHAR.test(text.slice(i, i + 2));
  return WORD_CHAR.test(text[i]);
}

/**
 * Merges sorted-or-not ranges; two ranges join when the text between them has no word
 * characters and is at most `maxGap` long (spaces, punctuation, a line break).
 */
export function mergeRanges(text: string, ranges: Array<[number, number]>, maxGap = 3): Array<[number, number]> {
  const sorted = ranges.filter(([s, e]) => e > s).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Array<[number, number]> = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last && s <= last[1]) {
      last[1] = Math.max(last[1], e);
      continue;
    }
    if (last && s - last[1] <= maxGap) {
      let gapHasWord = false;
      for (let i = last[1]; i < s; i++) if (isWordAt(text, i)) gapHasWord = true;
      if (!gapHasWord) {
        last[1] = Math.max(last[1], e);
        continue;
      }
    }
    out.push([s, e]);
  }
  return out;
}

/** Evidence ranges (absolute offsets in `text`) from scored tokens. */
export function evidenceRanges(text: string, tokens: readonly EvidenceToken[], threshold: number, maxGap = 3): Array<[number, number]> {
  const picked: Array<[number, number]> = [];
  for (const t of tokens) {
    if (t.p >= threshold && t.start >= 0 && t.end > t.start) picked.push(widenToWord(text, t.start, t.end));
  }
  return mergeRanges(text, picked, maxGap);
}
