import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { TextTokenizer, type TokenizedText } from '../../src/core/model/tokenizer';

const ROOT = path.resolve(__dirname, '../..');
const TOKENIZER_JSON = path.join(ROOT, 'models/es-colbert-small/tokenizer.json');

let tok: TextTokenizer;
let hf: Tokenizer;
let unkId: number;
let addedIds: Set<number>;

before(async () => {
  tok = await TextTokenizer.load(TOKENIZER_JSON);
  const json = JSON.parse(fs.readFileSync(TOKENIZER_JSON, 'utf8')) as { added_tokens: { id: number }[] };
  hf = new Tokenizer(json, {});
  unkId = tok.tokenId('[UNK]');
  addedIds = new Set(json.added_tokens.map((t) => t.id));
});

function hfNormalize(s: string): string {
  // Greek capital sigma lowercases by context, so a slice on its own may get the other form.
  return hf.normalizer!.normalize(s).trim().replace(/ς/g, 'σ');
}

/**
 * Checks `text` against the reference and the span invariants. Returns the number of tokens
 * whose own slice does not normalise to its piece (allowed only where one original character
 * expands into pieces of several tokens, e.g. Hangul syllables → jamo).
 */
function check(text: string, label = JSON.stringify(text)): { r: TokenizedText; pieces: string[]; inexact: number } {
  const r = tok.tokenize(text);
  const ref = hf.encode(text, { add_special_tokens: false });
  assert.deepEqual([...r.ids], ref.ids, `ids differ for ${label}`);
  assert.equal(r.starts.length, r.ids.length);
  assert.equal(r.ends.length, r.ids.length);
  let prevEnd = 0;
  for (let k = 0; k < r.ids.length; k++) {
    const s = r.starts[k];
    const e = r.ends[k];
    assert.ok(s >= prevEnd && s <= e && e <= text.length, `bad span #${k} [${s}, ${e}) after ${prevEnd} in ${label}`);
    prevEnd = e;
  }
  // Normalising each token's slice gives its piece; tokens that share an original character are
  // checked as a group: the group's slice normalises to the concatenation of its pieces.
  const pieces = ref.tokens.map((t) => t.replace(/^##/, ''));
  let inexact = 0;
  let k = 0;
  while (k < r.ids.length) {
    if (r.ids[k] === unkId || addedIds.has(r.ids[k])) {
      assert.ok(r.ends[k] > r.starts[k], `empty span for ${ref.tokens[k]} in ${label}`);
      k++;
      continue;
    }
    const piece = pieces[k].replace(/ς/g, 'σ');
    if (hfNormalize(text.slice(r.starts[k], r.ends[k])) === piece) {
      k++;
      continue;
    }
    let m = k;
    let joined = '';
    let ok = false;
    while (m < r.ids.length && r.ids[m] !== unkId && !addedIds.has(r.ids[m])) {
      joined += pieces[m].replace(/ς/g, 'σ');
      m++;
      if (hfNormalize(text.slice(r.starts[k], r.ends[m - 1])) === joined) {
        ok = true;
        break;
      }
    }
    assert.ok(ok, `slice of ${ref.tokens[k]} (#${k}) = ${JSON.stringify(text.slice(r.starts[k], r.ends[k]))} in ${label}`);
    inexact += m - k;
    k = m;
  }
  return { r, pieces: ref.tokens, inexact };
}

function spans(text: string): string[] {
  const r = tok.tokenize(text);
  return [...r.ids].map((_, k) => text.slice(r.starts[k], r.ends[k]));
}

describe('TextTokenizer', () => {
  test('vocabulary', () => {
    assert.equal(tok.vocabSize, 30522);
    assert.equal(tok.tokenId('[PAD]'), 0);
    assert.equal(tok.tokenId('[unused0]'), 1);
    assert.equal(tok.tokenId('[unused1]'), 2);
    assert.equal(tok.tokenId('[CLS]'), 101);
    assert.equal(tok.tokenId('[SEP]'), 102);
    assert.equal(tok.tokenId('[MASK]'), 103);
    assert.equal(tok.tokenId('the'), hf.token_to_id('the'));
    assert.equal(tok.tokenId('##ing'), hf.token_to_id('##ing'));
    assert.throws(() => tok.tokenId('definitely-not-a-token'), /unknown token/);
    const entries = [...tok.vocabEntries()];
    assert.equal(entries.length, 30522);
    assert.ok(entries.every(([t, id]) => hf.token_to_id(t) === id));
    assert.equal(tok.tokenize('').ids.length, 0);
    assert.equal(tok.tokenize(' \t\r\n\u200b ').ids.length, 0);
  });

  const exact: string[] = [
    'Hello, Wörld!',
    'café CAFÉ cafe\u0301 CAFE\u0301 naïve Ångström résumé',
    'e\u0301\u0301cole a\u0316\u0301 a\u0301\u0316 \u1EC7 e\u0323\u0302',
    'ＡＢＣ ｆｕｌｌ－ｗｉｄｔｈ １２３',
    '中文字符，測試。 日本語のテキスト ｶﾀｶﾅ カタカナ ひらがな',
    'I ❤️ emoji 😀 👍🏽 👨‍👩‍👧‍👦 🇩🇪🇫🇷 🏴󠁧󠁢󠁥󠁮󠁧󠁿 end',
    'zero\u200bwidth\u200cnon\u200djoiner \u2060word\ufeffjoiner \u200b spaced \u200b',
    'control\u0000chars\u0007here\u001b[0m \u0085 \u0080 \ufffd replaced',
    'tabs\tand\r\nCRLF\nlines\u000bvt\u000cff\u2028ls\u2029ps \u00a0nbsp\u3000ideo',
    'İstanbul İİ ıi DİYARBAKIR',
    'Straße STRASSE ẞ groß',
    'ΟΔΟΣ ΟΔΟΣ. Σ ΑΣ\'Β σοφός ΣΟΦΟΣ ΑΣ\u0301 ΑΣʰ ʰΣ ΑΣ\u200bΒ',
    'https://example.com/path?query=1&x=%20#frag mailto:someone@example.org',
    "fastify.addHook('onSend', async (req, reply) => {})",
    'const x = a?.b ?? c; // TODO: fix <T extends keyof U>',
    '1,234,567.89 1.234.567,89 1 234 567 3.14e-10 0x1F ½ ² ①',
    'Use `npm install --save-dev` and ```ts\nconst a = 1;\n``` then **bold** _it_ [link](http://x.y)',
    '[CLS] text [SEP] [MASK] [UNK] [unused0] [unused1] [UNUSED0] [cls] [[CLS]]',
    '[UNUSED0]',
    'a≠b ;(greek question) · \u0387 x\u037ey',
    'Привет, мир! Ελληνικά עברית العربية हिन्दी ภาษาไทย',
    'ǅemal ǈ ﬁne ﬂow Å K Ω',
    'lone \ud800 surrogate \udc00 here',
    'ancient 𐎀 and astral 𠀀𠀁 cjk and 𝐁𝐨𝐥𝐝 math',
  ];

  for (const text of exact) {
    test(`matches the reference: ${JSON.stringify(text).slice(0, 60)}`, () => {
      const { inexact } = check(text);
      assert.equal(inexact, 0);
    });
  }

  test('Korean: syllables decompose into jamo; spans stay non-overlapping', () => {
    const text = '한국어 텍스트입니다. 안녕하세요';
    const { r, inexact } = check(text);
    assert.ok(inexact > 0);
    // Every syllable lies in exactly one token's span.
    for (let i = 0; i < text.length; i++) {
      if (text[i] === ' ' || text[i] === '.') continue;
      const n = [...r.ids].filter((_, k) => r.starts[k] <= i && i < r.ends[k]).length;
      assert.equal(n, 1, `character ${i} (${text[i]}) is in ${n} spans`);
    }
  });

  test('spans slice back to the original characters', () => {
    assert.deepEqual(spans('Hello, Wörld!'), ['Hello', ',', 'Wörld', '!']);
    assert.deepEqual(spans('CAFE\u0301 bar'), ['CAFE\u0301', 'bar']);
    // a decomposed accent stays with its letter
    for (const [k, s] of spans('re\u0301sume\u0301 e\u0301\u0302t').entries()) {
      assert.ok(!s.startsWith('\u0301') && !s.startsWith('\u0302'), `span ${k} starts with a mark`);
    }
    assert.deepEqual(spans('İstanbul'), ['İstanbul']);
    assert.deepEqual(spans('中文字'), ['中', '文', '字']);
    assert.deepEqual(spans('x 😀 y'), ['x', '😀', 'y']);
    assert.deepEqual(spans('👨‍👩‍👧'), ['👨‍👩‍👧']);
    assert.deepEqual(spans('🇩🇪'), ['🇩🇪']);
    // zero-width and control characters between words belong to no span
    assert.deepEqual(spans('a \u200b b \u0007 c'), ['a', 'b', 'c']);
    assert.deepEqual(spans('\u200bword\u200b'), ['word']);
    assert.deepEqual(spans('a\r\nb\tc'), ['a', 'b', 'c']);
    assert.deepEqual(spans("addHook('onSend')"), ['add', 'Ho', 'ok', '(', "'", 'on', 'Sen', 'd', "'", ')']);
    assert.deepEqual(spans('x [CLS] y'), ['x', '[CLS]', 'y']);
  });

  test('words longer than 100 characters are one [UNK]', () => {
    const long = 'a'.repeat(101);
    const r = check(`before ${long} after`).r;
    assert.deepEqual([...r.ids].map((id) => id === unkId), [false, true, false]);
    assert.equal(r.starts[1], 7);
    assert.equal(r.ends[1], 7 + 101);
    const r100 = check('b'.repeat(100)).r;
    assert.ok(![...r100.ids].includes(unkId));
    // 100 code points written with 200 code units is still within the limit
    const astral = '𝐀'.repeat(100);
    assert.equal(check(astral).r.ids.length, hf.encode(astral, { add_special_tokens: false }).ids.length);
    check('𝐀'.repeat(101));
    check(`${'x'.repeat(99)}\u0301\u0301\u0301`);
  });

  test('randomised strings of tricky characters match the reference', () => {
    const alphabet = [
      'a', 'B', 'z', 'é', 'e\u0301', '\u0301', '\u0316', '\u0345', 'Σ', 'ς', 'ʰ', "'", ' ', '  ', '\t', '\r\n',
      '中', 'の', '한', 'Ａ', '😀', '👍🏽', '\u200b', '\u200d', '\u0007', '\u0000', 'İ', 'ß', 'ẞ', '.', '-', '#',
      '[CLS]', '[', ']', 'UNUSED0', '\u00a0', '\ufeff', '\u{1D165}', '\u{1D16D}', '\u302E', '\uA9C0', '≠', '\u037e',
      '\ud800', '\udc00', '\u{20000}', '\u{E0067}', 'ǅ', 'ﬁ', '\uF900', 'ing', 'the', '123', '\u0130\u0316', 'Ω',
    ];
    let seed = 0x2545f491;
    const rand = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    for (let it = 0; it < 3000; it++) {
      const n = 1 + Math.floor(rand() * 12);
      let s = '';
      for (let j = 0; j < n; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
      check(s, `random #${it} ${JSON.stringify(s)}`);
    }
  });

  test('every paragraph of real files matches the reference', () => {
    const files = [
      'node_modules/typescript/README.md',
      'node_modules/chokidar/README.md',
      'node_modules/@types/node/path.d.ts',
      'node_modules/@types/node/events.d.ts',
    ].map((f) => path.join(ROOT, f));
    let tokens = 0;
    let paragraphs = 0;
    for (const f of files) {
      if (!fs.existsSync(f)) continue;
      for (const p of fs.readFileSync(f, 'utf8').split(/\n\s*\n/)) {
        const r = check(p, `${path.basename(f)} paragraph ${paragraphs}`).r;
        tokens += r.ids.length;
        paragraphs++;
      }
    }
    assert.ok(tokens > 10000, `only ${tokens} tokens checked`);
  });

  test('other configurations and vocabularies match the reference (fromJson)', () => {
    const vocab: Record<string, number> = {};
    for (const t of ['[UNK]', '[CLS]', 'x', 'X', 'ab', 'AB', '##c', '##C', 'é', 'e', '##\u0301', '#', '##\u{1D165}', '##\u{1D16D}', '##\u{1D165}\u{1D16D}', '##\u{1D16D}\u{1D165}', 'ω', 'Ω', 'σ', 'ς', 'Σ', '##Σ', '##σ', '##ς']) {
      vocab[t] = Object.keys(vocab).length;
    }
    const added = [{ id: 1, content: '[CLS]', single_word: false, lstrip: true, rstrip: true, normalized: false, special: true }];
    const texts = [
      'x\u{1D16D}\u{1D165} x\u{1D165}\u{1D16D} x\u{1D16D}\u0301\u{1D165}',
      'AB ab ABC abc é e\u0301 É x [CLS] x  [CLS]ab',
      'ΩΣ ωσ Σ ΩΣ.ΩΣx xΣ',
    ];
    for (const normalizer of [
      { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: false },
      { type: 'BertNormalizer', clean_text: false, handle_chinese_chars: false, strip_accents: true, lowercase: false },
    ]) {
      const json = {
        added_tokens: added,
        normalizer,
        pre_tokenizer: { type: 'BertPreTokenizer' },
        post_processor: null,
        decoder: null,
        model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
      };
      const mine = TextTokenizer.fromJson(json, 'synthetic');
      const ref = new Tokenizer(json, {});
      for (const text of texts) {
        const r = mine.tokenize(text);
        assert.deepEqual([...r.ids], ref.encode(text, { add_special_tokens: false }).ids, `${JSON.stringify(normalizer)} ${text}`);
        for (let k = 1; k < r.ids.length; k++) assert.ok(r.starts[k] >= r.ends[k - 1]);
      }
    }
  });

  describe('load errors name the file', () => {
    let dir: string;
    before(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'es-tokenizer-test-'));
    });

    test('missing file', async () => {
      const p = path.join(dir, 'missing', 'tokenizer.json');
      await assert.rejects(TextTokenizer.load(p), { message: `tokenizer file not found: ${p}` });
    });

    test('invalid JSON', async () => {
      const p = path.join(dir, 'corrupt.json');
      fs.writeFileSync(p, '{"model": {"type": "WordPiece", "vocab": {');
      await assert.rejects(TextTokenizer.load(p), (e: Error) => {
        assert.ok(e.message.startsWith(`tokenizer.json is not valid JSON (${p}): `), e.message);
        return true;
      });
    });

    test('not a WordPiece tokenizer', async () => {
      const p = path.join(dir, 'bpe.json');
      fs.writeFileSync(p, JSON.stringify({ model: { type: 'BPE', vocab: {}, merges: [] } }));
      await assert.rejects(TextTokenizer.load(p), (e: Error) => {
        assert.ok(e.message.includes(p) && /not a supported WordPiece tokenizer: model.type is "BPE"/.test(e.message), e.message);
        return true;
      });
      const q = path.join(dir, 'array.json');
      fs.writeFileSync(q, '[1, 2, 3]');
      await assert.rejects(TextTokenizer.load(q), (e: Error) => e.message.includes(q) && /not an object/.test(e.message));
      const r = path.join(dir, 'nonorm.json');
      fs.writeFileSync(r, JSON.stringify({ model: { type: 'WordPiece', vocab: { '[UNK]': 0 } }, normalizer: null }));
      await assert.rejects(TextTokenizer.load(r), (e: Error) => e.message.includes(r) && /BertNormalizer/.test(e.message));
    });

    test('a directory', async () => {
      await assert.rejects(TextTokenizer.load(dir), (e: Error) => e.message.includes(dir));
    });
  });
});
