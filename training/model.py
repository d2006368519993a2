"""FGR-ColBERT-small: a small BERT-style encoder with a ColBERT projection.

Token vectors are L2-normalised; MaxSim ranking. The FGR head is two scalars (scale, bias)
applied to each passage token's best cosine against the query tokens:
p_j = sigmoid(scale * max_i cos(q_i, d_j) + bias).
Written by hand (no nn.TransformerEncoder) so that torch.onnx.export produces a plain graph.
"""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, hidden, heads, ffn):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(hidden)
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)
        self.ln2 = nn.LayerNorm(hidden)
        self.ff1 = nn.Linear(hidden, ffn)
        self.ff2 = nn.Linear(ffn, hidden)

    def forward(self, x, bias):
        b, l, h = x.shape
        hd = h // self.heads
        y = self.ln1(x)
        q, k, v = self.qkv(y).chunk(3, dim=-1)
        q = q.reshape(b, l, self.heads, hd).transpose(1, 2)
        k = k.reshape(b, l, self.heads, hd).transpose(1, 2)
        v = v.reshape(b, l, self.heads, hd).transpose(1, 2)
        att = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(hd)) + bias
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, l, h)
        x = x + self.out(y)
        x = x + self.ff2(F.gelu(self.ff1(self.ln2(x))))
        return x


class Encoder(nn.Module):
    def __init__(self, vocab=30522, hidden=128, layers=3, heads=4, ffn=512, dim=128, max_len=256):
        super().__init__()
        self.config = dict(vocab=vocab, hidden=hidden, layers=layers, heads=heads, ffn=ffn, dim=dim, max_len=max_len)
        self.tok = nn.Embedding(vocab, hidden)
        self.pos = nn.Embedding(max_len, hidden)
        self.ln_in = nn.LayerNorm(hidden)
        self.blocks = nn.ModuleList([Block(hidden, heads, ffn) for _ in range(layers)])
        self.ln_out = nn.LayerNorm(hidden)
        self.proj = nn.Linear(hidden, dim, bias=False)
        # FGR calibration: p = sigmoid(scale * cos + bias)
        self.fgr_scale = nn.Parameter(torch.tensor(10.0))
        self.fgr_bias = nn.Parameter(torch.tensor(-6.0))
        nn.init.normal_(self.tok.weight, std=0.02)
        nn.init.normal_(self.pos.weight, std=0.02)

    def hidden(self, input_ids, attention_mask):
        """Last hidden states before the ColBERT projection (also what MLM pretraining predicts from)."""
        l = input_ids.shape[1]
        pos = torch.arange(l, device=input_ids.device).unsqueeze(0)
        x = self.ln_in(self.tok(input_ids) + self.pos(pos))
        bias = (1.0 - attention_mask.to(x.dtype))[:, None, None, :] * -10000.0
        for blk in self.blocks:
            x = blk(x, bias)
        return self.ln_out(x)

    def forward(self, input_ids, attention_mask):
        return F.normalize(self.proj(self.hidden(input_ids, attention_mask)), p=2.0, dim=-1)


def maxsim_matrix(q, qmask, d, dmask):
    """q [B,Lq,D], d [N,Ld,D] -> scores [B,N] = sum_i max_j q_i.d_j over valid tokens."""
    sim = torch.einsum('bqd,nld->bnql', q, d)
    sim = sim.masked_fill(~dmask[None, :, None, :], -1e4)
    best = sim.max(dim=-1).values  # [B,N,Lq]
    return (best * qmask[:, None, :].to(best.dtype)).sum(-1)
