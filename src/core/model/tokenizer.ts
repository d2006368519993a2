// BERT WordPiece tokenisation with exact character offsets.
//
// Reproduces, id for id, what `@huggingface/tokenizers` (the JavaScript package) produces for a
// `tokenizer.json` with a BertNormalizer, a BertPreTokenizer and a WordPiece model, with
// `add_special_tokens: false`, and additionally maps every token back to the [start, end)
// JavaScript string indices of the ORIGINAL text it came from. The package itself gives no
// offsets, so the pipeline is re-implemented here with offset tracking:
//
//   1. added tokens (`[CLS]`, `[unused0]`, …) are cut out of the raw text first (longest match,
//      left to right), the text between them is a "section" processed on its own;
//   2. BertNormalizer on each section: clean_text (drop NUL, U+FFFD, Cc/Cf/Co/Cs except
//      \t \n \r; JS-`\s` whitespace → ' '), spaces around BMP CJK ideographs, toLowerCase
//      (with the context-sensitive Greek final sigma, as String.prototype.toLowerCase does),
//      NFD, removal of \p{Mn};
//   3. BertPreTokenizer: words are runs of non-space, non-punctuation code points; every
//      punctuation code point (ASCII 33–47, 58–64, 91–96, 123–126 and \p{P}) is its own word;
//   4. WordPiece: greedy longest-match-first over code points, `##` continuations, a word of more
//      than max_input_chars_per_word code points, or one that cannot be covered, is `[UNK]`.
//
// Every normalised UTF-16 code unit remembers the original span it came from. Combining marks
// removed by the accent stripping extend the span of the unit before them, so `e\u0301` stays in
// one span; characters removed by clean_text belong to no span. When one original character
// expands into several normalised ones (Hangul syllables decompose into jamo, `İ` → `i̇`) and
// WordPiece cuts between them, the character goes to the first token and the following token's
// span starts where that character ends (it may be empty), so spans never overlap.
//
// The reference is the JS package, which differs from the Rust `tokenizers` library in a few
// corners, and so does this: astral CJK ideographs (U+20000…) get no spaces around them (the JS
// package tests UTF-16 code units), a capital sigma at the end of a word becomes `ς` (JS
// toLowerCase applies Final_Sigma), and unassigned code points (Cn) are kept, not dropped.
//
// Nothing here imports `vscode`.

import { promises as fs } from 'node:fs';

/** Token ids of a text and, for each token, its [start, end) span in the original string. */
export interface TokenizedText {
  ids: Int32Array;
  starts: Int32Array;
  ends: Int32Array;
}

// Classes of normalised code units (pre-tokenisation).
const SPACE = 0;
const PUNCT = 1;
const WORD = 2;
/** Low surrogate of an astral code point: belongs to the unit before it. */
const CONT = 3;
/** Only in the ASCII table: the character is removed by clean_text. */
const DROP = 255;

// Kinds of original characters.
const K_DROP = 0;
const K_WS = 1;
const K_NORMAL = 2;
const K_SIGMA = 3;

/**
 * How the normaliser and the pre-tokenizer treat one character (TextTokenizer.preTokenClass), for
 * a caller that needs word boundaries without WordPiece (pre-tokenizer-words.ts).
 */
export const PreTokenClass = {
  /** Removed by clean_text: the characters on either side join as if it were not there. */
  Dropped: 0,
  /** Whitespace: ends a word. */
  Space: 1,
  /** One punctuation code point: a word of its own. */
  Punctuation: 2,
  /** A CJK ideograph that gets spaces around it: a word of its own. */
  Ideograph: 3,
  /** Nothing left after accent stripping: its span joins the unit before it, whatever that is. */
  Mark: 4,
  /** One code point of a word: starts or continues a word; WordPiece may cut before or after it. */
  WordUnit: 5,
  /** Several code points of a word: WordPiece may also cut inside the character. */
  WordUnits: 6,
  /**
   * Anything else: a capital sigma (its lowercase depends on its neighbours), a character that
   * normalises into units of different classes, one beginning with a combining character
   * (canonical reordering may merge it with the character before).
   */
  Other: 7,
} as const;
export type PreTokenClass = (typeof PreTokenClass)[keyof typeof PreTokenClass];

const RE_WS = /^\s$/u;
const RE_PUNCT = /^[\p{P}\u0021-\u002F\u003A-\u0040\u005B-\u0060\u007B-\u007E]$/u;
const RE_CONTROL = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}]$/u;
const RE_MN = /\p{Mn}/gu;
const RE_CASED = /^\p{Cased}$/u;
const RE_CASE_IGNORABLE = /^\p{Case_Ignorable}$/u;

