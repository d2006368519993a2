// The file span of each of a unit's token vectors, recovered from the unit's own text when its
// evidence is drawn. The index stores no spans (they cost 5 bytes a vector, and only the ~10
// results shown need them), only one bit a vector: whether its token starts a word of the text
// (WORD_START_BIT). Evidence needs no more than words: it widens every token it picks to whole
// words and tests which sentences hold a token (evidence.ts). So the words of the unit's text, as
// BERT's pre-tokenizer cuts them (pre-tokenizer-words.ts, a table look-up a character), give the
// vectors their spans: the k-th flagged vector begins the k-th word that has vectors, and the
// vectors up to the next flag are that word's.
// - A plain word (letters, digits and marks) always has vectors, and each of them gets the
//   word's span: every piece of a plain word is a non-empty run of its word characters, so it
//   widens to the same word, and lies in the same sentences, as the whole word.
// - Any other word (punctuation, symbols, emoji, a word with a dropped character inside) is
//   tokenised alone, which tells whether it has vectors and gives them their pieces' exact spans.
// The flags check the words: each word with vectors must begin at a flagged vector, and the
// vectors must run out with the words.
//
// Where they do not agree (a text the scan cannot follow, see pre-tokenizer-words.ts), the whole
// text is tokenised again as it was indexed: a unit (a passage, or a window of a long one) fed
// back through unitsForPassage is one unit again — a window holds at most the encoder's body
// capacity of tokens, and starts at a word start — and Encoder.keptSpans picks the tokens that got
// a vector, as encodeDocs did when it was indexed.
import type { Encoder, TokenSpans } from '../model/encoder';
import { PreTokenizerWordScanner } from '../model/pre-tokenizer-words';
import type { TextTokenizer } from '../model/tokenizer';
import { passageText } from '../extract/passage-text';
import type { Passage, TextSegment } from '../types';
import { unitsForPassage } from './indexer';
import type { IndexedUnit } from './workspace-index';

/** The word-start flags of the store's vectors (CompressedTokenStore). */
export interface WordStartFlags {
  startsWord(j: number): boolean;
}

/**
 * The unit's spans, one per token vector: from its words and the vectors' word-start flags
 * (`flags`: its store) where they agree, else from tokenising its text again; a reason instead
 * when its text does not give back as many tokens as it has vectors (a window cut inside a very
 * long word, which the text alone tokenises otherwise, or any inconsistency): then no span can be
 * trusted to be its vector's.
 */
export function unitSpans(encoder: Encoder, unit: IndexedUnit, flags?: WordStartFlags): TokenSpans | { reason: string } {
  // A StoredUnit reads its text from its segment at each use of `segments`: once here.
  const segments = unit.segments;
  return (flags && wordSpans(encoder, unit, flags, segments)) || tokenSpans(encoder, unit, segments);
}

/** The unit's spans from the words of its text and the flags; undefined where they do not agree. */
export function wordSpans(encoder: Encoder, unit: IndexedUnit, flags: WordStartFlags, segments: readonly TextSegment[] = unit.segments): TokenSpans | undefined {
  const pt = passageText({ segments: segments as TextSegment[], start: unit.start });
  const words = scannerOf(encoder.tokenizer).scan(pt.text);
  if (!words) return undefined;
  const n = unit.tokenCount;
  const first = unit.tokenFirst;
  const starts = new Int32Array(n).fill(-1);
  const ends = new Int32Array(n).fill(-1);
  let v = 0;
  while (v < n && !flags.startsWord(first + v)) v++; // the marker and context tokens' vectors
  for (let w = 0; w < words.count; w++) {
    const a = words.starts[w];
    const b = words.ends[w];
    if (words.plain[w]) {
      if (v === n || !flags.startsWord(first + v)) return undefined;
      const s = pt.toFileOffset(a);
      const e = Math.max(s, pt.toFileOffset(b));
      do {
        starts[v] = s;
        ends[v++] = e;
      } while (v < n && !flags.startsWord(first + v));
      continue;
    }
    const pieces = b === a + 1 && pt.text.charCodeAt(a) < 128 ? keptPiecesOfAscii(encoder, pt.text.charCodeAt(a)) : keptPieces(encoder, pt.text.slice(a, b));
    if (!pieces) return undefined;
    for (let p = 0; p < pieces.length; p += 2) {
      // its first kept piece begins the word, the others continue it
      if (v === n || flags.startsWord(first + v) !== (p === 0)) return undefined;
      const s = pt.toFileOffset(a + pieces[p]);
      starts[v] = s;
      ends[v++] = Math.max(s, pt.toFileOffset(a + pieces[p + 1]));
    }
  }
  return v === n ? { starts, ends } : undefined;
}

