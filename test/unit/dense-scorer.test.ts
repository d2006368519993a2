import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DenseScorer } from '../../src/core/search/dense-scorer';
import { maxSim } from '../../src/core/search/maxsim';
import { FloatTokenStoreBuilder } from '../../src/core/index/token-store';
import { mulberry32 } from '../../src/core/bench/metrics';

const rng = mulberry32;

function unitVectors(n: number, dim: number, r: () => number): Float32Array {
  const v = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      v[i * dim + d] = r() - 0.5;
      norm += v[i * dim + d] ** 2;
    }
    for (let d = 0; d < dim; d++) v[i * dim + d] /= Math.sqrt(norm);
  }
  return v;
}

describe('DenseScorer (onnxruntime GEMM)', () => {
  it('equals the JavaScript MaxSim over the same int8 store, for units of many sizes across GEMM blocks', async () => {
    const r = rng(7);
    const dim = 16;
    const sizes: number[] = [];
    let total = 0;
    // enough tokens for several 16k-token blocks, with a unit longer than a block
    while (total < 40000) {
      const n = sizes.length === 5 ? 17000 : 1 + Math.floor(r() * 300);
      sizes.push(n);
      total += n;
    }
    const b = new FloatTokenStoreBuilder(dim);
    const units: Array<{ tokenFirst: number; tokenCount: number }> = [];
    for (const n of sizes) {
      const first = b.add(unitVectors(n, dim, r), n);
      units.push({ tokenFirst: first, tokenCount: n });
    }
    const store = b.freeze();
    const rows = 32;
    const q = unitVectors(rows, dim, r);
    const scorer = await DenseScorer.create();
    try {
      const got = await scorer.scoreAll(q, rows, store, units);
      assert.equal(got.length, units.length);
      units.forEach((u, k) => {
        const want = maxSim(q, rows, store, u.tokenFirst, u.tokenCount);
        assert.ok(Math.abs(got[k] - want) < 1e-4, `unit ${k}: ${got[k]} vs ${want}`);
      });
    } finally {
      await scorer.dispose();
    }
  });

  it('scores an empty list and zero-token units without calling the model wrongly', async () => {
    const scorer = await DenseScorer.create();
    try {
      const store = new FloatTokenStoreBuilder(4).freeze();
      assert.equal((await scorer.scoreAll(new Float32Array(8), 2, store, [])).length, 0);
      const got = await scorer.scoreAll(new Float32Array(8), 2, store, [{ tokenFirst: 0, tokenCount: 0 }]);
      assert.deepEqual(Array.from(got), [0]);
    } finally {
      await scorer.dispose();
    }
  });
});
