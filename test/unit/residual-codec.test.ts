// The residual codec and its k-means: deterministic training, and decoded vectors that stay
// within the bounds their buckets allow, and code widths that pack into the residual bytes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsMatMulT } from '../../src/core/gemm';
import { nearestCentroids, sphericalKMeans } from '../../src/core/index/kmeans';
import { centroidCountFor, centroidCountForSample, codeLayout, fittedPoints, MIN_POINTS_PER_CENTROID, decodeVectors, MAX_BUCKETS, MAX_CODE_BITS, encodeResiduals, layoutOf, normCode, normValue, residualBytes, rotateRows, trainCodec } from '../../src/core/index/residual-codec';
import { symmetricEigen } from '../../src/core/index/pca';
import { CompressedStoreBuilder, CompressedTokenStore } from '../../src/core/index/compressed-store';
import { IndexingKernel } from '../../src/core/index/indexing-kernel';
import { mulberry32 } from '../../src/core/bench/metrics';
import { dot, gauss } from '../random-vectors';

/** n unit vectors scattered around `clusters` random directions (like token vectors: clustered, not uniform). */
function clusteredRows(seed: number, n: number, dim: number, clusters: number, spread = 0.3): Float32Array {
  const r = mulberry32(seed);
  const centres = Array.from({ length: clusters }, () => Array.from({ length: dim }, () => gauss(r)));
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(r() * clusters)];
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      const cn = Math.hypot(...c);
      out[i * dim + d] = c[d] / cn + (spread * gauss(r)) / Math.sqrt(dim);
      norm += out[i * dim + d] ** 2;
    }
    for (let d = 0; d < dim; d++) out[i * dim + d] /= Math.sqrt(norm);
  }
  return out;
}

describe('sphericalKMeans', () => {
  it('is deterministic: same seed and points give bit-identical centroids; another seed differs', async () => {
    const dim = 16;
    const pts = clusteredRows(1, 600, dim, 12);
    const a = await sphericalKMeans(pts, 600, dim, { k: 16, iterations: 5, seed: 3, matmul: jsMatMulT });
    const b = await sphericalKMeans(pts, 600, dim, { k: 16, iterations: 5, seed: 3, matmul: jsMatMulT });
    const c = await sphericalKMeans(pts, 600, dim, { k: 16, iterations: 5, seed: 4, matmul: jsMatMulT });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    for (let k = 0; k < 16; k++) assert.ok(Math.abs(dot(a, k * dim, a, k * dim, dim) - 1) < 1e-5, 'unit-norm centroids');
  });

  it('clamps k to the number of points and finds planted clusters', async () => {
    const dim = 8;
    const pts = clusteredRows(2, 5, dim, 5, 0);
    const c = await sphericalKMeans(pts, 5, dim, { k: 64, iterations: 3, seed: 1, matmul: jsMatMulT });
    assert.equal(c.length, 5 * dim);
    // Tight clusters: every point ends up within a tiny angle of its centroid.
    const many = clusteredRows(3, 400, dim, 4, 0.01);
    const cents = await sphericalKMeans(many, 400, dim, { k: 4, iterations: 10, seed: 1, matmul: jsMatMulT });
    const ids = await nearestCentroids(many, 400, cents, 4, dim, jsMatMulT);
    for (let i = 0; i < 400; i++) assert.ok(dot(many, i * dim, cents, ids[i] * dim, dim) > 0.99, `point ${i}`);
  });

  it('nearestCentroids returns the largest dot product, lowest id on ties, across blocks', async () => {
    const dim = 4;
    const cents = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0]);
    const pts = new Float32Array([0.9, 0.1, 0, 0, 0.1, 0.9, 0, 0, 0.5, 0.5, 0, 0]);
    assert.deepEqual(Array.from(await nearestCentroids(pts, 3, cents, 3, dim, jsMatMulT)), [0, 1, 0]);
  });
});