/** The unit's spans from its text tokenised again as it was indexed (the way every unit took before word-start flags). */
function tokenSpans(encoder: Encoder, unit: IndexedUnit, segments: TextSegment[]): TokenSpans | { reason: string } {
  const p: Passage = { path: unit.path, start: unit.start, end: unit.end, kind: unit.kind, language: unit.language, context: unit.context, segments };
  const items = unitsForPassage(encoder, p);
  const spans = items.length === 1 ? encoder.keptSpans(items[0].input) : undefined;
  if (!spans || spans.starts.length !== unit.tokenCount) {
    const got = spans ? `${spans.starts.length} tokens` : `${items.length} windows`;
    return { reason: `${unit.path} [${unit.start}, ${unit.end}) has ${unit.tokenCount} token vectors but its text gives ${got}` };
  }
  return spans;
}

const scanners = new WeakMap<TextTokenizer, PreTokenizerWordScanner>();

function scannerOf(tokenizer: TextTokenizer): PreTokenizerWordScanner {
  let s = scanners.get(tokenizer);
  if (!s) scanners.set(tokenizer, (s = new PreTokenizerWordScanner(tokenizer)));
  return s;
}

/** Words tokenised alone, kept a while: punctuation and the same symbols come back in every text. */
const pieceCaches = new WeakMap<Encoder, Map<string, Int32Array | null>>();
const PIECE_CACHE_WORDS = 4096;
/** The same for words of one ASCII character (punctuation, mostly), by character code. */
const asciiPieceCaches = new WeakMap<Encoder, Array<Int32Array | null | undefined>>();

function keptPiecesOfAscii(encoder: Encoder, c: number): Int32Array | null {
  let cache = asciiPieceCaches.get(encoder);
  if (!cache) asciiPieceCaches.set(encoder, (cache = new Array(128).fill(undefined)));
  let pieces = cache[c];
  if (pieces === undefined) pieces = cache[c] = keptPieces(encoder, String.fromCharCode(c));
  return pieces;
}

/**
 * The [start, end) of each piece of `word` (one pre-tokenizer word) that gets a vector, relative
 * to the word, flattened; null when the word does not tokenise as one word.
 */
function keptPieces(encoder: Encoder, word: string): Int32Array | null {
  let cache = pieceCaches.get(encoder);
  if (!cache) pieceCaches.set(encoder, (cache = new Map()));
  let pieces = cache.get(word);
  if (pieces !== undefined) return pieces;
  const tk = encoder.tokenizer;
  const r = tk.tokenize(word);
  let kept = 0;
  let oneWord = r.ids.length > 0;
  for (let t = 0; t < r.ids.length; t++) {
    if (!encoder.isPunctuation(r.ids[t])) kept++;
    if (t > 0 && !tk.continuesWord(r.ids[t])) oneWord = false;
  }
  if (oneWord) {
    pieces = new Int32Array(2 * kept);
    for (let t = 0, k = 0; t < r.ids.length; t++) {
      if (encoder.isPunctuation(r.ids[t])) continue;
      pieces[k++] = r.starts[t];
      pieces[k++] = r.ends[t];
    }
  } else pieces = null;
  if (cache.size >= PIECE_CACHE_WORDS) cache.clear();
  cache.set(word, pieces);
  return pieces;
}
