"""BERT uncased WordPiece tokenisation with character offsets, for building training data.

Mirrors the runtime tokenizer (src/core/model/tokenizer.ts, itself tested against
@huggingface/tokenizers): clean text, CJK spacing, lowercase, NFD, strip combining marks,
split on whitespace and punctuation, greedy longest-match WordPiece (max 100 chars a word).
Offsets are Python string indices into the original text.
"""
import json
import unicodedata


def _is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith('P')


def _is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def _is_control(ch):
    if ch in '\t\n\r':
        return False
    return unicodedata.category(ch) in ('Cc', 'Cf')


def _is_ws(ch):
    return ch in ' \t\n\r' or unicodedata.category(ch) == 'Zs'


class WordPiece:
    def __init__(self, tokenizer_json):
        with open(tokenizer_json, encoding='utf-8') as f:
            spec = json.load(f)
        self.vocab = spec['model']['vocab']
        self.unk = self.vocab['[UNK]']
        self.cache = {}
        self.punct_ids = set(i for t, i in self.vocab.items()
                             if not t.startswith('[') and all(_is_punct(c) for c in t.replace('##', '', 1)))

    def _words(self, text):
        """Yields (normalised word, start, end) with original offsets."""
        cur = []  # list of (normalised char, orig index)
        def flush():
            if cur:
                w = ''.join(c for c, _ in cur)
                s, e = cur[0][1], cur[-1][1] + 1
                cur.clear()
                return (w, s, e)
            return None
        for i, ch in enumerate(text):
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or _is_control(ch):
                continue
            if _is_ws(ch):
                r = flush()
                if r: yield r
                continue
            if _is_cjk(cp) or _is_punct(ch):
                r = flush()
                if r: yield r
                yield (ch.lower() if not _is_cjk(cp) else ch, i, i + 1)
                continue
            low = ch.lower()
            norm = ''.join(c for c in unicodedata.normalize('NFD', low) if unicodedata.category(c) != 'Mn')
            for c in norm:
                if _is_punct(c):
                    r = flush()
                    if r: yield r
                    yield (c, i, i + 1)
                else:
                    cur.append((c, i))
        r = flush()
        if r: yield r

    def _pieces(self, word):
        hit = self.cache.get(word)
        if hit is not None:
            return hit
        if len(word) > 100:
            res = [(self.unk, 0, len(word))]
        else:
            res = []
            start = 0
            while start < len(word):
                end = len(word)
                found = None
                while start < end:
                    sub = word[start:end]
                    if start > 0:
                        sub = '##' + sub
                    if sub in self.vocab:
                        found = self.vocab[sub]
                        break
                    end -= 1
                if found is None:
                    res = [(self.unk, 0, len(word))]
                    break
                res.append((found, start, end))
                start = end
        if len(self.cache) < 500000:
            self.cache[word] = res
        return res

    def tokenize(self, text):
        """Returns (ids, starts, ends); offsets into `text`. Piece offsets inside a word are
        approximate when normalisation changed the word's length (accents), exact otherwise."""
        ids, starts, ends = [], [], []
        for w, s, e in self._words(text):
            exact = (e - s) == len(w)
            for pid, ps, pe in self._pieces(w):
                ids.append(pid)
                if exact:
                    starts.append(s + ps); ends.append(s + pe)
                else:
                    starts.append(s); ends.append(e)
        return ids, starts, ends