describe('residual codec', () => {
  it('centroid count is the power of two at or below 32·√tokens, within [64, 65536]', () => {
    assert.equal(centroidCountFor(0), 64);
    assert.equal(centroidCountFor(10), 64);
    assert.equal(centroidCountFor(100), 256);
    assert.equal(centroidCountFor(170392), 8192);
    assert.equal(centroidCountFor(1e6), 16384);
    assert.equal(centroidCountFor(1e12), 65536);
  });

  it('a sample caps the centroids at one per MIN_POINTS_PER_CENTROID fitted vectors (a power of two, at least 64)', () => {
    // The 1k speed workspace: 57k vectors ask for 4096, a sample of 14.3k (11.4k fitted) allows 2048.
    assert.equal(fittedPoints(14_300), 11_440);
    assert.equal(centroidCountForSample(57_078, fittedPoints(14_300)), 2048);
    // A sample big enough leaves the index's own count.
    assert.equal(centroidCountForSample(57_078, 4096 * MIN_POINTS_PER_CENTROID), 4096);
    assert.equal(centroidCountForSample(57_078, 4096 * MIN_POINTS_PER_CENTROID - 1), 2048);
    assert.equal(centroidCountForSample(100, 3), 64);
    // 0 points a centroid: the index's count alone.
    assert.equal(centroidCountForSample(57_078, 10, 0), 4096);
  });

  it('a vector takes 40 bytes at dim 128 (2 centroid id + 1 residual length + 37 residual codes; spans are recomputed from the text)', () => {
    assert.equal(residualBytes(128), 37);
    assert.equal(residualBytes(5), 7);
    assert.equal(CompressedTokenStore.bytesPerVector(128), 40);
  });

  for (const dim of [8, 13, 128]) {
    it(`round trip at dim ${dim}: codes land in their buckets, decode within them, and dot products stay close`, async () => {
      const n = 3000;
      const pts = clusteredRows(10 + dim, n, dim, 40);
      const codec = await trainCodec(pts.subarray(0, 1500 * dim), 1500, dim, { k: 32, iterations: 6, seed: 5, matmul: jsMatMulT, trainedOnTokens: 1500 });
      assert.equal(codec.k, 32);
      assert.ok(codec.normalize, 'unit-norm training vectors → decoded vectors are renormalised');
      // The rotation is orthonormal; the coded axes use exactly the residual bytes.
      for (let a = 0; a < dim; a++) {
        for (let b = 0; b < dim; b++) assert.ok(Math.abs(dot(codec.rotation, a * dim, codec.rotation, b * dim, dim) - (a === b ? 1 : 0)) < 1e-4);
      }
      assert.ok(codeLayout(codec.bits, residualBytes(dim)), 'the code widths pack into the residual bytes');
      assert.ok(codec.bits.every((b) => b <= MAX_CODE_BITS) && new Set(codec.bits).size >= 2, `widths ${codec.bits.join(',')}`);
      const rotated = rotateRows(codec.rotation, pts, n, dim);
      const ids = await nearestCentroids(rotated, n, codec.centroids, codec.k, dim, jsMatMulT);
      const res = new Uint8Array(n * residualBytes(dim));
      const norms = new Uint8Array(n);
      encodeResiduals(codec, rotated, n, ids, res, norms);
      // The store's WebAssembly coder (through lookup grids) gives the same bytes, in two batches at an offset.
      const kernel = new IndexingKernel(codec);
      const kres = new Uint8Array((n + 5) * residualBytes(dim));
      const knorms = new Uint8Array(n + 5);
      for (const [a, b] of [[0, 1000], [1000, n]]) {
        kernel.loadRows(rotated.subarray(a * dim, b * dim), b - a);
        kernel.encode(ids.subarray(a, b), kres, knorms, 5 + a);
      }
      assert.deepEqual(knorms.subarray(5), norms, 'length bytes');
      assert.deepEqual(kres.subarray(5 * residualBytes(dim)), res, 'code bytes');
      // Without renormalisation, decoded = centroid + stored length × bucket value: check bucket by bucket.
      const raw = { ...codec, normalize: false };
      const dec = new Float32Array(n * dim);
      decodeVectors(raw, ids, norms, res, 0, n, dec);
      for (let i = 0; i < n; i++) {
        let len = 0;
        for (let d = 0; d < dim; d++) len += (rotated[i * dim + d] - codec.centroids[ids[i] * dim + d]) ** 2;
        len = Math.sqrt(len);
        // The stored length is the nearest of the 128 log-scale levels (within the trained range).
        const clamped = Math.min(codec.normMax, Math.max(codec.normMin, len));
        const stored = normValue(codec, norms[i]);
        assert.equal(norms[i], normCode(codec, len));
        assert.ok(norms[i] < 0x80, 'the word-start bit is the store\'s to set');
        assert.ok(Math.abs(Math.log(stored / clamped)) <= Math.log(codec.normMax / codec.normMin) / 254 + 1e-5, `vector ${i}: length ${len} stored as ${stored}`);
        assert.equal(normValue(codec, norms[i] | 0x80), stored, 'the word-start bit does not change the length');
      }
      const layout = layoutOf(codec);
      for (let d = 0; d < dim; d++) {
        const buckets = 1 << codec.bits[d];
        const w = codec.weights.subarray(MAX_BUCKETS * d, MAX_BUCKETS * d + buckets);
        if (buckets === 1) {
          for (let i = 0; i < n; i++) assert.ok(Math.abs(dec[i * dim + d] - codec.centroids[ids[i] * dim + d] - normValue(codec, norms[i]) * w[0]) < 1e-5);
          continue;
        }
        const cut = codec.cutoffs.subarray((MAX_BUCKETS - 1) * d, (MAX_BUCKETS - 1) * d + buckets - 1);
        for (let b = 0; b + 1 < cut.length; b++) assert.ok(cut[b] <= cut[b + 1], 'cutoffs ascend');
        for (let b = 0; b < buckets; b++) {
          if (b > 0) assert.ok(w[b] >= cut[b - 1] - 1e-6, `weight ${b} of coordinate ${d} is inside its bucket`);
          if (b < buckets - 1) assert.ok(w[b] <= cut[b] + 1e-6, `weight ${b} of coordinate ${d} is inside its bucket`);
        }
        for (let i = 0; i < n; i++) {
          const len = normValue(codec, norms[i]);
          const u = (rotated[i * dim + d] - codec.centroids[ids[i] * dim + d]) / len;
          const e = (dec[i * dim + d] - rotated[i * dim + d]) / len;
          // Inner buckets bound the (scaled) error by their width; the outer ones by the distance to the cutoff plus theirs.
          let b = 0;
          while (b < buckets - 1 && u >= cut[b]) b++;
          // The stored code is exactly that bucket.
          const stored = (res[i * residualBytes(dim) + layout.byte[d]] >> layout.shift[d]) & (buckets - 1);
          assert.equal(stored, b, `vector ${i} coordinate ${d}: code ${stored}, bucket ${b} (u = ${u})`);
          const lo = b === 0 ? Math.min(u, w[0]) : cut[b - 1];
          const hi = b === buckets - 1 ? Math.max(u, w[b]) : cut[b];
          assert.ok(Math.abs(e) <= hi - lo + 1e-5, `vector ${i} coordinate ${d}: scaled error ${e} outside bucket [${lo}, ${hi}]`);
        }
      }
      // Renormalised decode: unit rows, and dot products with rotated query rows close to the exact ones.
      decodeVectors(codec, ids, norms, res, 0, n, dec);
      const q = clusteredRows(99, 20, dim, 40);
      const qr = rotateRows(codec.rotation, q, 20, dim);
      let sumErr = 0;
      let maxErr = 0;
      for (let i = 0; i < n; i++) {
        assert.ok(Math.abs(dot(dec, i * dim, dec, i * dim, dim) - 1) < 1e-4);
        for (let k = 0; k < 20; k++) {
          const err = Math.abs(dot(qr, k * dim, dec, i * dim, dim) - dot(q, k * dim, pts, i * dim, dim));
          sumErr += err;
          maxErr = Math.max(maxErr, err);
        }
      }
      // A unit query and unit vectors: |q·(v̂ − v)| ≤ ‖v̂ − v‖ ≤ 2; these clustered vectors do far better.
      assert.ok(sumErr / (n * 20) < 0.05, `mean |Δ dot| ${sumErr / (n * 20)}`);
      assert.ok(maxErr < 0.5, `max |Δ dot| ${maxErr}`);
    });
  }

  it('residuals confined to a few directions: those axes get the wide codes and nothing is lost elsewhere', async () => {
    // Vectors = one of 8 centres + noise in a 6-dimensional subspace of 32 dimensions.
    const dim = 32;
    const r = mulberry32(5);
    const centres = clusteredRows(6, 8, dim, 8, 0);
    const n = 2000;
    const pts = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const c = Math.floor(r() * 8);
      for (let d = 0; d < dim; d++) pts[i * dim + d] = centres[c * dim + d] + (d < 6 ? 0.2 * gauss(r) : 0);
    }
    const codec = await trainCodec(pts, n, dim, { k: 8, iterations: 5, seed: 1, matmul: jsMatMulT, trainedOnTokens: n });
    assert.ok(codec.bits.subarray(0, 6).every((b) => b >= 4), `the 6 strong axes get wide codes (widths ${codec.bits.join(',')})`);
    assert.ok(codec.bits.subarray(dim - 16).every((b) => b === 0), `no bits are spent on the weakest axes (widths ${codec.bits.join(',')})`);
    const rotated = rotateRows(codec.rotation, pts, n, dim);
    const ids = await nearestCentroids(rotated, n, codec.centroids, codec.k, dim, jsMatMulT);
    const res = new Uint8Array(n * residualBytes(dim));
    const norms = new Uint8Array(n);
    encodeResiduals(codec, rotated, n, ids, res, norms);
    const dec = new Float32Array(n * dim);
    decodeVectors(codec, ids, norms, res, 0, n, dec);
    let err = 0;
    for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) err += (dec[i * dim + d] - rotated[i * dim + d]) ** 2;
    assert.ok(Math.sqrt(err / n) < 0.05, `rms reconstruction error ${Math.sqrt(err / n)}`);
  });

  it('symmetricEigen: values descending, orthonormal vectors, A·v = λ·v', () => {
    const n = 6;
    const r = mulberry32(3);
    const b = Float64Array.from({ length: n * n }, () => r() - 0.5);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += b[i * n + k] * b[j * n + k];
    const { values, vectors } = symmetricEigen(a, n);
    for (let i = 1; i < n; i++) assert.ok(values[i - 1] >= values[i]);
    for (let e = 0; e < n; e++) {
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let k = 0; k < n; k++) av += a[i * n + k] * vectors[e * n + k];
        assert.ok(Math.abs(av - values[e] * vectors[e * n + i]) < 1e-9);
      }
      for (let f = 0; f < n; f++) {
        let d = 0;
        for (let k = 0; k < n; k++) d += vectors[e * n + k] * vectors[f * n + k];
        assert.ok(Math.abs(d - (e === f ? 1 : 0)) < 1e-9);
      }
    }
  });

  it('the store builder compresses and copies bit for bit with addFrom', async () => {
    const dim = 8;
    const pts = clusteredRows(7, 200, dim, 10);
    const codec = await trainCodec(pts, 200, dim, { k: 16, iterations: 4, seed: 1, matmul: jsMatMulT, trainedOnTokens: 200 });
    const b = new CompressedStoreBuilder(codec, 1);
    const wordStarts = Uint8Array.from({ length: 200 }, (_, j) => (j % 3 === 0 ? 1 : 0));
    assert.equal(await b.addFloat(pts, 200, jsMatMulT, undefined, wordStarts), 0);
    const a = b.freeze();
    assert.equal(a.count, 200);
    // The word-start flags are the length bytes' top bit, and change nothing decoded.
    assert.deepEqual(Array.from({ length: 200 }, (_, j) => a.startsWord(j)), Array.from(wordStarts, (f) => f === 1));
    const unflagged = new CompressedStoreBuilder(codec, 1);
    await unflagged.addFloat(pts, 200, jsMatMulT);
    const u = unflagged.freeze();
    assert.deepEqual(u.norms, a.norms.map((x) => x & 0x7f));
    assert.ok(!Array.from({ length: 200 }, (_, j) => u.startsWord(j)).some(Boolean));
    const da = new Float32Array(200 * dim);
    const du = new Float32Array(200 * dim);
    a.decode(0, 200, da);
    u.decode(0, 200, du);
    assert.deepEqual(da, du);
    await assert.rejects(new CompressedStoreBuilder(codec, 1).addFloat(pts, 2, jsMatMulT, undefined, new Uint8Array(3)), /3 word-start flags for 2 vectors/);
    // The frozen store has the builder's residuals (no copy): the builder takes nothing more.
    await assert.rejects(b.addFloat(pts, 2, jsMatMulT), /used after freeze/);
    assert.throws(() => b.freeze(), /used after freeze/);
    const c = new CompressedStoreBuilder(codec, 2);
    await c.addFloat(pts.subarray(0, 3 * dim), 3, jsMatMulT);
    assert.equal(c.addFrom(a, 50, 100), 3);
    const s = c.freeze();
    assert.deepEqual(s.centroidIds.subarray(3), a.centroidIds.subarray(50, 150));
    assert.deepEqual(s.norms.subarray(3), a.norms.subarray(50, 150));
    assert.deepEqual(s.raw(3, 100).residuals, a.raw(50, 100).residuals);
    const x = new Float32Array(100 * dim);
    const y = new Float32Array(100 * dim);
    s.decode(3, 100, x);
    a.decode(50, 100, y);
    assert.deepEqual(x, y);
    const other = { ...codec };
    assert.throws(() => new CompressedStoreBuilder(other).addFrom(a, 0, 1), /same codec/);
  });

  it('the store builder takes one addFloat at a time (its rotated rows are one array, reused), each as if alone', async () => {
    const dim = 8;
    const pts = clusteredRows(8, 200, dim, 10);
    const codec = await trainCodec(pts, 200, dim, { k: 16, iterations: 4, seed: 1, matmul: jsMatMulT, trainedOnTokens: 200 });
    const b = new CompressedStoreBuilder(codec, 1);
    const first = b.addFloat(pts, 120, jsMatMulT);
    await assert.rejects(b.addFloat(pts.subarray(120 * dim), 80, jsMatMulT), /one call at a time/);
    assert.equal(await first, 0);
    // A smaller call after a larger one (the array is reused, not cut down), then a larger one.
    assert.equal(await b.addFloat(pts.subarray(120 * dim), 30, jsMatMulT), 120);
    assert.equal(await b.addFloat(pts.subarray(150 * dim), 50, jsMatMulT), 150);
    const whole = new CompressedStoreBuilder(codec, 1);
    await whole.addFloat(pts, 200, jsMatMulT);
    const [got, want] = [b.freeze(), whole.freeze()];
    assert.deepEqual(got.centroidIds, want.centroidIds);
    assert.deepEqual(got.norms, want.norms);
    assert.deepEqual(got.raw(0, 200).residuals, want.raw(0, 200).residuals);
  });
});
