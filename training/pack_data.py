"""usage: pack_data.py OUT.npz MLM_BASE PAIRS.tok.jsonl [MORE_PAIRS.tok.jsonl ...]

Packs tokenized pairs (pairs.tok.jsonl files: the first set holds the held-out pairs) and MLM passages (mlm.u16/.off.i32) into one
compressed .npz of flat arrays, the input of train_fgr.py: small enough to copy to another
machine and loaded without per-pair Python objects.

Documents are built exactly as the runtime encoder builds them: [CLS] [D] context [SEP] body,
cut to 180 ids; queries are the raw query ids (markers and [MASK] padding are added in training).
"""
import json
import sys

import numpy as np

DOC_LEN, CLS, SEP, DMARK = 180, 101, 102, 2


def build_doc(ctx, body, labels):
    head = [CLS, DMARK] + (list(ctx) + [SEP] if ctx else [])
    body = list(body)[:DOC_LEN - len(head)]
    if labels is None:
        labs = [-1] * (len(head) + len(body))
    else:
        labs = [-1] * len(head) + list(labels)[:len(body)] + [-1] * max(0, len(body) - len(labels))
    return head + body, labs


TYPES = ['heading', 'summary', 'symbol', 'ict']


def pair_types(tok_path):
    """Type code of each pair (index into TYPES; +8 when it carries evidence labels), read from the
    untokenized pairs file beside the tokenized one, which has the same lines in the same order."""
    raw = tok_path.replace('.tok.jsonl', '.jsonl')
    codes = []
    for line in open(raw, encoding='utf-8'):
        t = json.loads(line)['type']
        base = t.split('+')[0]
        codes.append(TYPES.index(base) + (8 if '+' in t else 0) + (16 if t.endswith('+inplace') else 0))
    return codes


def main(out_path, mlm_base, *pairs_paths):
    q, qo, p, po, pl, n, no = [], [0], [], [0], [], [], [0]
    sizes, types = [], []
    for r in (json.loads(line) for path in pairs_paths for line in open(path, encoding='utf-8')):
        q += r['q'][:30]; qo.append(len(q))
        d, l = build_doc(r['posc'], r['posb'], r['lab'])
        p += d; pl += l; po.append(len(p))
        d, _ = build_doc(r['negc'], r['negb'], None)
        n += d; no.append(len(n))
    for path in pairs_paths:
        sizes.append(sum(1 for _ in open(path, encoding='utf-8')))
        types += pair_types(path)
    assert len(types) == len(qo) - 1, 'pairs and tokenized pairs differ in length'
    mlm = np.fromfile(mlm_base + '.u16', dtype=np.uint16)
    mlm_off = np.fromfile(mlm_base + '.off.i32', dtype=np.int32)
    np.savez_compressed(out_path,
                        q=np.array(q, np.uint16), q_off=np.array(qo, np.int64),
                        pos=np.array(p, np.uint16), pos_off=np.array(po, np.int64), pos_lab=np.array(pl, np.int8),
                        neg=np.array(n, np.uint16), neg_off=np.array(no, np.int64),
                        mlm=mlm, mlm_off=mlm_off.astype(np.int64), set_sizes=np.array(sizes, np.int64), types=np.array(types, np.int8))
    print(f'packed {len(qo) - 1} pairs ({len(p) + len(n)} doc ids), {len(mlm_off) - 1} MLM passages ({len(mlm)} ids)', file=sys.stderr)


if __name__ == '__main__':
    main(*sys.argv[1:])