function isChineseChar(cp: number): boolean {
  // The JS package tests UTF-16 code units, so only the BMP blocks can ever match.
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0xf900 && cp <= 0xfaff);
}

/** Whether a code point (already in NFD) has a non-zero canonical combining class. */
function isNonStarter(cp: number): boolean {
  const x = String.fromCodePoint(cp);
  // U+0345 has ccc 240 (the highest), U+0334 has ccc 1 (the lowest): a non-starter reorders
  // against at least one of them.
  return ('\u0345' + x).normalize('NFD') !== '\u0345' + x || (x + '\u0334').normalize('NFD') !== x + '\u0334';
}

function classifyCodePoint(cp: number): number {
  const x = String.fromCodePoint(cp);
  if (RE_WS.test(x)) return SPACE;
  if (RE_PUNCT.test(x)) return PUNCT;
  return WORD;
}

interface AddedTokenSpec {
  content: string;
  id: number;
  lstrip: boolean;
  rstrip: boolean;
}

interface NormalizerOptions {
  cleanText: boolean;
  handleChineseChars: boolean;
  lowercase: boolean;
  stripAccents: boolean;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Grows a typed array to at least `need` elements, keeping its content. */
function grow<T extends Int32Array | Uint16Array | Uint8Array>(a: T, need: number): T {
  let size = a.length || 16;
  while (size < need) size *= 2;
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

/**
 * The PreTokenClass of a character from its normalisation: its kind, whether it is a spaced CJK
 * ideograph, whether what is left of it begins with a combining character, and the classes of
 * the units it normalises to (CONT for the low half of an astral code point).
 */
function preTokenClassOf(kind: number, cjk: boolean, startsCombining: boolean, units: readonly number[]): PreTokenClass {
  if (kind === K_DROP) return PreTokenClass.Dropped;
  if (kind === K_SIGMA) return PreTokenClass.Other;
  if (units.length === 0) return PreTokenClass.Mark;
  if (startsCombining) return PreTokenClass.Other;
  const codePoints = units.filter((c) => c !== CONT).length;
  if (units.every((c) => c === SPACE)) return PreTokenClass.Space;
  if (units[0] === PUNCT && codePoints === 1) return PreTokenClass.Punctuation;
  if (!units.every((c) => c === WORD || c === CONT)) return PreTokenClass.Other;
  if (cjk) return codePoints === 1 ? PreTokenClass.Ideograph : PreTokenClass.Other;
  return codePoints === 1 ? PreTokenClass.WordUnit : PreTokenClass.WordUnits;
}

/** Slots of the word cache (a power of two), the longest word it keeps, and its most pieces. */
const WORD_CACHE_SLOTS = 8192;
const WORD_CACHE_MAX_CHARS = 16;
const WORD_CACHE_MAX_PIECES = 6;

export class TextTokenizer {
  /** One more than the highest token id (the size of the embedding table). */
  readonly vocabSize: number;
  readonly unkId: number;

  private readonly vocab: Map<string, number>;
  private readonly opts: NormalizerOptions;
  private readonly maxCharsPerWord: number;
  private readonly added: AddedTokenSpec[]; // longest first
  private readonly addedFirst: Uint8Array; // 65536 flags: first code unit of an added token
  private readonly addedByContent: Map<string, number>;
  private readonly addedLengths: Set<number>;
  private readonly longestAdded: number;
  /** 1 for the ids of WordPiece continuations (`##…`), which never begin a word. */
  private readonly continuation: Uint8Array;

  // WordPiece trie over UTF-16 code units: transitions in an open-addressing hash table.
  private trieTerm: Int32Array; // node -> token id or -1
  private trieNodes = 1;
  private hashNode: Int32Array; // node + 1, 0 = empty slot
  private hashChar: Uint16Array;
  private hashChild: Int32Array;
  private hashMask: number;
  private readonly contRoot: number;

  // Word cache: the pieces of recently seen words, keyed by their normalised code units and
  // classes, so that a word seen before costs a hash and a compare instead of a trie walk a
  // character (the trie's table is megabytes: re-tokenising a shown passage right after the
  // search kernel has filled the caches missed them at almost every character).
  private readonly wcLength = new Int8Array(WORD_CACHE_SLOTS).fill(-1); // -1: empty slot
  private readonly wcCodes = new Uint16Array(WORD_CACHE_SLOTS * WORD_CACHE_MAX_CHARS);
  private readonly wcCls = new Uint8Array(WORD_CACHE_SLOTS * WORD_CACHE_MAX_CHARS);
  private readonly wcPieces = new Int8Array(WORD_CACHE_SLOTS); // 0: the word is [UNK]
  private readonly wcIds = new Int32Array(WORD_CACHE_SLOTS * WORD_CACHE_MAX_PIECES);
  private readonly wcEnds = new Uint8Array(WORD_CACHE_SLOTS * WORD_CACHE_MAX_PIECES); // piece end, units from the word's start
  private readonly pieceEnds = new Int32Array(WORD_CACHE_MAX_PIECES);

  // Per-code-point normalisation table, filled lazily.
  private readonly bmpInfo = new Int32Array(65536).fill(-1);
  private readonly astralInfo = new Map<number, number>();
  private infoKind: number[] = [];
  private infoLower: string[] = []; // lowercased text, before NFD (for canonical reordering checks)
  private infoOutOff: number[] = [];
  private infoOutLen: number[] = [];
  private infoCjk: boolean[] = [];
  private infoStartsNS: boolean[] = [];
  private infoEndsNS: boolean[] = [];
  private infoPreClass: PreTokenClass[] = [];
  private poolCode: number[] = [];
  private poolCls: number[] = [];
  private readonly asciiCls = new Uint8Array(128);
  private readonly asciiCode = new Uint16Array(128);
  private sigmaInfo = -1;
  private finalSigmaInfo = -1;

  // Scratch buffers, reused between calls.
  private nCode = new Uint16Array(1024);
  private nCls = new Uint8Array(1024);
  private nStart = new Int32Array(1024);
  private nEnd = new Int32Array(1024);
  private oId = new Int32Array(1024);
  private oStart = new Int32Array(1024);
  private oEnd = new Int32Array(1024);
  private oLen = 0;
  private lastEnd = 0;

  /** Reads a Hugging Face `tokenizer.json` (BertNormalizer + BertPreTokenizer + WordPiece). */
  static async load(tokenizerJsonPath: string): Promise<TextTokenizer> {
    let raw: string;
    try {
      raw = await fs.readFile(tokenizerJsonPath, 'utf8');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') throw new Error(`tokenizer file not found: ${tokenizerJsonPath}`);
      if (err.code === 'EISDIR') throw new Error(`tokenizer path is a directory, not a file: ${tokenizerJsonPath}`);
      throw new Error(`cannot read tokenizer file ${tokenizerJsonPath}: ${err.message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (e) {
      throw new Error(`tokenizer.json is not valid JSON (${tokenizerJsonPath}): ${(e as Error).message}`);
    }
    return TextTokenizer.fromJson(json, tokenizerJsonPath);
  }

  /** Builds a tokenizer from the parsed content of a `tokenizer.json`; `source` names it in errors. */
  static fromJson(json: unknown, source = '<tokenizer.json>'): TextTokenizer {
    const bad = (what: string): Error => new Error(`${source} is not a supported WordPiece tokenizer: ${what}`);
    if (!isObject(json)) throw bad('the top level is not an object');
    const model = json.model;
    if (!isObject(model)) throw bad('it has no "model" object');
    if (model.type !== 'WordPiece') throw bad(`model.type is ${JSON.stringify(model.type)}, expected "WordPiece"`);
    if (!isObject(model.vocab)) throw bad('model.vocab is not an object of token → id');
    const vocab = new Map<string, number>();
    const entries = model.vocab;
    // (keys, then a look-up each: Object.entries made an array a token, ~2× slower on 30k tokens)
    for (const tok of Object.keys(entries)) {
      const id = entries[tok];
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        throw bad(`model.vocab[${JSON.stringify(tok)}] is not a non-negative integer id`);
      }
      vocab.set(tok, id);
    }
    if (vocab.size === 0) throw bad('model.vocab is empty');
    const unkToken = model.unk_token ?? '[UNK]';
    if (typeof unkToken !== 'string' || !vocab.has(unkToken)) {
      throw bad(`unk_token ${JSON.stringify(unkToken)} is not in the vocabulary`);
    }
    const prefix = model.continuing_subword_prefix ?? '##';
    if (typeof prefix !== 'string') throw bad('model.continuing_subword_prefix is not a string');
    const maxChars = model.max_input_chars_per_word ?? 100;
    if (typeof maxChars !== 'number' || !Number.isInteger(maxChars) || maxChars < 1) {
      throw bad('model.max_input_chars_per_word is not a positive integer');
    }

    const norm = json.normalizer;
    if (!isObject(norm) || norm.type !== 'BertNormalizer') {
      throw bad(`normalizer.type is ${JSON.stringify(isObject(norm) ? norm.type : norm)}, expected "BertNormalizer"`);
    }
    const pre = json.pre_tokenizer;
    if (!isObject(pre) || pre.type !== 'BertPreTokenizer') {
      throw bad(`pre_tokenizer.type is ${JSON.stringify(isObject(pre) ? pre.type : pre)}, expected "BertPreTokenizer"`);
    }
    // Same truthiness rules as the package's BertNormalizer: strip_accents null follows lowercase.
    const lowercase = Boolean(norm.lowercase);
    const stripAccents = lowercase ? norm.strip_accents !== false : Boolean(norm.strip_accents);
    const opts: NormalizerOptions = {
      cleanText: Boolean(norm.clean_text),
      handleChineseChars: Boolean(norm.handle_chinese_chars),
      lowercase,
      stripAccents,
    };

    const added: AddedTokenSpec[] = [];
    const addedTokens = json.added_tokens ?? [];
    if (!Array.isArray(addedTokens)) throw bad('added_tokens is not an array');
    for (const t of addedTokens) {
      if (!isObject(t) || typeof t.content !== 'string' || typeof t.id !== 'number' || t.content.length === 0) {
        throw bad('an entry of added_tokens has no content or id');
      }
      const special = t.special === true;
      const normalized = (t.normalized as boolean | undefined) ?? !special;
      if (normalized) {
        throw bad(`added token ${JSON.stringify(t.content)} is "normalized", which this tokenizer does not support`);
      }
      added.push({ content: t.content, id: t.id, lstrip: t.lstrip === true, rstrip: t.rstrip === true });
    }
    return new TextTokenizer(vocab, unkToken, prefix, maxChars, opts, added);
  }

  private constructor(
    vocab: Map<string, number>,
    unkToken: string,
    prefix: string,
    maxChars: number,
    opts: NormalizerOptions,
    added: AddedTokenSpec[],
  ) {
    this.opts = opts;
    this.maxCharsPerWord = maxChars;
    this.vocab = new Map(vocab);
    this.addedByContent = new Map();
    for (const t of added) {
      this.vocab.set(t.content, t.id);
      this.addedByContent.set(t.content, t.id);
    }
    // The package's splitter takes, at each position, the longest added token.
    this.added = [...added].sort((a, b) => b.content.length - a.content.length);
    this.addedFirst = new Uint8Array(65536);
    for (const t of added) this.addedFirst[t.content.charCodeAt(0)] = 1;
    this.addedLengths = new Set(added.map((t) => t.content.length));
    this.longestAdded = added.reduce((m, t) => Math.max(m, t.content.length), 0);
    this.unkId = this.vocab.get(unkToken)!;
    let maxId = -1;
    for (const id of this.vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    this.continuation = new Uint8Array(this.vocabSize);
    if (prefix) for (const [tok, id] of vocab) if (tok.startsWith(prefix)) this.continuation[id] = 1;

    // Trie: vocabulary first, then added tokens (which the package also lets WordPiece match).
    let totalChars = 0;
    for (const tok of this.vocab.keys()) totalChars += tok.length;
    let tableSize = 1024;
    while (tableSize < totalChars * 2) tableSize *= 2;
    this.hashMask = tableSize - 1;
    this.hashNode = new Int32Array(tableSize);
    this.hashChar = new Uint16Array(tableSize);
    this.hashChild = new Int32Array(tableSize);
    this.trieTerm = new Int32Array(Math.max(16, totalChars + 1)).fill(-1);
    for (const [tok, id] of vocab) this.insert(tok, id);
    for (const t of added) this.insert(t.content, t.id);
    let cont = 0;
    for (let i = 0; i < prefix.length && cont >= 0; i++) cont = this.child(cont, prefix.charCodeAt(i));
    this.contRoot = cont;

    // ASCII table.
    for (let c = 0; c < 128; c++) {
      const info = this.computeInfo(c);
      const kind = this.infoKind[info];
      if (kind === K_DROP) this.asciiCls[c] = DROP;
      else {
        this.asciiCode[c] = this.poolCode[this.infoOutOff[info]];
        this.asciiCls[c] = this.poolCls[this.infoOutOff[info]];
      }
    }
    if (opts.lowercase) {
      this.sigmaInfo = this.infoOf(0x3c3);
      this.finalSigmaInfo = this.infoOf(0x3c2);
    }
  }

  /** The id of a vocabulary token (special tokens included); throws if the token is unknown. */
  tokenId(token: string): number {
    const id = this.vocab.get(token);
    if (id === undefined) throw new Error(`unknown token: ${JSON.stringify(token)}`);
    return id;
  }

  /**
   * Whether the token continues the word of the token before it (a `##` piece). Text cut before
   * any other token is cut between words, which are tokenised one by one.
   */
  continuesWord(id: number): boolean {
    return this.continuation[id] === 1;
  }

  /** How normalisation and pre-tokenisation treat code point `cp` (see PreTokenClass). */
  preTokenClass(cp: number): PreTokenClass {
    return this.infoPreClass[this.infoOf(cp)];
  }

  /** The first code unit of each added token ([CLS], [unused0], …), distinct. */
  addedTokenFirstUnits(): number[] {
    return [...new Set(this.added.map((t) => t.content.charCodeAt(0)))];
  }

  /** Whether tokenize(text) cuts an added token out of the text at index i (one is written there). */
  addedTokenAt(text: string, i: number): boolean {
    if (this.addedFirst[text.charCodeAt(i)] === 0) return false;
    for (const t of this.added) if (text.startsWith(t.content, i)) return true;
    return false;
  }

  /**
   * Whether the whole of `text` normalises to an added token, which tokenize then emits for it
   * (section(): "[UNUSED0]" is [unused0]).
   */
  normalisesToAddedToken(text: string): boolean {
    if (this.added.length === 0) return false;
    // Every character that is not dropped and leaves something after normalising is at least
    // one unit of the normalised text: a longer text is normalised no further.
    let units = 0;
    for (const ch of text) {
      const info = this.infoOf(ch.codePointAt(0)!);
      if (this.infoKind[info] !== K_DROP && this.infoOutLen[info] > 0 && ++units > this.longestAdded) return false;
    }
    const n = this.normalize(text, 0, text.length);
    return this.addedLengths.has(n) && this.addedByContent.has(String.fromCharCode(...this.nCode.subarray(0, n)));
  }

  /** Every [token, id] pair of the vocabulary, special tokens included. */
  vocabEntries(): IterableIterator<[string, number]> {
    return this.vocab.entries();
  }

  /**
   * WordPiece ids of `text`, without [CLS]/[SEP] or query/document markers, and for each token
   * the [start, end) indices into `text` (JavaScript string indices) of the characters it came from.
   */
  tokenize(text: string): TokenizedText {
    this.oLen = 0;
    this.lastEnd = 0;
    const n = text.length;
    let sectionStart = 0;
    if (this.added.length > 0) {
      let i = 0;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (this.addedFirst[c] === 0) {
          i++;
          continue;
        }
        let match: AddedTokenSpec | undefined;
        for (const t of this.added) {
          if (text.startsWith(t.content, i)) {
            match = t;
            break;
          }
        }
        if (!match) {
          i++;
          continue;
        }
        let end = i;
        if (match.lstrip) while (end > sectionStart && /\s/.test(text[end - 1])) end--;
        this.section(text, sectionStart, end);
        this.pushToken(match.id, i, i + match.content.length);
        i += match.content.length;
        sectionStart = i;
        if (match.rstrip) while (sectionStart < n && /\s/.test(text[sectionStart])) sectionStart++;
        i = Math.max(i, sectionStart);
      }
    }
    this.section(text, sectionStart, n);
    return {
      ids: this.oId.slice(0, this.oLen),
      starts: this.oStart.slice(0, this.oLen),
      ends: this.oEnd.slice(0, this.oLen),
    };
  }

  // ---------------------------------------------------------------- trie

  private hashOf(node: number, c: number): number {
    return (Math.imul(node, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b)) & this.hashMask;
  }

  private child(node: number, c: number): number {
    const mask = this.hashMask;
    const key = node + 1;
    const hn = this.hashNode;
    let h = (Math.imul(node, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b)) & mask;
    for (;;) {
      const k = hn[h];
      if (k === 0) return -1;
      if (k === key && this.hashChar[h] === c) return this.hashChild[h];
      h = (h + 1) & mask;
    }
  }

  private insert(tok: string, id: number): void {
    let node = 0;
    for (let i = 0; i < tok.length; i++) {
      const c = tok.charCodeAt(i);
      let next = this.child(node, c);
      if (next < 0) {
        next = this.trieNodes++;
        if (next >= this.trieTerm.length) {
          const t = new Int32Array(this.trieTerm.length * 2).fill(-1);
          t.set(this.trieTerm);
          this.trieTerm = t;
        }
        let h = this.hashOf(node, c);
        while (this.hashNode[h] !== 0) h = (h + 1) & this.hashMask;
        this.hashNode[h] = node + 1;
        this.hashChar[h] = c;
        this.hashChild[h] = next;
      }
      node = next;
    }
    this.trieTerm[node] = id;
  }

  // ---------------------------------------------------------------- normalisation table

  private infoOf(cp: number): number {
    if (cp < 0x10000) {
      const v = this.bmpInfo[cp];
      return v >= 0 ? v : this.computeInfo(cp);
    }
    const v = this.astralInfo.get(cp);
    return v !== undefined ? v : this.computeInfo(cp);
  }

  private computeInfo(cp: number): number {
    const o = this.opts;
    const ch = String.fromCodePoint(cp);
    let kind = K_NORMAL;
    let lower = ch;
    let out = '';
    let cjk = false;
    let startsNS = false;
    let endsNS = false;
    if (o.cleanText && (cp === 0 || cp === 0xfffd || (cp !== 9 && cp !== 10 && cp !== 13 && RE_CONTROL.test(ch)))) {
      kind = K_DROP;
    } else if (o.cleanText && RE_WS.test(ch)) {
      kind = K_WS;
      lower = ' ';
      out = ' ';
    } else {
      if (o.lowercase && cp === 0x3a3) kind = K_SIGMA;
      cjk = o.handleChineseChars && isChineseChar(cp);
      lower = o.lowercase ? ch.toLowerCase() : ch;
      out = lower;
      if (o.stripAccents) {
        const nfd = lower.normalize('NFD');
        const cps = [...nfd];
        startsNS = cps.length > 0 && isNonStarter(cps[0].codePointAt(0)!);
        endsNS = cps.length > 0 && isNonStarter(cps[cps.length - 1].codePointAt(0)!);
        out = nfd.replace(RE_MN, '');
      }
    }
    const idx = this.infoKind.length;
    this.infoKind.push(kind);
    this.infoLower.push(lower);
    this.infoOutOff.push(this.poolCode.length);
    this.infoOutLen.push(out.length);
    this.infoCjk.push(cjk);
    this.infoStartsNS.push(startsNS);
    this.infoEndsNS.push(endsNS);
    this.pushUnits(out);
    this.infoPreClass.push(preTokenClassOf(kind, cjk, startsNS && out.length > 0, this.poolCls.slice(this.infoOutOff[idx])));
    if (cp < 0x10000) this.bmpInfo[cp] = idx;
    else this.astralInfo.set(cp, idx);
    return idx;
  }

  /** Appends the code units of `s` with their pre-tokenisation classes to the pool. */
  private pushUnits(s: string): void {
    for (const x of s) {
      const cls = classifyCodePoint(x.codePointAt(0)!);
      this.poolCode.push(x.charCodeAt(0));
      this.poolCls.push(cls);
      if (x.length === 2) {
        this.poolCode.push(x.charCodeAt(1));
        this.poolCls.push(CONT);
      }
    }
  }

  private isDropped(cp: number): boolean {
    return this.infoKind[this.infoOf(cp)] === K_DROP;
  }

  /**
   * Whether the capital sigma at `i` lowercases to the final form `ς`, as ICU's
   * (and so String.prototype.toLowerCase's) Final_Sigma rule decides on the cleaned section.
   */
  private isFinalSigma(text: string, s: number, e: number, i: number): boolean {
    let before = false;
    let j = i;
    while (j > s) {
      let cp = text.charCodeAt(j - 1);
      j--;
      if (cp >= 0xdc00 && cp <= 0xdfff && j > s) {
        const hi = text.charCodeAt(j - 1);
        if (hi >= 0xd800 && hi <= 0xdbff) {
          cp = ((hi - 0xd800) << 10) + (cp - 0xdc00) + 0x10000;
          j--;
        }
      }
      if (this.isDropped(cp)) continue;
      const x = String.fromCodePoint(cp);
      if (RE_CASE_IGNORABLE.test(x)) continue;
      before = RE_CASED.test(x);
      break;
    }
    if (!before) return false;
    j = i + 1;
    while (j < e) {
      const cp = text.codePointAt(j)!;
      j += cp > 0xffff ? 2 : 1;
      if (this.isDropped(cp)) continue;
      const x = String.fromCodePoint(cp);
      if (RE_CASE_IGNORABLE.test(x)) continue;
      return !RE_CASED.test(x);
    }
    return true;
  }

  // ---------------------------------------------------------------- pipeline

  private ensureUnits(need: number): void {
    if (need <= this.nCode.length) return;
    this.nCode = grow(this.nCode, need);
    this.nCls = grow(this.nCls, need);
    this.nStart = grow(this.nStart, need);
    this.nEnd = grow(this.nEnd, need);
  }

  private pushToken(id: number, start: number, end: number): void {
    if (this.oLen >= this.oId.length) {
      this.oId = grow(this.oId, this.oLen + 1);
      this.oStart = grow(this.oStart, this.oLen + 1);
      this.oEnd = grow(this.oEnd, this.oLen + 1);
    }
    if (start < this.lastEnd) start = this.lastEnd;
    if (end < start) end = start;
    this.oId[this.oLen] = id;
    this.oStart[this.oLen] = start;
    this.oEnd[this.oLen] = end;
    this.oLen++;
    this.lastEnd = end;
  }

  /** Normalises, pre-tokenises and WordPiece-encodes text[s, e) (no added tokens inside). */
  private section(text: string, s: number, e: number): void {
    if (e <= s) return;
    const n = this.normalize(text, s, e);
    if (n === 0) return;
    if (this.addedLengths.has(n)) {
      // The package emits an added token when a whole normalised section equals its content.
      const id = this.addedByContent.get(String.fromCharCode(...this.nCode.subarray(0, n)));
      if (id !== undefined) {
        this.pushToken(id, this.nStart[0], this.nEnd[n - 1]);
        return;
      }
    }
    const cls = this.nCls;
    let k = 0;
    while (k < n) {
      const c = cls[k];
      if (c === SPACE) {
        k++;
        while (k < n && cls[k] === CONT) k++;
        continue;
      }
      let end = k + 1;
      if (c === PUNCT) {
        while (end < n && cls[end] === CONT) end++;
      } else {
        while (end < n && (cls[end] === WORD || cls[end] === CONT)) end++;
      }
      this.wordPiece(k, end);
      k = end;
    }
  }

  /** Greedy longest-match-first WordPiece over the normalised units [a, b) of one word. */
  private wordPiece(a: number, b: number): void {
    const codes = this.nCode;
    const cls = this.nCls;
    const starts = this.nStart;
    const ends = this.nEnd;
    const len = b - a;
    // The word cache: the same units and classes give the same pieces (WordPiece reads nothing
    // else), replayed through pushToken as the walk below would push them.
    let slot = -1;
    if (len <= WORD_CACHE_MAX_CHARS) {
      let h = 0x811c9dc5;
      for (let k = a; k < b; k++) h = Math.imul(h ^ codes[k], 0x01000193);
      slot = (h ^ (h >>> 15)) & (WORD_CACHE_SLOTS - 1);
      if (this.wcLength[slot] === len) {
        const at = slot * WORD_CACHE_MAX_CHARS;
        let same = true;
        for (let k = 0; k < len && same; k++) same = this.wcCodes[at + k] === codes[a + k] && this.wcCls[at + k] === cls[a + k];
        if (same) {
          const pieces = this.wcPieces[slot];
          if (pieces === 0) {
            this.pushToken(this.unkId, starts[a], ends[b - 1]);
            return;
          }
          const pa = slot * WORD_CACHE_MAX_PIECES;
          let pos = a;
          for (let p = 0; p < pieces; p++) {
            const end = a + this.wcEnds[pa + p];
            this.pushToken(this.wcIds[pa + p], starts[pos], ends[end - 1]);
            pos = end;
          }
          return;
        }
      }
    }
    let chars = len;
    if (chars > this.maxCharsPerWord) {
      for (let k = a; k < b; k++) if (cls[k] === CONT) chars--;
      if (chars > this.maxCharsPerWord) {
        this.pushToken(this.unkId, starts[a], ends[b - 1]);
        return;
      }
    }
    const mark = this.oLen;
    const markEnd = this.lastEnd;
    const term = this.trieTerm;
    let pos = a;
    let pieces = 0;
    while (pos < b) {
      let node = pos === a ? 0 : this.contRoot;
      let best = -1;
      let bestEnd = -1;
      let j = pos;
      while (node >= 0 && j < b) {
        node = this.child(node, codes[j]);
        if (node < 0) break;
        j++;
        const id = term[node];
        if (id >= 0 && (j === b || cls[j] !== CONT)) {
          best = id;
          bestEnd = j;
        }
      }
      if (best < 0) {
        this.oLen = mark;
        this.lastEnd = markEnd;
        this.pushToken(this.unkId, starts[a], ends[b - 1]);
        if (slot >= 0) this.remember(slot, a, len, 0);
        return;
      }
      this.pushToken(best, starts[pos], ends[bestEnd - 1]);
      if (pieces < WORD_CACHE_MAX_PIECES) this.pieceEnds[pieces] = bestEnd - a;
      pieces++;
      pos = bestEnd;
    }
    if (slot >= 0 && pieces <= WORD_CACHE_MAX_PIECES) this.remember(slot, a, len, pieces);
  }

  /** Keeps word [a, a + len)'s pieces (the last `pieces` tokens pushed; 0: [UNK]) in cache slot `slot`. */
  private remember(slot: number, a: number, len: number, pieces: number): void {
    const at = slot * WORD_CACHE_MAX_CHARS;
    for (let k = 0; k < len; k++) {
      this.wcCodes[at + k] = this.nCode[a + k];
      this.wcCls[at + k] = this.nCls[a + k];
    }
    this.wcLength[slot] = len;
    this.wcPieces[slot] = pieces;
    const pa = slot * WORD_CACHE_MAX_PIECES;
    for (let p = 0; p < pieces; p++) {
      this.wcIds[pa + p] = this.oId[this.oLen - pieces + p];
      this.wcEnds[pa + p] = this.pieceEnds[p];
    }
  }

  /**
   * BertNormalizer over text[s, e) into the unit buffers; returns the number of units.
   * Each unit gets the original span of the character it came from.
   */
  private normalize(text: string, s: number, e: number): number {
    this.ensureUnits(2 * (e - s) + 16);
    const asciiCls = this.asciiCls;
    const asciiCode = this.asciiCode;
    let n = 0;
    // Canonical reordering (NFD) can cross character boundaries only between non-starters; such
    // runs are re-normalised as a whole when the per-character result differs.
    let prevEndsNS = false;
    let prevInfo = -1;
    let prevSrc = 0;
    let prevOut = 0;
    let runLower: string[] | null = null;
    let runSrc = 0;
    let runOut = 0;
    let runEnd = 0;
    let i = s;
    while (i < e) {
      const c = text.charCodeAt(i);
      if (c < 128) {
        const k = asciiCls[c];
        if (k === DROP) {
          i++;
          continue;
        }
        if (runLower !== null) {
          n = this.finishRun(runLower, runSrc, runOut, runEnd, n);
          runLower = null;
        }
        if (n >= this.nCode.length) this.ensureUnits(n + 16);
        this.nCode[n] = asciiCode[c];
        this.nCls[n] = k;
        this.nStart[n] = i;
        this.nEnd[n] = i + 1;
        n++;
        i++;
        prevEndsNS = false;
        continue;
      }
      let cp = c;
      let len = 1;
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < e) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
          len = 2;
        }
      }
      let info = this.infoOf(cp);
      const kind = this.infoKind[info];
      if (kind === K_DROP) {
        i += len;
        continue;
      }
      if (kind === K_SIGMA) info = this.isFinalSigma(text, s, e, i) ? this.finalSigmaInfo : this.sigmaInfo;
      const startsNS = this.infoStartsNS[info];
      if (prevEndsNS && startsNS) {
        if (runLower === null) {
          runLower = [this.infoLower[prevInfo]];
          runSrc = prevSrc;
          runOut = prevOut;
        }
        runLower.push(this.infoLower[info]);
      } else if (runLower !== null) {
        n = this.finishRun(runLower, runSrc, runOut, runEnd, n);
        runLower = null;
      }
      prevInfo = info;
      prevSrc = i;
      prevOut = n;
      prevEndsNS = this.infoEndsNS[info];
      const outLen = this.infoOutLen[info];
      const end = i + len;
      runEnd = end;
      if (outLen === 0) {
        // Removed combining mark: it belongs with the character before it.
        if (n > 0 && this.nEnd[n - 1] < end) this.nEnd[n - 1] = end;
      } else {
        if (n + outLen + 2 > this.nCode.length) this.ensureUnits(n + outLen + 2);
        const cjk = this.infoCjk[info];
        if (cjk) {
          this.nCode[n] = 32;
          this.nCls[n] = SPACE;
          this.nStart[n] = i;
          this.nEnd[n] = i;
          n++;
        }
        const off = this.infoOutOff[info];
        for (let k = 0; k < outLen; k++) {
          this.nCode[n] = this.poolCode[off + k];
          this.nCls[n] = this.poolCls[off + k];
          this.nStart[n] = i;
          this.nEnd[n] = end;
          n++;
        }
        if (cjk) {
          this.nCode[n] = 32;
          this.nCls[n] = SPACE;
          this.nStart[n] = end;
          this.nEnd[n] = end;
          n++;
        }
      }
      i = end;
    }
    if (runLower !== null) n = this.finishRun(runLower, runSrc, runOut, runEnd, n);
    return n;
  }

  /**
   * Ends a run of characters joined by non-starters: if NFD over the whole run (which may
   * reorder combining marks) gives other units than the per-character results, the run's units
   * are replaced by the whole-run result, each spanning the whole run.
   */
  private finishRun(lower: string[], src: number, out: number, end: number, n: number): number {
    const expected = lower.join('').normalize('NFD').replace(RE_MN, '');
    let same = expected.length === n - out;
    for (let k = 0; same && k < expected.length; k++) same = expected.charCodeAt(k) === this.nCode[out + k];
    if (same) return n;
    let m = out;
    this.ensureUnits(out + expected.length + 1);
    for (const x of expected) {
      const cls = classifyCodePoint(x.codePointAt(0)!);
      for (let k = 0; k < x.length; k++) {
        this.nCode[m] = x.charCodeAt(k);
        this.nCls[m] = k === 0 ? cls : CONT;
        this.nStart[m] = src;
        this.nEnd[m] = end;
        m++;
      }
    }
    return m;
  }
}
