// FGR evidence: which words of a shown passage answer the query.
//
// For each passage token j: p_j = sigmoid(scale · max_i q_i·d_j + bias), i over the query's
// own tokens (manifest `evidence.queryTokens`). Tokens with p_j ≥ threshold become ranges, widened
// to whole words (a token may be a word piece) and merged across small gaps so that a phrase
// reads as one highlight rather than a dotted line.

// Combining marks count as word characters so that a decomposed accent stays in its word.
const WORD_CHAR = /[\p{L}\p{N}\p{M}_]/u;

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
  // A range without word characters (punctuation, an emoji) is not part of a word: keep it as is.
  let hasWord = false;
  for (let i = start; i < end && !hasWord; i++) hasWord = isWordAt(text, i);
  if (!hasWord) return [start, end];
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

/**
 * Sentence spans of text[start, end): a sentence ends at . ! ? or : followed by whitespace, at a
 * blank line, or at a line break that starts a list item, heading or table row. Trimmed.
 */
export function sentenceSpans(text: string, start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  // (the '.' of an ordered-list number like "1. " does not end a sentence)
  const re = /(?<!(?:^|\n)[ \t]*\d{1,3})[.!?:](?=\s)|\n\s*\n|\n(?=\s*(?:[-*+>|#]|\d+[.)])\s)/g;
  re.lastIndex = start;
  let s = start;
  const push = (a: number, b: number): void => {
    while (a < b && /\s/.test(text[a])) a++;
    // Markdown line markers (heading #s, list bullets, quote >) are not part of the sentence.
    const marker = /^(?:#{1,6}|[-*+>]|\d+[.)])[ \t]+/.exec(text.slice(a, Math.min(b, a + 12)));
    if (marker && a + marker[0].length < b) a += marker[0].length;
    while (b > a && /\s/.test(text[b - 1])) b--;
    if (b > a) out.push([a, b]);
  };
  for (let m = re.exec(text); m && m.index < end; m = re.exec(text)) {
    const cut = m[0].startsWith('\n') ? m.index : m.index + 1;
    push(s, cut);
    s = cut;
  }
  push(s, end);
  return out;
}

/**
 * Sentence-level evidence: the sentence with the highest mean p_j is always evidence (a shown
 * result always says where its answer most likely is), and so is every other sentence whose
 * mean p_j reaches the threshold. Returns whole trimmed sentences.
 */
export function evidenceSentences(text: string, regionStart: number, regionEnd: number, tokens: readonly EvidenceToken[], threshold: number): Array<[number, number]> {
  const sents = sentenceSpans(text, regionStart, regionEnd);
  // Tokens come in text order (a unit's vectors): one sweep, the sentences being in order too.
  // Otherwise (a caller's own list) every sentence looks at every token.
  let inOrder = true;
  for (let k = 1; k < tokens.length && inOrder; k++) inOrder = tokens[k].start >= tokens[k - 1].start;
  let from = 0;
  const scored = sents.map(([a, b]) => {
    let sum = 0;
    let n = 0;
    if (inOrder) while (from < tokens.length && tokens[from].start < a) from++;
    for (let k = inOrder ? from : 0; k < tokens.length; k++) {
      const t = tokens[k];
      if (inOrder && t.start > b) break;
      if (t.start >= a && t.end <= b) {
        sum += t.p;
        n++;
      }
    }
    return { a, b, mean: n ? sum / n : 0 };
  });
  const picked = scored.filter((s) => s.mean >= threshold);
  if (scored.length > 0) {
    const best = scored.reduce((x, y) => (y.mean > x.mean ? y : x));
    if (best.mean > 0 && !picked.includes(best)) picked.push(best);
  }
  return picked.map((s) => [s.a, s.b] as [number, number]).sort((x, y) => x[0] - y[0]);
}
