// The words of a text found without WordPiece (pre-tokenizer-words.ts) against the tokenizer
// itself: grouping TextTokenizer.tokenize's tokens into words (a word begins at every token that
// is no `##` piece), the scan must find the same words, each spanning from its first token's start
// to its last token's end; a word it calls plain must be cut into non-empty pieces of letters,
// digits and marks only; and where it gives up, the text must hold what it cannot follow.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { PreTokenizerWordScanner } from '../../src/core/model/pre-tokenizer-words';
import { PreTokenClass, TextTokenizer } from '../../src/core/model/tokenizer';

const TOKENIZER_JSON = path.resolve(__dirname, '../../models/es-colbert-small/tokenizer.json');
const LETTER_DIGIT_MARK = /^[\p{L}\p{N}\p{M}]$/u;

let tok: TextTokenizer;
let scanner: PreTokenizerWordScanner;
let addedIds: Set<number>;

before(async () => {
  tok = await TextTokenizer.load(TOKENIZER_JSON);
  scanner = new PreTokenizerWordScanner(tok);
  addedIds = new Set((JSON.parse(fs.readFileSync(TOKENIZER_JSON, 'utf8')) as { added_tokens: Array<{ id: number }> }).added_tokens.map((t) => t.id));
});

/** The tokenizer's words: [start, end) from a word's first token to its last, and its tokens' spans. */
function tokenizerWords(text: string): Array<{ start: number; end: number; pieces: Array<[number, number]> }> {
  const r = tok.tokenize(text);
  const out: Array<{ start: number; end: number; pieces: Array<[number, number]> }> = [];
  for (let t = 0; t < r.ids.length; t++) {
    if (t === 0 || !tok.continuesWord(r.ids[t])) out.push({ start: r.starts[t], end: r.ends[t], pieces: [] });
    const w = out[out.length - 1];
    w.end = r.ends[t];
    w.pieces.push([r.starts[t], r.ends[t]]);
  }
  return out;
}

/**
 * What the scan cannot follow: an added token written out, a text the tokenizer turns into one
 * added token as a whole, a capital sigma or another character of class Other.
 */
function unfollowable(text: string): boolean {
  const r = tok.tokenize(text);
  const wholeAdded = r.ids.length === 1 && r.ids[0] !== tok.unkId && addedIds.has(r.ids[0]);
  return /\[(PAD|UNK|CLS|SEP|MASK|unused0|unused1)\]/.test(text) || wholeAdded || [...text].some((ch) => tok.preTokenClass(ch.codePointAt(0)!) === PreTokenClass.Other);
}

/** Checks the scan of `text` against the tokenizer; returns whether the scan gave words. */
function check(text: string, label = JSON.stringify(text)): boolean {
  const words = scanner.scan(text);
  if (!words) {
    assert.ok(unfollowable(text), `${label}: the scan gave up on a text it should follow`);
    return false;
  }
  const want = tokenizerWords(text);
  const got = Array.from({ length: words.count }, (_, k) => [words.starts[k], words.ends[k]]);
  assert.deepEqual(got, want.map((w) => [w.start, w.end]), `${label}: words`);
  for (let k = 0; k < words.count; k++) {
    if (!words.plain[k]) continue;
    for (const [s, e] of want[k].pieces) {
      assert.ok(e > s, `${label}: an empty piece in plain word ${JSON.stringify(text.slice(words.starts[k], words.ends[k]))}`);
      for (const ch of text.slice(s, e)) assert.match(ch, LETTER_DIGIT_MARK, `${label}: piece ${JSON.stringify(text.slice(s, e))} of a plain word`);
    }
  }
  return true;
}

