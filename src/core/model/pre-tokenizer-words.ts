// The words of a text as BERT's normaliser and pre-tokenizer cut them (tokenizer.ts, steps 1–3),
// without WordPiece: evidence needs each token vector's word, not its exact piece (unit-spans.ts),
// and finding words costs a table look-up a character where tokenising costs a trie walk.
//
// The boundaries are the tokenizer's, from its own classification of each character
// (TextTokenizer.preTokenClass): whitespace ends a word; a punctuation character and a CJK
// ideograph are each a word of their own; a character clean_text drops joins the characters on
// either side of it; a combining mark that accent stripping removes belongs to the character
// before it (to a punctuation word too, and to nothing after whitespace or an ideograph).
//
// A word is *plain* when it is made of letters, digits and marks (\p{L}\p{N}\p{M}) that each
// normalise to one code point or to nothing, with nothing dropped inside it: WordPiece then cuts
// it between characters, so each of its pieces spans whole characters (none is empty), all of
// them letters, digits or marks. Only its own tokenisation tells the pieces of any other word.
//
// A text whose words the scan cannot tell gives undefined: one that holds an added token the
// tokenizer cuts out ([CLS] written in the text) or normalises to one as a whole ("[UNUSED0]"),
// or a character of PreTokenClass.Other (a capital sigma, whose lowercase depends on the words
// around it).
import { PreTokenClass, type TextTokenizer } from './tokenizer';

export interface PreTokenizerWords {
  count: number;
  /** [start, end) of each word in the text (JavaScript string indices), in text order. */
  starts: Int32Array;
  ends: Int32Array;
  /** 1 for a plain word. */
  plain: Uint8Array;
}

// Classes of the scan: PreTokenClass refined by whether the character is a letter, digit or mark.
const DROPPED = 0;
const SPACE = 1;
const PUNCTUATION = 2;
/** A word of its own (a CJK ideograph), plain. */
const IDEOGRAPH = 3;
/** Removed by accent stripping; a letter, digit or mark. */
const MARK = 4;
/** One code point of a word; a letter, digit or mark. */
const LETTER = 5;
/** Part of a word that is not plain (a symbol, an emoji, a character that expands). */
const SYMBOL = 6;
/** Removed by accent stripping, but not a mark (part of a word that is not plain). */
const SYMBOL_MARK = 7;
/** A character the scan cannot follow (PreTokenClass.Other). */
const UNKNOWN_TEXT = 8;
/** Added to the class of a code unit that begins an added token ([CLS], …): look closer there. */
const ADDED_TOKEN_START = 16;
/** Not looked up yet (BMP table). */
const UNSEEN = 255;

const LETTER_DIGIT_MARK = /^[\p{L}\p{N}\p{M}]$/u;

/** What is open at the scan's position: the word that a mark or the next word character would join. */
const NONE = 0;
const OPEN_WORD = 1;
const OPEN_PUNCTUATION = 2;

export class PreTokenizerWordScanner {
  private readonly bmp = new Uint8Array(65536).fill(UNSEEN);
  private readonly astral = new Map<number, number>();
  private starts = new Int32Array(256);
  private ends = new Int32Array(256);
  private plain = new Uint8Array(256);
  private readonly addedStarts: Set<number>;

  constructor(private readonly tokenizer: TextTokenizer) {
    this.addedStarts = new Set(tokenizer.addedTokenFirstUnits());
    for (let c = 0; c < 128; c++) this.bmp[c] = this.classify(c);
  }

  /** The words of `text`, undefined when the scan cannot tell them. The arrays are reused by the next call. */
  scan(text: string): PreTokenizerWords | undefined {
    const n = text.length;
    if (this.tokenizer.normalisesToAddedToken(text)) return undefined;
    if (this.starts.length < n) {
      this.starts = new Int32Array(n);
      this.ends = new Int32Array(n);
      this.plain = new Uint8Array(n);
    }
    const { bmp, starts, ends, plain } = this;
    let count = 0;
    let open = NONE;
    /** A dropped character came after the open word's last character (inside the word if the word goes on). */
    let gap = false;
    for (let i = 0; i < n; ) {
      const c = text.charCodeAt(i);
      let cls: number = bmp[c];
      let len = 1;
      if (cls >= ADDED_TOKEN_START) {
        if (cls === UNSEEN) cls = bmp[c] = this.classify(c);
        if (cls >= ADDED_TOKEN_START) {
          if (this.tokenizer.addedTokenAt(text, i)) return undefined;
          cls -= ADDED_TOKEN_START;
        }
      }
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
          len = 2;
          cls = this.astral.get(cp) ?? UNSEEN;
          if (cls === UNSEEN) this.astral.set(cp, (cls = this.classify(cp)));
        }
        // (a lone surrogate is looked up as itself: clean_text drops it)
      }
      switch (cls) {
        case LETTER:
        case SYMBOL: {
          if (open !== OPEN_WORD) {
            starts[count] = i;
            plain[count++] = 1;
            open = OPEN_WORD;
          } else if (gap) plain[count - 1] = 0;
          if (cls === SYMBOL) plain[count - 1] = 0;
          gap = false;
          // The rest of a run of letters at once (most of a text).
          let j = i + len;
          while (j < n && bmp[text.charCodeAt(j)] === LETTER) j++;
          ends[count - 1] = j;
          i = j;
          continue;
        }
        case MARK:
        case SYMBOL_MARK:
          if (open === NONE) break; // it joins a space
          if (gap || cls === SYMBOL_MARK) plain[count - 1] = 0;
          ends[count - 1] = i + len;
          gap = false;
          break;
        case DROPPED:
          if (open !== NONE) gap = true;
          break;
        case SPACE:
          open = NONE;
          break;
        case PUNCTUATION:
          starts[count] = i;
          ends[count] = i + len;
          plain[count++] = 0;
          open = OPEN_PUNCTUATION;
          gap = false;
          break;
        case IDEOGRAPH:
          starts[count] = i;
          ends[count] = i + len;
          plain[count++] = 1;
          open = NONE; // a mark after it joins the space inserted after it, not the ideograph
          break;
        default:
          return undefined;
      }
      i += len;
    }
    return { count, starts, ends, plain };
  }

  private classify(cp: number): number {
    return this.refine(cp) + (cp < 0x10000 && this.addedStarts.has(cp) ? ADDED_TOKEN_START : 0);
  }

  private refine(cp: number): number {
    const letter = (): boolean => LETTER_DIGIT_MARK.test(String.fromCodePoint(cp));
    switch (this.tokenizer.preTokenClass(cp)) {
      case PreTokenClass.Dropped: return DROPPED;
      case PreTokenClass.Space: return SPACE;
      case PreTokenClass.Punctuation: return PUNCTUATION;
      case PreTokenClass.Ideograph: return letter() ? IDEOGRAPH : UNKNOWN_TEXT;
      case PreTokenClass.Mark: return letter() ? MARK : SYMBOL_MARK;
      case PreTokenClass.WordUnit: return letter() ? LETTER : SYMBOL;
      case PreTokenClass.WordUnits: return SYMBOL;
      default: return UNKNOWN_TEXT;
    }
  }
}
