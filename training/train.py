"""Trains FGR-ColBERT-small on pairs.jsonl for a fixed wall-clock budget (CPU, one thread).

Loss = in-batch + hard-negative cross-entropy over MaxSim scores
     + 0.5 * token-level BCE on evidence labels, p_j = sigmoid(scale * max_i cos(q_i, d_j) + bias),
       where i runs over the query's real tokens (not the [MASK] padding, which serves ranking).
Writes the checkpoint and a JSON log to --out.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from model import Encoder, maxsim_matrix  # noqa: E402
from wordpiece import WordPiece  # noqa: E402

Q_LEN, DOC_LEN = 32, 180
CLS, SEP, MASK, PAD, QMARK, DMARK = 101, 102, 103, 0, 1, 2


def build_doc(ctx_ids, body_ids, labels=None):
    """[CLS] [D] ctx [SEP] body, truncated to DOC_LEN -> ids, labels (1/0 evidence, -1 ignore)."""
    head = [CLS, DMARK] + (list(ctx_ids) + [SEP] if ctx_ids else [])
    body = list(body_ids)[:DOC_LEN - len(head)]
    labs = [-1] * len(head) + (list(labels)[:len(body)] if labels is not None else [-1] * len(body))
    return head + body, labs


def load(path, limit=None):
    """Pairs pre-tokenized by corpus/tokenize_pairs.ts (the runtime tokenizer)."""
    data = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            r = json.loads(line)
            q = [CLS, QMARK] + r['q'] + [MASK] * (Q_LEN - 2 - len(r['q']))
            pos, lab = build_doc(r['posc'], r['posb'], r['lab'])
            neg, _ = build_doc(r['negc'], r['negb'])
            data.append((q, len(r['q']), pos, lab if r['lab'] is not None else None, neg))
            if limit and len(data) >= limit:
                break
    return data


def pad(seqs, value=PAD):
    L = max(len(s) for s in seqs)
    out = np.full((len(seqs), L), value, dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = s
    return torch.from_numpy(out)


class Batcher:
    """Length-bucketed batches: sort chunks of 100 batches by positive length."""
    def __init__(self, data, bs, seed):
        self.data, self.bs, self.rng = data, bs, random.Random(seed)

    def __iter__(self):
        while True:
            idx = list(range(len(self.data)))
            self.rng.shuffle(idx)
            chunk = self.bs * 100
            batches = []
            for c in range(0, len(idx), chunk):
                part = sorted(idx[c:c + chunk], key=lambda i: len(self.data[i][2]))
                batches += [part[b:b + self.bs] for b in range(0, len(part), self.bs) if len(part[b:b + self.bs]) == self.bs]
            self.rng.shuffle(batches)
            for b in batches:
                yield [self.data[i] for i in b]


def tensors(batch, punct):
    q = pad([b[0] for b in batch])
    qreal = torch.zeros(q.shape, dtype=torch.bool)
    for i, b in enumerate(batch):
        qreal[i, 2:2 + b[1]] = True
    docs = [b[2] for b in batch] + [b[4] for b in batch]
    d = pad(docs)
    dmask = (d != PAD) & ~punct[d]
    lab = torch.full(d.shape, -1.0)
    for i, b in enumerate(batch):
        if b[3] is not None:
            lab[i, :len(b[3])] = torch.tensor(b[3], dtype=torch.float)
    return q, qreal, d, dmask, lab


def step_loss(model, batch, punct, ev_weight):
    q, qreal, d, dmask, lab = tensors(batch, punct)
    qv = model(q, torch.ones_like(q))
    dv = model(d, (d != PAD).long())
    B = q.shape[0]
    scores = maxsim_matrix(qv, torch.ones(q.shape, dtype=torch.bool), dv, dmask)
    rank_loss = F.cross_entropy(scores, torch.arange(B))
    # FGR: for each positive doc token, best cosine against the query's real tokens
    sim = torch.einsum('bqd,bld->bql', qv, dv[:B])
    sim = sim.masked_fill(~qreal[:, :, None], -1e4).max(dim=1).values  # [B, L]
    valid = (lab[:B] >= 0) & dmask[:B]
    ev_loss = torch.tensor(0.0)
    if valid.any():
        logits = model.fgr_scale * sim + model.fgr_bias
        ev_loss = F.binary_cross_entropy_with_logits(logits[valid], lab[:B][valid])
    return rank_loss + ev_weight * ev_loss.float(), rank_loss.item(), ev_loss.item()


@torch.no_grad()
def evaluate(model, dev, punct, bs=64, with_ranking=True, with_evidence=True):
    """MRR@10 of each dev query's positive among all dev positives and negatives, plus
    evidence token stats (best cos per token, label) for calibration."""
    model.eval()
    docs = [b[2] for b in dev] + [b[4] for b in dev] if with_ranking else []
    dvecs, dmasks = [], []
    for s in range(0, len(docs), bs):
        d = pad(docs[s:s + bs])
        dvecs.append(model(d, (d != PAD).long())); dmasks.append((d != PAD) & ~punct[d])
    rr, ev_sims, ev_labs = [], [], []
    for s in range(0, len(dev), bs):
        part = dev[s:s + bs]
        q = pad([b[0] for b in part])
        qv = model(q, torch.ones_like(q))
        for i in range(len(part) if with_ranking else 0):
            if i == 0:
                scores = torch.cat([maxsim_matrix(qv, torch.ones(q.shape, dtype=torch.bool), dv, dm)
                                    for dv, dm in zip(dvecs, dmasks)], dim=1).float()
            gold = scores[i, s + i]
            rank = int((scores[i] > gold).sum()) + 1
            rr.append(1.0 / rank if rank <= 10 else 0.0)
        for i, b in enumerate(part):
            if b[3] is None or not with_evidence:
                continue
            d = torch.tensor([b[2]])
            dv = model(d, torch.ones_like(d))[0]
            sim = qv[i, 2:2 + b[1]] @ dv.T
            best = sim.max(dim=0).values
            lab = torch.tensor(b[3])
            keep = (lab >= 0) & ~punct[d[0]]
            ev_sims.append(best[keep]); ev_labs.append(lab[keep])
    model.train()
    return float(np.mean(rr)), (torch.cat(ev_sims) if ev_sims else None), (torch.cat(ev_labs) if ev_labs else None)


def fgr_optimizer(model, lr):
    """AdamW with weight decay on matrices only, and the two FGR scalars at 20× the learning rate
    (the param groups carry 'lr_mult' for the schedule)."""
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2 and not n.startswith('fgr_')]
    fgr = [model.fgr_scale, model.fgr_bias]
    # The two FGR scalars must move by whole units; at the encoder's learning rate they could not.
    return torch.optim.AdamW([{'params': decay, 'weight_decay': 0.01, 'lr_mult': 1.0},
                              {'params': no_decay, 'weight_decay': 0.0, 'lr_mult': 1.0},
                              {'params': fgr, 'weight_decay': 0.0, 'lr_mult': 20.0}], lr=lr)


def calibrate(sims, labs, scale, bias):
    """Refit scale/bias by logistic regression on held-out tokens; threshold maximising token F1."""
    sims = sims.float()
    a = torch.tensor(float(scale), requires_grad=True)
    b = torch.tensor(float(bias), requires_grad=True)
    opt = torch.optim.LBFGS([a, b], max_iter=200)
    y = labs.float()
    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(a * sims + b, y)
        loss.backward()
        return loss
    opt.step(closure)
    p = torch.sigmoid(a.detach() * sims + b.detach())
    best = (0.0, 0.5)
    for t in np.arange(0.05, 0.96, 0.01):
        pred = p >= t
        tp = float((pred & (y > 0.5)).sum()); fp = float((pred & (y < 0.5)).sum()); fn = float((~pred & (y > 0.5)).sum())
        f1 = 2 * tp / max(1.0, 2 * tp + fp + fn)
        if f1 > best[0]:
            best = (f1, float(t))
    return float(a), float(b), best[1], best[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--pairs', required=True)
    ap.add_argument('--tokenizer', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--minutes', type=float, default=60)
    ap.add_argument('--layers', type=int, default=4)
    ap.add_argument('--hidden', type=int, default=128)
    ap.add_argument('--dim', type=int, default=128)
    ap.add_argument('--bs', type=int, default=32)
    ap.add_argument('--lr', type=float, default=5e-4)
    ap.add_argument('--ev-weight', type=float, default=0.5)
    ap.add_argument('--dev', type=int, default=2000)
    ap.add_argument('--limit', type=int, default=0)
    ap.add_argument('--seed', type=int, default=13)
    ap.add_argument('--init-emb', default='')
    ap.add_argument('--bf16', type=int, default=1)
    args = ap.parse_args()

    torch.manual_seed(args.seed); random.seed(args.seed); np.random.seed(args.seed)
    torch.set_num_threads(int(os.environ.get('TRAIN_THREADS', '1')))
    os.makedirs(args.out, exist_ok=True)
    wp = WordPiece(args.tokenizer)
    punct = torch.zeros(len(wp.vocab), dtype=torch.bool)
    for i in wp.punct_ids:
        punct[i] = True
    t0 = time.time()
    data = load(args.pairs, args.limit or None)
    rng = random.Random(args.seed)
    rng.shuffle(data)
    dev, train = data[:args.dev], data[args.dev:]
    print(f'loaded {len(data)} pairs in {time.time() - t0:.0f}s; train {len(train)}, dev {len(dev)}', flush=True)

    model = Encoder(vocab=len(wp.vocab), hidden=args.hidden, layers=args.layers, heads=max(2, args.hidden // 32),
                    ffn=4 * args.hidden, dim=args.dim, max_len=256)
    if args.init_emb:
        emb = torch.from_numpy(np.load(args.init_emb)).float()
        with torch.no_grad():
            model.tok.weight.copy_(emb * (0.02 / emb.std()))
        print('initialised token embeddings from', args.init_emb, flush=True)
    nparams = sum(p.numel() for p in model.parameters())
    print(f'parameters: {nparams}', flush=True)
    opt = fgr_optimizer(model, args.lr)
    budget = args.minutes * 60
    start = time.time()
    step, tokens, log = 0, 0, []
    warmup = 300
    ema = None
    for batch in Batcher(train, args.bs, args.seed):
        el = time.time() - start
        if el > budget:
            break
        frac = el / budget
        lr = args.lr * min(1.0, (step + 1) / warmup) * (0.5 * (1 + math.cos(math.pi * frac)) * 0.95 + 0.05)
        for g in opt.param_groups:
            g['lr'] = lr * g['lr_mult']
        # bf16 autocast: matmuls run on the CPU's AMX/AVX512-BF16 units (~20x fp32 here);
        # master weights, losses and the optimiser stay fp32.
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bool(args.bf16)):
            loss, rl, el_ = step_loss(model, batch, punct, args.ev_weight)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        tokens += sum(len(b[0]) + len(b[2]) + len(b[4]) for b in batch)
        ema = rl if ema is None else 0.98 * ema + 0.02 * rl
        if step % 100 == 0:
            rec = dict(step=step, min=round((time.time() - start) / 60, 1), rank=round(ema, 4), ev=round(el_, 4),
                       lr=lr, tok_s=round(tokens / (time.time() - start)))
            log.append(rec); print(json.dumps(rec), flush=True)
        if step % 2000 == 0:
            torch.save({'model': model.state_dict(), 'config': model.config}, os.path.join(args.out, 'checkpoint.pt'))
    # Ranking on the dev pool in bf16 (a 1000 x 2000 MaxSim matrix is ~1 TFLOP); evidence
    # statistics for calibration in fp32, as the exported model runs.
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bool(args.bf16)):
        mrr, _, _ = evaluate(model, dev, punct, with_evidence=False)
    _, sims, labs = evaluate(model, [b for b in dev if b[3] is not None][:600], punct, with_ranking=False)
    print(f'dev MRR@10 {mrr:.4f} after {step} steps', flush=True)
    cal = dict(scale=float(model.fgr_scale), bias=float(model.fgr_bias), threshold=0.5, token_f1=None)
    if sims is not None and len(sims) > 100:
        a, b, t, f1 = calibrate(sims, labs, model.fgr_scale.item(), model.fgr_bias.item())
        cal = dict(scale=a, bias=b, threshold=t, token_f1=f1, dev_tokens=int(len(sims)), dev_positive=float(labs.float().mean()))
        print('calibration', json.dumps(cal), flush=True)
    torch.save({'model': model.state_dict(), 'config': model.config}, os.path.join(args.out, 'checkpoint.pt'))
    summary = dict(args=vars(args), params=nparams, steps=step, train_pairs=len(train), dev_pairs=len(dev),
                   tokens=tokens, seconds=round(time.time() - start), dev_mrr10=mrr, calibration=cal, log=log)
    with open(os.path.join(args.out, 'train_log.json'), 'w') as f:
        json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
