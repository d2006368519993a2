// The 8-bit nearest-centroid search (onnxruntime MatMulInteger + ArgMax) that assigns a large
// index's vectors: it must pick the float32 answer wherever that answer is not a near-tie, and
// the helpers around it must keep the float32 path for backends without it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OrtGemm, jsMatMulT, quantiseColumns } from '../../src/core/gemm';
import { nearestCentroids, nearestCentroidsFast, sphericalKMeans } from '../../src/core/index/kmeans';
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

/** `n` unit rows, each a random one of the k `centres` plus uniform noise of width `noise` a coordinate, renormalised. */
function pointsNear(r: () => number, centres: Float32Array, k: number, n: number, dim: number, noise: number): Float32Array {
  const pts = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * k);
    let s = 0;
    for (let d = 0; d < dim; d++) s += (pts[i * dim + d] = centres[c * dim + d] + noise * (r() - 0.5)) ** 2;
    for (let d = 0; d < dim; d++) pts[i * dim + d] /= Math.sqrt(s);
  }
  return pts;
}

describe('8-bit nearest centroids', () => {
  let gemm: OrtGemm;
  before(async () => {
    gemm = await OrtGemm.create();
  });
  after(async () => {
    await gemm.dispose();
  });

  it('calls at once give the answers of calls one at a time (the quantised rows are kept from call to call)', async () => {
    const r = mulberry32(11);
    const dim = 32;
    const cols = quantiseColumns(unitRows(r, 64, dim), 64, dim);
    const batches = [300, 5, 120, 300].map((m) => ({ m, rows: unitRows(r, m, dim) }));
    const oneByOne: Int32Array[] = [];
    for (const b of batches) oneByOne.push(await gemm.argmaxInt8T(b.rows, b.m, cols));
    const atOnce = await Promise.all(batches.map((b) => gemm.argmaxInt8T(b.rows, b.m, cols)));
    assert.deepEqual(atOnce, oneByOne);
  });

  it('multiplyT writes into a given array and returns a view of it, for onnxruntime and plain JavaScript alike', async () => {
    const r = mulberry32(12);
    const a = unitRows(r, 5, 16);
    const b = unitRows(r, 3, 16);
    const plain = await gemm.multiplyT(a, 5, b, 3, 16);
    for (const mm of [gemm, jsMatMulT]) {
      const into = new Float32Array(20).fill(-9);
      const got = await mm.multiplyT(a, 5, b, 3, 16, into);
      assert.equal(got.buffer, into.buffer);
      assert.equal(got.length, 15);
      for (let i = 0; i < 15; i++) assert.ok(Math.abs(got[i] - plain[i]) < 1e-6);
      assert.equal(into[15], -9, 'nothing past the product');
      await assert.rejects(mm.multiplyT(a, 5, b, 3, 16, new Float32Array(14)), /output array of 14/);
    }
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
    const pts = pointsNear(r, cents, k, n, dim, 0.15);
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

  it('k-means by 8-bit products fits as well as in float32, the centroids quantised afresh each iteration', async () => {
    const dim = 32;
    const clusters = 40;
    const n = 4000;
    const r = mulberry32(12);
    const centres = unitRows(r, clusters, dim);
    const pts = pointsNear(r, centres, clusters, n, dim, 0.3);
    // The mean of each point's best dot product with the centroids: what k-means raises.
    const fit = async (cents: Float32Array): Promise<number> => {
      const ids = await nearestCentroids(pts, n, cents, clusters, dim, jsMatMulT);
      let s = 0;
      for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) s += pts[i * dim + d] * cents[ids[i] * dim + d];
      return s / n;
    };
    const o = { k: clusters, seed: 3 };
    const float32 = await fit(await sphericalKMeans(pts, n, dim, { ...o, iterations: 12, matmul: jsMatMulT }));
    const int8 = await fit(await sphericalKMeans(pts, n, dim, { ...o, iterations: 12, matmul: gemm }));
    const once = await fit(await sphericalKMeans(pts, n, dim, { ...o, iterations: 1, matmul: jsMatMulT }));
    // (the test can tell: iterations matter here, so centroids stuck at a stale quantisation would show)
    assert.ok(float32 - once > 0.01, `12 iterations ${float32} against 1: ${once}`);
    assert.ok(Math.abs(int8 - float32) < 0.002, `8-bit ${int8} against float32 ${float32}`);
  });
});
