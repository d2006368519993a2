"""Weakly supervised training pairs and evidence-labelled composites from passages.jsonl.

Input lines (written by corpus/build_passages.ts with the product's own extractor):
  {"src": package/source id, "file": path, "kind": "markdown"|"comment", "lang": ...,
   "context": heading path or symbol context, "heading": own heading or "", "text": body}
Output: pairs.jsonl lines
  {"q": query, "ctx": context, "pos": passage text, "neg_ctx", "neg": hard negative text,
   "ev": [[s, e], ...] evidence ranges inside "pos" (may be empty), "type": ...}

Pair types (queries shaped like the questions users ask):
  heading  - heading (templated into a question) -> section body without its heading
  summary  - first sentence of a doc comment -> the rest of the comment
  symbol   - "what does X do" -> the comment documenting X
  ict      - a sentence cut out of a passage -> the rest (inverse cloze)
Evidence composites (FGR labels): the answering sentences of a pair placed among distractor
sentences from another passage of the same file (else the same package), labelled at char level.
Hard negatives: another passage of the same file, else of the same source package.
"""
import json
import random
import re
import sys
from collections import defaultdict

SENT_RE = re.compile(r'(?<=[.!?:])\s+(?=[A-Z`\[(*"\'0-9_])|\n\s*\n')
WORD_RE = re.compile(r'[A-Za-z0-9_]+')

HEADING_TEMPLATES = [
    '{h}', '{h}', 'how do I {h}', 'how to {h}', 'what is {h}', 'how does {h} work',
    '{p} {h}', 'what does {h} mean', 'when should I use {h}', '{h} example',
]
SYMBOL_TEMPLATES = ['what does {s} do', '{s}', 'how to use {s}', 'what is {s} for', 'purpose of {s}']


def sentences(text):
    """Sentence spans (start, end) of text, whitespace-trimmed."""
    spans, pos = [], 0
    for m in SENT_RE.finditer(text):
        spans.append((pos, m.start())); pos = m.end()
    spans.append((pos, len(text)))
    out = []
    for s, e in spans:
        seg = text[s:e]
        ls = len(seg) - len(seg.lstrip()); rs = len(seg.rstrip())
        if rs - ls > 0:
            out.append((s + ls, s + rs))
    return out


def n_words(t):
    return len(WORD_RE.findall(t))


def clean_heading(h):
    h = re.sub(r'[`*_#\[\]()]', ' ', h)
    h = re.sub(r'\s+', ' ', h).strip()
    return h


def drop_words(q, rng, p=0.15):
    ws = q.split()
    if len(ws) < 4:
        return q
    kept = [w for w in ws if rng.random() > p]
    return ' '.join(kept) if len(kept) >= 2 else q


def composite(rng, pos_text, ev_spans, dis_text):
    """Insert the evidence sentences (a contiguous run of pos_text) among distractor sentences."""
    ds = sentences(dis_text)
    if len(ds) < 2:
        return None
    k = rng.randint(2, min(6, len(ds)))
    i0 = rng.randint(0, len(ds) - k)
    dsent = [dis_text[s:e] for s, e in ds[i0:i0 + k]]
    evid = pos_text[ev_spans[0][0]:ev_spans[-1][1]]
    at = rng.randint(0, len(dsent))
    parts = dsent[:at] + [None] + dsent[at:]
    out, ev = '', []
    for p in parts:
        if out:
            out += ' '
        if p is None:
            ev.append([len(out), len(out) + len(evid)]); out += evid
        else:
            out += p
    return out, ev