describe('words of a text without WordPiece', () => {
  it('are the tokenizer\'s words on tricky strings', () => {
    const texts = [
      'Hello, Wörld! The server drains open connections before it stops.',
      'café CAFÉ cafe\u0301 CAFE\u0301 naïve Ångström résumé',
      'e\u0301\u0301cole a\u0316\u0301 a\u0301\u0316 \u1EC7 e\u0323\u0302',
      'ＡＢＣ ｆｕｌｌ－ｗｉｄｔｈ １２３',
      '中文字符，測試。 日本語のテキスト ｶﾀｶﾅ カタカナ ひらがな 中\u0301文',
      'I ❤️ emoji 😀 👍🏽 👨‍👩‍👧‍👦 🇩🇪🇫🇷 🏴󠁧󠁢󠁥󠁮󠁧󠁿 end',
      'zero\u200bwidth\u200cnon\u200djoiner \u2060word\ufeffjoiner \u200b spaced \u200b',
      'control\u0000chars\u0007here\u001b[0m \u0085 \u0080 \ufffd replaced',
      'tabs\tand\r\nCRLF\nlines\u000bvt\u000cff\u2028ls\u2029ps \u00a0nbsp\u3000ideo',
      'İstanbul İİ ıi DİYARBAKIR',
      'Straße STRASSE ẞ groß',
      'https://example.com/path?query=1&x=%20#frag mailto:someone@example.org',
      "fastify.addHook('onSend', async (req, reply) => {})",
      'const x = a?.b ?? c; // TODO: fix <T extends keyof U> snake_case __init__',
      '1,234,567.89 1.234.567,89 3.14e-10 0x1F ½ ² ① Ⅻ',
      'Use `npm install --save-dev` and **bold** _it_ [link](http://x.y) [cls] [Unused0]',
      'a≠b ;(greek question) · \u0387 x\u037ey \u1FEF \u1FED',
      'Привет, мир! Ελληνικά σοφός ς עברית العربية हिन्दी ภาษาไทย',
      'ǅemal ǈ ﬁne ﬂow Å K Ω ℃ ™ © ®',
      'lone \ud800 surrogate \udc00 here',
      'ancient 𐎀 and astral 𠀀𠀁 cjk and 𝐁𝐨𝐥𝐝 math',
      '한국어 텍스트입니다. 안녕하세요',
      `before ${'a'.repeat(101)} after ${'b'.repeat(100)} ${'x'.repeat(99)}\u0301\u0301\u0301`,
      '.\u0301 ,\u200b\u0301 a\u200b\u0301 a\u200b b \u0301start x\u0301\u200b',
      ' \u0301 \u0345x',
    ];
    for (const t of texts) assert.ok(check(t), `${JSON.stringify(t)}: the scan gave up`);
    // What it cannot follow.
    for (const t of ['ΑΣ.Β', 'x [CLS] y', '[unused0]', '[UNUSED0]', '\u200b[UnUsed1]', 'x\u{1D165}']) {
      assert.equal(scanner.scan(t), undefined, JSON.stringify(t));
      assert.ok(unfollowable(t), JSON.stringify(t));
    }
    // A text that only comes close to an added token is followed (a '[' in a long text, a link).
    for (const t of ['[unused0 ] and [link](x)', '[UNUSED0] x', ' [UNUSED0]', '[CLS']) assert.ok(check(t), JSON.stringify(t));
  });

  it('are the tokenizer\'s words on random strings of tricky characters', () => {
    const alphabet = [
      'a', 'B', 'z', 'é', 'e\u0301', '\u0301', '\u0316', '\u0345', 'Σ', 'ς', 'ʰ', "'", ' ', '  ', '\t', '\r\n',
      '中', 'の', '한', 'Ａ', '😀', '👍🏽', '\u200b', '\u200d', '\u0007', '\u0000', 'İ', 'ß', 'ẞ', '.', '-', '#', '_',
      '[CLS]', '[', ']', 'UNUSED0', '\u00a0', '\ufeff', '\u{1D165}', '\u302E', '\uA9C0', '≠', '\u037e', '©', '½',
      '\ud800', '\udc00', '\u{20000}', '\u{E0067}', 'ǅ', 'ﬁ', '\uF900', 'ing', 'the', '123', '\u0130\u0316', 'Ω', '—', '…',
    ];
    let seed = 0x2545f491;
    const rand = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    let followed = 0;
    const runs = 5000;
    for (let it = 0; it < runs; it++) {
      const n = 1 + Math.floor(rand() * 14);
      let s = '';
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
      if (check(s, `random #${it} ${JSON.stringify(s)}`)) followed++;
    }
    assert.ok(followed > runs / 2, `followed ${followed} of ${runs}`);
  });

  it('call a word plain exactly when it is letters, digits and marks that are each one unit or nothing, with nothing dropped inside', () => {
    const plainOf = (text: string): Array<[string, number]> => {
      const w = scanner.scan(text)!;
      return Array.from({ length: w.count }, (_, k) => [text.slice(w.starts[k], w.ends[k]), w.plain[k]]);
    };
    assert.deepEqual(plainOf('The café, e\u0301cole 中文 x2 ©x 😀 a\u200bb 한 … _'), [
      ['The', 1], ['café', 1], [',', 0], ['e\u0301cole', 1], ['中', 1], ['文', 1], ['x2', 1], ['©x', 0], ['😀', 0], ['a\u200bb', 0], ['한', 0], ['…', 0], ['_', 0],
    ]);
    // A mark after a dropped character joins the word across it; one after an ideograph does not join it.
    assert.deepEqual(plainOf('a\u200b\u0301 中\u0301 .\u0301'), [['a\u200b\u0301', 0], ['中', 1], ['.\u0301', 0]]);
  });
});
