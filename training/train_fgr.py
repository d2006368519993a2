"""FGR-ColBERT-small training from the packed data of pack_data.py, on a GPU or on the CPU.

Two phases, each on a wall-clock budget:
  1. masked-language-model pretraining of the encoder on the corpus passages (RoBERTa-style:
     windows cut from the concatenated passages, 15% of ids chosen, 80/10/10 mask/random/keep),
     which gives the small encoder word knowledge the weak pairs alone do not teach;
  2. ColBERT ranking (cross-entropy over MaxSim scores against in-batch positives and the pairs'
     hard negatives) + weight * token-level BCE on the evidence labels,
     p_j = sigmoid(scale * max_i cos(q_i, d_j) + bias), i over the query's real tokens.
Then: MRR@10 on held-out pairs, a refit of (scale, bias) and the F1-best threshold on held-out
evidence tokens, and the weights written as .npz (fp16 or fp32) with the config, which
export_onnx.py turns into the shipped ONNX model.

The same script is the CPU recipe (train.sh) and the GPU run (a bigger budget, same code).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from model import Encoder, maxsim_matrix  # noqa: E402
from train import calibrate, fgr_optimizer  # noqa: E402  (the shipped recipe's trainer: one calibration, one optimiser)

Q_LEN, DOC_LEN = 32, 180
PAD, QMARK, DMARK, CLS, SEP, MASK = 0, 1, 2, 101, 102, 103
FIRST_WORDPIECE = 999  # ids below are [PAD], [unusedN], [UNK], [CLS], [SEP], [MASK]: never masked or sampled


def log(msg, **kw):
    print(json.dumps(dict(msg=msg, **kw)) if kw else msg, flush=True)


def ragged_to_padded(flat, off, width, pad=PAD):
    """Flat ragged arrays -> [n, width] int tensor (cut at width), and lengths."""
    n = len(off) - 1
    lens = np.minimum(np.diff(off), width)
    out = np.full((n, width), pad, dtype=np.int64)
    idx = np.arange(width)[None, :]
    take = idx < lens[:, None]
    src = (off[:-1, None] + idx)[take]
    out[take] = flat[src]
    return torch.from_numpy(out), torch.from_numpy(lens.astype(np.int64))


class MlmHead(nn.Module):
    """Transform + decoder tied to the token embeddings (only used in pretraining)."""
    def __init__(self, enc):
        super().__init__()
        h = enc.config['hidden']
        self.enc = enc
        self.dense = nn.Linear(h, h)
        self.ln = nn.LayerNorm(h)
        self.bias = nn.Parameter(torch.zeros(enc.config['vocab']))

    def forward(self, hidden):
        # LayerNorm in fp32: torch 1.13's CPU autocast leaves it to the caller to match dtypes
        return F.linear(self.ln(F.gelu(self.dense(hidden)).float()), self.enc.tok.weight, self.bias)


def lr_at(step, el, budget, base, warmup):
    frac = min(1.0, el / budget)
    return base * min(1.0, (step + 1) / warmup) * (0.5 * (1 + math.cos(math.pi * frac)) * 0.95 + 0.05)


def autocast(dev, enabled):
    return torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=enabled)


def pretrain_mlm(enc, mlm, mlm_off, dev, args, gen):
    if args.mlm_minutes <= 0:
        return dict(steps=0)
    head = MlmHead(enc).to(dev)
    params = list(enc.parameters()) + [p for n, p in head.named_parameters() if not n.startswith('enc.')]
    opt = torch.optim.AdamW([p for p in params if p.requires_grad], lr=args.mlm_lr, weight_decay=0.01)
    W = args.mlm_len
    stream = torch.from_numpy(mlm.astype(np.int64)).to(dev)
    nwin = (len(stream) - 1) // W
    budget, start, step, hist = args.mlm_minutes * 60, time.time(), 0, []
    ema = None
    while True:
        el = time.time() - start
        if el > budget:
            break
        for g in opt.param_groups:
            g['lr'] = lr_at(step, el, budget, args.mlm_lr, 200)
        w = torch.randint(0, nwin, (args.mlm_bs,), device=dev, generator=gen) * W
        ids = stream[w[:, None] + torch.arange(W, device=dev)[None, :]]
        ids[:, 0] = CLS
        can = ids >= FIRST_WORDPIECE
        chosen = (torch.rand(ids.shape, device=dev, generator=gen) < 0.15) & can
        r = torch.rand(ids.shape, device=dev, generator=gen)
        inp = ids.clone()
        inp[chosen & (r < 0.8)] = MASK
        rnd = chosen & (r >= 0.8) & (r < 0.9)
        inp[rnd] = torch.randint(FIRST_WORDPIECE, enc.config['vocab'], (int(rnd.sum()),), device=dev, generator=gen)
        with autocast(dev, args.bf16):
            h = enc.hidden(inp, torch.ones_like(inp))
            logits = head(h[chosen])
            loss = F.cross_entropy(logits.float(), ids[chosen])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        step += 1
        ema = loss.item() if ema is None else 0.98 * ema + 0.02 * loss.item()
        if step % args.log_every == 0:
            rec = dict(phase='mlm', step=step, min=round((time.time() - start) / 60, 2), loss=round(ema, 4))
            hist.append(rec); log('mlm', **rec)
    return dict(steps=step, seconds=round(time.time() - start), windows=step * args.mlm_bs, final_loss=ema, log=hist)


class PairData:
    def __init__(self, z, dev, idx):
        self.q, self.qlen = ragged_to_padded(z['q'], z['q_off'], Q_LEN - 2)
        self.pos, self.plen = ragged_to_padded(z['pos'], z['pos_off'], DOC_LEN)
        lab, _ = ragged_to_padded(z['pos_lab'].astype(np.int64), z['pos_off'], DOC_LEN, pad=-1)
        self.neg, self.nlen = ragged_to_padded(z['neg'], z['neg_off'], DOC_LEN)
        sel = torch.from_numpy(idx)
        self.q, self.qlen, self.pos, self.plen, self.neg, self.nlen = (t[sel].to(dev) for t in (self.q, self.qlen, self.pos, self.plen, self.neg, self.nlen))
        self.lab = lab[sel].to(torch.int8).to(dev)
        self.has_lab = (self.lab > 0).any(dim=1)
        self.n = len(idx)
        self.dev = dev

    def queries(self, b):
        """[CLS] [Q] ids [MASK]... padded to 32, and the mask of the real query tokens."""
        n = len(b)
        q = torch.full((n, Q_LEN), MASK, dtype=torch.long, device=self.dev)
        q[:, 0], q[:, 1] = CLS, QMARK
        body = self.q[b]
        ar = torch.arange(Q_LEN - 2, device=self.dev)[None, :]
        real = ar < self.qlen[b][:, None]
        q[:, 2:] = torch.where(real, body, torch.full_like(body, MASK))
        qreal = torch.zeros((n, Q_LEN), dtype=torch.bool, device=self.dev)
        qreal[:, 2:] = real
        return q, qreal

    def docs(self, b):
        L = int(torch.maximum(self.plen[b].max(), self.nlen[b].max()))
        d = torch.cat([self.pos[b, :L], self.neg[b, :L]], dim=0)
        lab = self.lab[b, :L].float()
        return d, lab


def rank_step(enc, data, b, punct, ev_weight, dev, bf16):
    q, qreal = data.queries(b)
    d, lab = data.docs(b)
    with autocast(dev, bf16):
        qv = enc(q, torch.ones_like(q))
        dv = enc(d, (d != PAD).long())
        B = q.shape[0]
        dmask = (d != PAD) & ~punct[d]
        scores = maxsim_matrix(qv, torch.ones(q.shape, dtype=torch.bool, device=dev), dv, dmask)
        rank_loss = F.cross_entropy(scores.float(), torch.arange(B, device=dev))
        sim = torch.einsum('bqd,bld->bql', qv, dv[:B]).float()
        sim = sim.masked_fill(~qreal[:, :, None], -1e4).max(dim=1).values
    valid = (lab >= 0) & dmask[:B]
    logits = enc.fgr_scale * sim + enc.fgr_bias
    ev_loss = F.binary_cross_entropy_with_logits(logits[valid], lab[valid]) if bool(valid.any()) else torch.zeros((), device=dev)
    return rank_loss + ev_weight * ev_loss, rank_loss.detach(), ev_loss.detach()


def train_ranking(enc, data, punct, dev, args, gen):
    opt = fgr_optimizer(enc, args.lr)
    budget, start, step, hist, seen = args.rank_minutes * 60, time.time(), 0, [], 0
    ema_r = ema_e = None
    def epoch_batches():
        # Length-bucketed batches (chunks of 50 batches sorted by positive length, then shuffled):
        # on a CPU padding is paid in full, and random batches were about half padding.
        perm = torch.randperm(data.n, device=dev, generator=gen)
        if not args.bucket:
            return [perm[i:i + args.bs] for i in range(0, data.n - args.bs + 1, args.bs)]
        out, chunk = [], args.bs * 50
        for c in range(0, data.n, chunk):
            part = perm[c:c + chunk]
            part = part[torch.argsort(data.plen[part])]
            out += [part[i:i + args.bs] for i in range(0, len(part) - args.bs + 1, args.bs)]
        order = torch.randperm(len(out), generator=gen, device=dev).tolist()
        return [out[i] for i in order]
    batches, at = epoch_batches(), 0
    while True:
        el = time.time() - start
        if el > budget:
            break
        if at >= len(batches):
            batches, at = epoch_batches(), 0
        b = batches[at]; at += 1
        lr = lr_at(step, el, budget, args.lr, 300)
        for g in opt.param_groups:
            g['lr'] = lr * g['lr_mult']
        loss, rl, evl = rank_step(enc, data, b, punct, args.ev_weight, dev, args.bf16)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(enc.parameters(), 1.0)
        opt.step()
        step += 1; seen += args.bs
        if step % args.log_every == 0:
            rl, evl = rl.item(), evl.item()
            ema_r = rl if ema_r is None else 0.9 * ema_r + 0.1 * rl
            ema_e = evl if ema_e is None else 0.9 * ema_e + 0.1 * evl
            rec = dict(phase='rank', step=step, min=round((time.time() - start) / 60, 2), rank=round(ema_r, 4), ev=round(ema_e, 4),
                       epochs=round(seen / data.n, 2), scale=round(enc.fgr_scale.item(), 3), bias=round(enc.fgr_bias.item(), 3))
            hist.append(rec); log('rank', **rec)
    return dict(steps=step, seconds=round(time.time() - start), pairs_seen=seen, epochs=round(seen / data.n, 2), log=hist)


@torch.no_grad()
def evaluate(enc, data, punct, dev, bf16, bs=128):
    """MRR@10 of each held-out query's positive among all held-out positives and negatives;
    best cosine and label of each evidence-labelled token, for calibration."""
    enc.eval()
    dvecs, dmasks = [], []
    for s in range(0, data.n, bs):
        b = torch.arange(s, min(s + bs, data.n), device=dev)
        d, _ = data.docs(b)
        with autocast(dev, bf16):
            dvecs.append(enc(d, (d != PAD).long()).float())
        dmasks.append((d != PAD) & ~punct[d])
    # pos block i and neg block i have the same width; pad all to one width for one matrix
    L = max(v.shape[1] for v in dvecs)
    pos = torch.cat([F.pad(v[:v.shape[0] // 2], (0, 0, 0, L - v.shape[1])) for v in dvecs])
    neg = torch.cat([F.pad(v[v.shape[0] // 2:], (0, 0, 0, L - v.shape[1])) for v in dvecs])
    pm = torch.cat([F.pad(m[:m.shape[0] // 2], (0, L - m.shape[1])) for m in dmasks])
    nm = torch.cat([F.pad(m[m.shape[0] // 2:], (0, L - m.shape[1])) for m in dmasks])
    allv, allm = torch.cat([pos, neg]), torch.cat([pm, nm])
    rr, sims, labs = [], [], []
    for s in range(0, data.n, bs):
        b = torch.arange(s, min(s + bs, data.n), device=dev)
        q, qreal = data.queries(b)
        with autocast(dev, bf16):
            qv = enc(q, torch.ones_like(q)).float()
        scores = torch.cat([maxsim_matrix(qv, torch.ones(q.shape, dtype=torch.bool, device=dev), allv[c:c + 512], allm[c:c + 512])
                            for c in range(0, len(allv), 512)], dim=1)
        gold = scores[torch.arange(len(b), device=dev), b]
        rank = (scores > gold[:, None]).sum(1) + 1
        rr += [1.0 / r if r <= 10 else 0.0 for r in rank.tolist()]
        # evidence: the positive encoded alone (as at run time), fp32
        for i, j in enumerate(b.tolist()):
            if not bool(data.has_lab[j]):
                continue
            n = int(data.plen[j])
            d = data.pos[j:j + 1, :n]
            dv = enc(d, torch.ones_like(d))[0]
            sim = (qv[i][qreal[i]] @ dv.T).max(dim=0).values
            lab = data.lab[j, :n]
            keep = (lab >= 0) & ~punct[d[0]]
            sims.append(sim[keep].cpu()); labs.append(lab[keep].cpu())
    enc.train()
    return float(np.mean(rr)), (torch.cat(sims) if sims else None), (torch.cat(labs) if labs else None)


def save_weights(enc, path, dtype, summary):
    """Weights as .npz: the token embedding table as int8 with a scale per row (the exported model
    quantises it exactly so, and it keeps a width-256 model's file under 16 MB), the rest in
    `dtype`; the config and the training summary as JSON strings inside."""
    sd = {k: v.detach().float().cpu().numpy() for k, v in enc.state_dict().items()}
    tok = sd.pop('tok.weight')
    scale = np.maximum(np.abs(tok).max(axis=1, keepdims=True), 1e-8) / 127.0
    out = {k: v.astype(dtype) for k, v in sd.items()}
    out['tok.weight.int8'] = np.clip(np.round(tok / scale), -127, 127).astype(np.int8)
    out['tok.weight.scale'] = scale.astype(np.float32)
    np.savez(path, __config__=np.array(json.dumps(enc.config)), __summary__=np.array(json.dumps(summary)), **out)


def load_weights(path):
    """(config, state_dict of float32 tensors, summary) from save_weights' .npz."""
    z = np.load(path)
    sd = {k: torch.from_numpy(z[k].astype(np.float32)) for k in z.files if not k.startswith('__') and not k.startswith('tok.weight.')}
    sd['tok.weight'] = torch.from_numpy(z['tok.weight.int8'].astype(np.float32) * z['tok.weight.scale'])
    return json.loads(str(z['__config__'])), sd, json.loads(str(z['__summary__']))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', required=True)
    ap.add_argument('--punct', required=True, help='JSON list of punctuation token ids (dropped from the index)')
    ap.add_argument('--out', required=True)
    ap.add_argument('--tag', default='model')
    ap.add_argument('--device', default='auto')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--layers', type=int, default=4)
    ap.add_argument('--hidden', type=int, default=128)
    ap.add_argument('--heads', type=int, default=0)
    ap.add_argument('--dim', type=int, default=128)
    ap.add_argument('--mlm-minutes', type=float, default=0)
    ap.add_argument('--mlm-bs', type=int, default=128)
    ap.add_argument('--mlm-len', type=int, default=128)
    ap.add_argument('--mlm-lr', type=float, default=1e-3)
    ap.add_argument('--rank-minutes', type=float, default=60)
    ap.add_argument('--bs', type=int, default=32)
    ap.add_argument('--lr', type=float, default=5e-4)
    ap.add_argument('--ev-weight', type=float, default=0.5)
    ap.add_argument('--dev', type=int, default=2000)
    ap.add_argument('--seed', type=int, default=13)
    ap.add_argument('--bf16', type=int, default=1)
    ap.add_argument('--log-every', type=int, default=100)
    ap.add_argument('--save-dtype', default='float16')
    ap.add_argument('--bucket', type=int, default=-1, help='length-bucketed batches (default: on a CPU only)')
    ap.add_argument('--exclude-types', default='', help='comma-separated pair types left out of training: heading, summary, symbol, ict, inplace')
    args = ap.parse_args()
    args.bf16 = bool(args.bf16)

    dev = torch.device('cuda' if args.device == 'auto' and torch.cuda.is_available() else ('cpu' if args.device == 'auto' else args.device))
    torch.manual_seed(args.seed); np.random.seed(args.seed)
    torch.set_num_threads(args.threads)
    if dev.type == 'cuda':
        torch.backends.cuda.matmul.allow_tf32 = True
    gen = torch.Generator(device=dev); gen.manual_seed(args.seed)
    if args.bucket < 0:
        args.bucket = int(dev.type == 'cpu')
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    z = dict(np.load(args.data))
    punct = torch.zeros(30522, dtype=torch.bool, device=dev)
    punct[torch.tensor(json.load(open(args.punct)), device=dev)] = True
    n_pairs = len(z['q_off']) - 1
    first_set = int(z['set_sizes'][0]) if 'set_sizes' in z else n_pairs
    # Held-out pairs: a fixed random subset of the first pair set (seeded, independent of the
    # device). Other pair sets are other draws over the same passages, so a held-out passage can
    # appear in training under another query: the dev MRR is a training monitor, not a test.
    order = np.random.RandomState(args.seed).permutation(first_set)
    dev_idx = np.sort(order[:args.dev])
    train_idx = np.setdiff1d(np.arange(n_pairs), dev_idx)
    if args.exclude_types:
        # type codes from pack_data.py: 0 heading, 1 summary, 2 symbol, 3 ict; +8 evidence composite, +16 in place
        names = ['heading', 'summary', 'symbol', 'ict']
        code = z['types'][train_idx].astype(np.int64)
        base = np.array([names[c & 7] for c in code])
        drop = np.zeros(len(code), dtype=bool)
        for t in args.exclude_types.split(','):
            drop |= (base == t) if t in names else ((code & 16) > 0 if t == 'inplace' else False)
        train_idx = train_idx[~drop]
        log('excluded pair types', types=args.exclude_types, dropped=int(drop.sum()), kept=int(len(train_idx)))
    train = PairData(z, dev, train_idx)
    held = PairData(z, dev, dev_idx)
    log('loaded', pairs=n_pairs, train=train.n, dev=held.n, mlm_ids=int(len(z['mlm'])), seconds=round(time.time() - t0, 1), device=str(dev),
        torch=torch.__version__)

    heads = args.heads or max(2, args.hidden // 32)
    enc = Encoder(vocab=30522, hidden=args.hidden, layers=args.layers, heads=heads, ffn=4 * args.hidden, dim=args.dim, max_len=256).to(dev)
    nparams = sum(p.numel() for p in enc.parameters())
    log('model', params=nparams, hidden=args.hidden, layers=args.layers, heads=heads)
    mlm_info = pretrain_mlm(enc, z['mlm'], z['mlm_off'], dev, args, gen)
    rank_info = train_ranking(enc, train, punct, dev, args, gen)
    # Saved before the evaluation too, so that a run stopped by a time limit still leaves its weights.
    save_weights(enc, os.path.join(args.out, f'{args.tag}.npz'), args.save_dtype,
                 dict(args=vars(args), params=nparams, mlm=mlm_info, rank=rank_info, steps=rank_info['steps'], train_pairs=train.n,
                      seconds=round(time.time() - t0), dev_mrr10=None, calibration=None, unevaluated=True))
    mrr, sims, labs = evaluate(enc, held, punct, dev, args.bf16)
    log('dev', mrr10=round(mrr, 4))
    cal = dict(scale=float(enc.fgr_scale), bias=float(enc.fgr_bias), threshold=0.5, token_f1=None)
    if sims is not None and len(sims) > 100:
        a, b, t, f1 = calibrate(sims, labs, enc.fgr_scale.item(), enc.fgr_bias.item())
        cal = dict(scale=a, bias=b, threshold=t, token_f1=f1, dev_tokens=int(len(sims)), dev_positive=float(labs.float().mean()))
        log('calibration', **cal)
    summary = dict(args=vars(args), device=str(dev), gpu=torch.cuda.get_device_name(0) if dev.type == 'cuda' else None, torch=torch.__version__,
                   params=nparams, mlm=mlm_info, rank=rank_info, steps=rank_info['steps'], train_pairs=train.n, dev_pairs=held.n,
                   seconds=round(time.time() - t0), dev_mrr10=mrr, calibration=cal)
    save_weights(enc, os.path.join(args.out, f'{args.tag}.npz'), args.save_dtype, summary)
    with open(os.path.join(args.out, f'{args.tag}.log.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    log('done', seconds=round(time.time() - t0))


if __name__ == '__main__':
    main()