def main(inp, outp, seed=13):
    rng = random.Random(seed)
    passages = [json.loads(l) for l in open(inp, encoding='utf-8')]
    by_file, by_src = defaultdict(list), defaultdict(list)
    for i, p in enumerate(passages):
        by_file[p['file']].append(i); by_src[p['src']].append(i)

    def negative(i):
        p = passages[i]
        pool = by_file[p['file']]
        if len(pool) < 2:
            pool = by_src[p['src']]
        if len(pool) < 2:
            pool = None
        for _ in range(4):
            j = rng.choice(pool) if pool else rng.randrange(len(passages))
            if j != i and passages[j]['text'] != p['text']:
                return j
        return rng.randrange(len(passages))

    counts = defaultdict(int)
    with open(outp, 'w', encoding='utf-8') as out:
        def emit(q, ctx, pos, i, typ, ev_sents=None, fixed_ev=None):
            q = q.strip()
            if n_words(q) < 1 or n_words(pos) < 6 or len(q) > 300:
                return
            j = negative(i)
            rec = {'q': q, 'ctx': ctx, 'pos': pos, 'neg_ctx': passages[j]['context'],
                   'neg': passages[j]['text'][:1500], 'ev': [], 'type': typ}
            # For about half the pairs with several sentences, the positive becomes an
            # evidence composite: the answering sentences inside distractor text.
            if fixed_ev:
                # the answer sits inside its own, unmodified passage
                rec['ev'] = fixed_ev
                rec['type'] = typ + '+inplace'
            elif ev_sents and rng.random() < 0.5:
                d = negative(i)
                c = composite(rng, pos, ev_sents, passages[d]['text'][:1500])
                if c:
                    rec['pos'], rec['ev'] = c
                    rec['type'] = typ + '+ev'
            out.write(json.dumps(rec, ensure_ascii=False) + '\n')
            counts[rec['type']] += 1

        for i, p in enumerate(passages):
            text, ctx = p['text'][:1500], p['context']
            sents = sentences(text)
            # a window of 1-3 consecutive sentences serves as the evidence of a composite
            def window():
                if len(sents) < 2:
                    return None
                k = rng.randint(1, min(3, len(sents)))
                a = rng.randint(0, len(sents) - k)
                return sents[a:a + k]
            if p['kind'] == 'markdown' and p.get('heading'):
                h = clean_heading(p['heading'])
                parent = ctx.split(' > ')[-1] if ctx else ''
                if n_words(h) >= 1:
                    t = rng.choice(HEADING_TEMPLATES)
                    q = t.format(h=h.lower() if rng.random() < 0.5 else h, p=parent)
                    emit(q, ctx, text, i, 'heading', window())
            if p['kind'] == 'comment' and len(sents) >= 2:
                s0, e0 = sents[0]
                summ = text[s0:e0]
                rest = text[e0:].strip()
                if 3 <= n_words(summ) <= 40 and n_words(rest) >= 6:
                    emit(drop_words(summ, rng), ctx, rest, i, 'summary')
            if p['kind'] == 'comment':
                sym = ctx.split(' ')[-1] if ' ' in ctx else ''
                if sym and rng.random() < 0.12:
                    emit(rng.choice(SYMBOL_TEMPLATES).format(s=sym), ctx, text, i, 'symbol')
            # Markdown prose is what users ask about most and the scarcest text here: two cut
            # sentences per section (different ones), one for other passages most of the time.
            n_ict = 2 if p['kind'] == 'markdown' and len(sents) >= 5 else (1 if rng.random() < 0.7 else 0)
            for k in (rng.sample(range(len(sents)), n_ict) if len(sents) >= 3 else []):
                s, e = sents[k]
                q = text[s:e]
                if 4 <= n_words(q) <= 40:
                    if rng.random() < 0.25:
                        # the sentence stays: it is the evidence, the query a degraded copy of it
                        emit(drop_words(q, rng, 0.35), ctx, text, i, 'ict', fixed_ev=[[s, e]])
                        continue
                    rest = (text[:s] + ' ' + text[e:]).strip()
                    # evidence: the cut sentence's neighbours in the remaining text
                    emit(drop_words(q, rng, 0.1), ctx, rest, i, 'ict',
                         sentences(rest)[max(0, k - 1):k + 1] or None)
    print(json.dumps(dict(counts)), file=sys.stderr)


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 13)
