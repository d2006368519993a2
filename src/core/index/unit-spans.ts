// The file span of each of a unit's token vectors when its evidence is drawn: as its segment
// stores them (span-code.ts, ~2 bytes a vector beside the unit's text, read in one small read),
// else recovered from the unit's own text. Recovery took ~50 µs a unit between searches, most
// of the evidence overhead; it remains for units without stored spans (a stand-in encoder's).
// It uses one bit a vector that the store keeps: whether its token starts a word of the text
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
import { WORD_START_BIT } from './compressed-store';
import { unpackSpans } from './span-code';
import { PreTokenizerWordScanner } from '../model/pre-tokenizer-words';
import { passageText } from '../extract/passage-text';
import type { Passage, TextSegment } from '../types';
import { unitsForPassage } from './indexer';
import type { IndexedUnit } from './workspace-index';

/**
 * The unit's spans, one per token vector: as stored, where they unpack to one a vector; else
 * from its words and the vectors' word-start flags
 * (`lengthBytes`: its store's length bytes, CompressedTokenStore.norms, whose top bit is the
 * flag) where they agree, else from tokenising its text again; a reason instead
 * when its text does not give back as many tokens as it has vectors (a window cut inside a very
 * long word, which the text alone tokenises otherwise, or any inconsistency): then no span can be
 * trusted to be its vector's.
 */
export function unitSpans(encoder: Encoder, unit: IndexedUnit, lengthBytes?: Uint8Array): TokenSpans | { reason: string } {
  // A StoredUnit reads its spans and its text from its segment at each use: once here.
  const packed = unit.spans;
  const stored = packed && unpackSpans(packed, unit.tokenCount, unit.start);
  if (stored) return stored;
  const segments = unit.segments;
  return (lengthBytes && wordSpans(encoder, unit, lengthBytes, segments)) || tokenSpans(encoder, unit, segments);
}

/** The unit's spans from the words of its text and the word-start flags; undefined where they do not agree. */
export function wordSpans(encoder: Encoder, unit: IndexedUnit, lengthBytes: Uint8Array, segments: readonly TextSegment[] = unit.segments): TokenSpans | undefined {
  const pt = passageText({ segments: segments as TextSegment[], start: unit.start });
  const known = knownWordsOf(encoder);
  const words = known.scanner.scan(pt.text);
  if (!words) return undefined;
  const n = unit.tokenCount;
  const flags = lengthBytes.subarray(unit.tokenFirst, unit.tokenFirst + n);
  const bit = WORD_START_BIT;
  // Every vector gets a span below, or the words and the flags disagree.
  const starts = new Int32Array(n);
  const ends = new Int32Array(n);
  let v = 0;
  for (; v < n && (flags[v] & bit) === 0; v++) starts[v] = ends[v] = -1; // the marker and context tokens' vectors
  for (let w = 0; w < words.count; w++) {
    const a = words.starts[w];
    const b = words.ends[w];
    if (words.plain[w]) {
      if (v === n || (flags[v] & bit) === 0) return undefined;
      const s = pt.toFileOffset(a);
      const e = Math.max(s, pt.toFileOffset(b));
      do {
        starts[v] = s;
        ends[v++] = e;
      } while (v < n && (flags[v] & bit) === 0);
      continue;
    }
    const pieces = known.pieces(pt.text, a, b);
    if (!pieces) return undefined;
    for (let p = 0; p < pieces.length; p += 2) {
      // its first kept piece begins the word, the others continue it
      if (v === n || ((flags[v] & bit) !== 0) !== (p === 0)) return undefined;
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

/**
 * Per encoder: the word scanner, and the pieces of words that are tokenised alone, kept a while
 * (punctuation and the same symbols come back in every text).
 */
class KnownWords {
  readonly scanner: PreTokenizerWordScanner;
  /** Of one-character ASCII words (punctuation, mostly), by character code. */
  private readonly ascii: Array<Int32Array | null | undefined> = new Array(128).fill(undefined);
  private readonly words = new Map<string, Int32Array | null>();

  constructor(private readonly encoder: Encoder) {
    this.scanner = new PreTokenizerWordScanner(encoder.tokenizer);
  }

  /** keptPieces of the word text[a, b). */
  pieces(text: string, a: number, b: number): Int32Array | null {
    const c = text.charCodeAt(a);
    if (b === a + 1 && c < 128) return this.ascii[c] === undefined ? (this.ascii[c] = keptPieces(this.encoder, text[a])) : this.ascii[c]!;
    const word = text.slice(a, b);
    if (word.length > KNOWN_WORD_CHARS) return keptPieces(this.encoder, word);
    let pieces = this.words.get(word);
    if (pieces === undefined) {
      if (this.words.size >= KNOWN_WORDS) this.words.clear();
      this.words.set(word, (pieces = keptPieces(this.encoder, word)));
    }
    return pieces;
  }
}

/** Words tokenised alone that KnownWords keeps, at most, and the longest it keeps (a run of minified code is not worth it). */
const KNOWN_WORDS = 4096;
const KNOWN_WORD_CHARS = 64;
const knownWords = new WeakMap<Encoder, KnownWords>();

function knownWordsOf(encoder: Encoder): KnownWords {
  let k = knownWords.get(encoder);
  if (!k) knownWords.set(encoder, (k = new KnownWords(encoder)));
  return k;
}

/**
 * The [start, end) of each piece of `word` (one pre-tokenizer word) that gets a vector, relative
 * to the word, flattened; null when the word does not tokenise as one word.
 */
function keptPieces(encoder: Encoder, word: string): Int32Array | null {
  const tk = encoder.tokenizer;
  const r = tk.tokenize(word);
  let kept = 0;
  for (let t = 0; t < r.ids.length; t++) {
    if (!encoder.isPunctuation(r.ids[t])) kept++;
    if (t > 0 && !tk.continuesWord(r.ids[t])) return null;
  }
  if (r.ids.length === 0) return null;
  const pieces = new Int32Array(2 * kept);
  for (let t = 0, k = 0; t < r.ids.length; t++) {
    if (encoder.isPunctuation(r.ids[t])) continue;
    pieces[k++] = r.starts[t];
    pieces[k++] = r.ends[t];
  }
  return pieces;
}
