"""Exports a trained checkpoint to ONNX (fp32), rewrites it to dynamic int8, writes model.json.

int8 rewrite (python3-onnx only; onnxruntime's quantiser is not available here):
  * MatMul(X, W) with a constant W [K, N] -> DynamicQuantizeLinear(X) -> MatMulInteger with an
    int8 W quantised per output column (symmetric) -> Cast -> Mul(x_scale * w_scale[N]).
  * the token-embedding Gather on a constant table -> Gather on an int8 table, times a per-row
    scale gathered with the same ids.
usage: export_onnx.py CHECKPOINT OUT_DIR --tokenizer tokenizer.json --train-log train_log.json
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto
import torch

sys.path.insert(0, os.path.dirname(__file__))
from model import Encoder  # noqa: E402


class Export(torch.nn.Module):
    def __init__(self, enc):
        super().__init__()
        self.enc = enc

    def forward(self, input_ids, attention_mask):
        return self.enc(input_ids, attention_mask)


def load_checkpoint(ckpt_path):
    """{'config', 'model'} from train.py's checkpoint.pt or train_fgr.py's .npz (then also 'summary')."""
    if ckpt_path.endswith('.npz'):
        from train_fgr import load_weights
        config, sd, summary = load_weights(ckpt_path)
        return {'config': config, 'model': sd, 'summary': summary}
    return torch.load(ckpt_path, map_location='cpu')


def export_fp32(ckpt_path, out_path):
    ck = load_checkpoint(ckpt_path)
    enc = Encoder(**ck['config'])
    enc.load_state_dict(ck['model'])
    enc.eval()
    ids = torch.tensor([[101, 2, 7592, 2088, 102, 0]], dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1, 1, 0]], dtype=torch.long)
    torch.onnx.export(Export(enc), (ids, mask), out_path, opset_version=17,
                      input_names=['input_ids', 'attention_mask'], output_names=['embeddings'],
                      dynamic_axes={'input_ids': {0: 'batch', 1: 'seq'}, 'attention_mask': {0: 'batch', 1: 'seq'},
                                    'embeddings': {0: 'batch', 1: 'seq'}},
                      do_constant_folding=True)
    return enc, ck


def quantize_int8(src, dst):
    m = onnx.load(src)
    g = m.graph
    inits = {i.name: i for i in g.initializer}
    new_nodes, drop_inits, add_inits = [], set(), []
    n = 0
    for node in g.node:
        if node.op_type == 'MatMul' and node.input[1] in inits and len(numpy_helper.to_array(inits[node.input[1]]).shape) == 2:
            w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
            scale = np.maximum(np.abs(w).max(axis=0), 1e-8) / 127.0  # per output column
            q = np.clip(np.round(w / scale), -127, 127).astype(np.int8)
            p = f'q{n}_'; n += 1
            add_inits += [numpy_helper.from_array(q, p + 'w'), numpy_helper.from_array(scale.astype(np.float32), p + 'ws'),
                          numpy_helper.from_array(np.zeros(q.shape[1], dtype=np.int8), p + 'wz')]
            drop_inits.add(node.input[1])
            x = node.input[0]
            new_nodes += [
                helper.make_node('DynamicQuantizeLinear', [x], [p + 'xq', p + 'xs', p + 'xz']),
                helper.make_node('MatMulInteger', [p + 'xq', p + 'w', p + 'xz', p + 'wz'], [p + 'acc']),
                helper.make_node('Cast', [p + 'acc'], [p + 'accf'], to=TensorProto.FLOAT),
                helper.make_node('Mul', [p + 'xs', p + 'ws'], [p + 'sc']),
                helper.make_node('Mul', [p + 'accf', p + 'sc'], [node.output[0]]),
            ]
        elif node.op_type == 'Gather' and node.input[0] in inits and numpy_helper.to_array(inits[node.input[0]]).shape[0] > 1000:
            t = numpy_helper.to_array(inits[node.input[0]]).astype(np.float32)
            scale = np.maximum(np.abs(t).max(axis=1, keepdims=True), 1e-8) / 127.0  # per row
            q = np.clip(np.round(t / scale), -127, 127).astype(np.int8)
            p = f'e{n}_'; n += 1
            add_inits += [numpy_helper.from_array(q, p + 't'), numpy_helper.from_array(scale.astype(np.float32), p + 's')]
            drop_inits.add(node.input[0])
            ids = node.input[1]
            new_nodes += [
                helper.make_node('Gather', [p + 't', ids], [p + 'g'], axis=0),
                helper.make_node('Cast', [p + 'g'], [p + 'gf'], to=TensorProto.FLOAT),
                helper.make_node('Gather', [p + 's', ids], [p + 'gs'], axis=0),
                helper.make_node('Mul', [p + 'gf', p + 'gs'], [node.output[0]]),
            ]
        else:
            new_nodes.append(node)
    keep = [i for i in g.initializer if i.name not in drop_inits]
    del g.initializer[:]
    g.initializer.extend(keep + add_inits)
    del g.node[:]
    g.node.extend(new_nodes)
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('checkpoint')
    ap.add_argument('out_dir')
    ap.add_argument('--tokenizer', required=True)
    ap.add_argument('--train-log', default='', help="train.py's train_log.json (a .npz checkpoint carries its own)")
    ap.add_argument('--name', default='es-colbert-small')
    ap.add_argument('--corpus-manifest', default='')
    ap.add_argument('--fp32', action='store_true', help='ship the fp32 graph instead of int8')
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    fp32 = os.path.join(args.out_dir, 'model.fp32.onnx')
    enc, ck = export_fp32(args.checkpoint, fp32)
    final = os.path.join(args.out_dir, 'model.onnx')
    if args.fp32:
        shutil.move(fp32, final)
    else:
        k = quantize_int8(fp32, final)
        print(f'int8: rewrote {k} MatMul/Gather nodes', file=sys.stderr)
    if os.path.abspath(args.tokenizer) != os.path.abspath(os.path.join(args.out_dir, 'tokenizer.json')):
        shutil.copy(args.tokenizer, os.path.join(args.out_dir, 'tokenizer.json'))
    log = json.load(open(args.train_log)) if args.train_log else ck['summary']
    cal = log['calibration']
    cfg = ck['config']
    manifest = {
        'format': 'evidence-search-model', 'formatVersion': 1, 'name': args.name,
        'files': {'onnx': 'model.onnx', 'tokenizer': 'tokenizer.json'},
        'dim': cfg['dim'], 'queryMaxLen': 32, 'docMaxLen': 180, 'contextMaxTokens': 40,
        'markers': {'cls': '[CLS]', 'sep': '[SEP]', 'query': '[unused0]', 'doc': '[unused1]', 'mask': '[MASK]', 'pad': '[PAD]'},
        'punctuation': 'drop',
        'onnx': {'inputIds': 'input_ids', 'attentionMask': 'attention_mask', 'output': 'embeddings'},
        'evidence': {'scale': cal['scale'], 'bias': cal['bias'], 'threshold': round(cal['threshold'], 4), 'queryTokens': 'real'},
        'provenance': {
            'architecture': f"BERT-style encoder, {cfg['layers']} layers, hidden {cfg['hidden']}, {cfg['heads']} heads, FFN {cfg['ffn']}, ColBERT projection to {cfg['dim']}",
            'parameters': log['params'], 'weights': 'int8 (dynamic quantisation)' if not args.fp32 else 'fp32',
            'trainedFrom': 'random initialisation; no pretrained weights',
            'trainingSeconds': log['seconds'], 'steps': log['steps'], 'trainPairs': log['train_pairs'],
            'devMrr10WeakPairs': round(log['dev_mrr10'], 4), 'calibration': cal,
            'recipe': 'training/train.sh (see training/README.md)',
            'trainedOn': log.get('gpu') or 'CPU',
            'pretraining': ({'task': 'masked language model', 'steps': log['mlm']['steps'], 'seconds': log['mlm'].get('seconds')}
                            if log.get('mlm', {}).get('steps') else None),
        },
    }
    with open(os.path.join(args.out_dir, 'model.json'), 'w') as f:
        json.dump(manifest, f, indent=1)
    if os.path.exists(fp32) and not args.fp32:
        os.remove(fp32) if os.environ.get('KEEP_FP32') != '1' else None
    print(json.dumps({k: os.path.getsize(os.path.join(args.out_dir, k)) for k in os.listdir(args.out_dir)}), file=sys.stderr)


if __name__ == '__main__':
    main()
