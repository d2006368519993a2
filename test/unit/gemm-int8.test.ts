// The 8-bit nearest-centroid search (onnxruntime MatMulInteger + ArgMax) that assigns a large
// index's vectors: it must pick the float32 answer wherever that answer is not a near-tie, and
// the helpers around it must keep the float32 path for backends without it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OrtGemm, jsMatMulT, quantiseColumns } from '../../src/core/gemm';
import { nearestCentroids, nearestCentroidsFast } from '../../src/core/index/kmeans';
import { mulberry32 } from '../../src/core/bench/metrics';

function unitRows(r: () => number, n: number, dim: number): Float32Array {
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += (out[i * dim + d] = r() - 0.5) ** 2;
    for (let d = 0; d < dim; d++) out[i * dim + d] /= Math.sqrt(s);
  }
  return out;
}

describe('8-bit nearest centroids', () => {
  let gemm: OrtGemm;
  before(async () => {
    gemm = await OrtGemm.create();
  });
  after(async () => {
    await gemm.dispose();
  });

  it('quantiseColumns transposes and scales the largest magnitude to 127', () => {
    const q = quantiseColumns(Float32Array.of(0.5, -1, 0.25, 0), 2, 2);
    assert.deepEqual(Array.from(q.data), [64, 32, -127, 0]); // column d holds every row's coordinate d
  });

  it('agrees with float32 except on near-ties, and the float32 path serves a backend without int8', async () => {
    const dim = 64;
    const k = 300;
    const n = 2000;
    const r = mulberry32(11);
    const cents = unitRows(r, k, dim);
    // Points near a centroid (some close to two): the best match is usually clear.
    const pts = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(r() * k);
      let s = 0;
      for (let d = 0; d < dim; d++) s += (pts[i * dim + d] = cents[c * dim + d] + 0.15 * (r() - 0.5)) ** 2;
      for (let d = 0; d < dim; d++) pts[i * dim + d] /= Math.sqrt(s);
    }
    const exact = await nearestCentroids(pts, n, cents, k, dim, gemm);
    const fast = await nearestCentroidsFast(pts, n, cents, k, dim, gemm);
    const scores = await gemm.multiplyT(pts, n, cents, k, dim);
    let differ = 0;
    for (let i = 0; i < n; i++) {
      if (fast[i] === exact[i]) continue;
      differ++;
      const gap = scores[i * k + exact[i]] - scores[i * k + fast[i]];
      assert.ok(gap >= 0 && gap < 0.02, `point ${i}: 8-bit choice ${fast[i]} is ${gap} below the best ${exact[i]}`);
    }
    assert.ok(differ < n * 0.02, `${differ} of ${n} differ`);
    assert.deepEqual(await nearestCentroidsFast(pts, n, cents, k, dim, jsMatMulT), exact, 'no argmaxInt8T: float32');
  });
});
