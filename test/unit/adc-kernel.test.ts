// The compressed-domain MaxSim kernel (adc.wat) must give what decoding the vectors and scoring
// them in plain JavaScript gives: unit scores, per-token evidence maxima over a row range, and
// the centroid-interaction scores — at dims with codes of several widths and uncoded coordinates.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { jsMatMulT } from '../../src/core/gemm';
import { CompressedTokenStore } from '../../src/core/index/compressed-store';
import { ADC_ROWS, AdcKernel, type UnitSpan } from '../../src/core/search/adc-kernel';
import { maxSim, tokenMaxima } from '../../src/core/search/maxsim';
import { ADC_WAT_SHA256 } from '../../src/core/search/simd/adc-wasm';
import { mulberry32 } from '../../src/core/bench/metrics';
import { compressedUnits } from '../compressed-fixture';
import { gauss } from '../random-vectors';

/** Unit vectors with a few strong directions (like real embeddings), so that PCA gives many bit widths; the last 6 dimensions are 0, so some axes get no code. */
function rows(r: () => number, n: number, dim: number): Float32Array {
  const out = new Float32Array(n * dim);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let d = 0; d < dim; d++) {
      const v = gauss(r) * (d < 6 ? 3 : d < 20 ? 1 : d < dim - 6 ? 0.2 : 0);
      out[j * dim + d] = v;
      s += v * v;
    }
    for (let d = 0; d < dim; d++) out[j * dim + d] /= Math.sqrt(s);
  }
  return out;
}

async function fixture(dim: number, nUnits: number, seed: number): Promise<{ store: CompressedTokenStore; units: UnitSpan[] }> {
  const r = mulberry32(seed);
  const sizes = Array.from({ length: nUnits }, (_, u) => (u % 13 === 4 ? 0 : 1 + Math.floor(r() * 40)));
  return compressedUnits(rows(r, sizes.reduce((a, b) => a + b, 0), dim), sizes, dim, { k: 64, seed: 3 });
}

describe('AdcKernel (wasm SIMD, compressed-domain MaxSim)', () => {
  for (const [dim, nq, renormalised] of [[64, ADC_ROWS, true], [40, 7, true], [40, 7, false]] as const) {
    it(`matches decode + plain MaxSim at dim ${dim} with ${nq} query rows${renormalised ? '' : ', a codec without renormalisation'}`, async () => {
      const built = await fixture(dim, 120, dim);
      const { units } = built;
      const b = built.store;
      const store = renormalised ? b : CompressedTokenStore.inMemory({ ...b.codec, normalize: false }, b.count, b.centroidIds, b.norms, b.raw(0, b.count).residuals);
      assert.equal(store.codec.normalize, renormalised);
      const { bits } = store.codec;
      assert.ok(bits.includes(0) && new Set(bits).size >= 3, `fixture covers several code widths and uncoded coordinates (${bits.join(',')})`);
      const q = rows(mulberry32(7), nq, dim);
      const kernel = new AdcKernel(store);
      const qs = store.toStoreSpace(q, nq);
      const sT = await kernel.setQuery(qs, nq, jsMatMulT, 2, Math.min(nq, 5));
      const { scores, tokenMaxima: tm, tokenOffsets } = kernel.exact(units);
      const ci = kernel.interact(units);
      const { centroidIds } = store;
      units.forEach((u, k) => {
        const want = u.tokenCount === 0 ? 0 : maxSim(q, nq, store, u.tokenFirst, u.tokenCount);
        assert.ok(Math.abs(scores[k] - want) < 1e-4 * nq, `unit ${k}: ${scores[k]} vs ${want}`);
        const wantTokens = tokenMaxima(q, 2, Math.min(nq, 5), store, u.tokenFirst, u.tokenCount);
        assert.equal(tokenOffsets[k + 1] - tokenOffsets[k], u.tokenCount);
        for (let t = 0; t < u.tokenCount; t++) assert.ok(Math.abs(tm[tokenOffsets[k] + t] - wantTokens[t]) < 1e-4, `unit ${k} token ${t}`);
        let wantCi = 0;
        for (let i = 0; i < nq && u.tokenCount > 0; i++) {
          let m = -Infinity;
          for (let j = u.tokenFirst; j < u.tokenFirst + u.tokenCount; j++) m = Math.max(m, sT[centroidIds[j] * ADC_ROWS + i]);
          wantCi += m;
        }
        assert.ok(Math.abs(ci[k] - wantCi) < 1e-4 * nq, `interaction of unit ${k}`);
      });
      // The word-start flags (the length bytes' top bit) change no score: the same store with
      // every flag cleared, then every flag set.
      assert.ok(store.norms.some((x) => x >= 0x80) && store.norms.some((x) => x < 0x80), 'the fixture flags some vectors');
      for (const flag of [0, 0x80]) {
        const norms = store.norms.map((x) => (x & 0x7f) | flag);
        const other = CompressedTokenStore.inMemory(store.codec, store.count, store.centroidIds, norms, store.raw(0, store.count).residuals);
        const k2 = new AdcKernel(other);
        await k2.setQuery(qs, nq, jsMatMulT, 2, Math.min(nq, 5));
        const e2 = k2.exact(units);
        assert.deepEqual(e2.scores, scores);
        assert.deepEqual(e2.tokenMaxima, tm);
        const a = new Float32Array(dim * 40);
        const b2 = new Float32Array(dim * 40);
        store.decode(0, 40, a);
        other.decode(0, 40, b2);
        assert.deepEqual(b2, a);
      }
    });
  }

  it('scores in batches when the units exceed one kernel call, in any unit order', async () => {
    const { store, units } = await fixture(32, 3000, 11);
    const kernel = new AdcKernel(store);
    const q = rows(mulberry32(5), ADC_ROWS, 32);
    await kernel.setQuery(store.toStoreSpace(q, ADC_ROWS), ADC_ROWS, jsMatMulT);
    const order = units.map((_, k) => k).reverse();
    const all = kernel.exact(order.map((k) => units[k]));
    order.forEach((k, at) => {
      const u = units[k];
      const want = u.tokenCount === 0 ? 0 : maxSim(q, ADC_ROWS, store, u.tokenFirst, u.tokenCount);
      assert.ok(Math.abs(all.scores[at] - want) < 1e-3, `unit ${k}`);
    });
  });

  it('the n best centroids of each query row by S, best first, the lowest centroid on ties (the probes of candidate generation)', async () => {
    const { store } = await fixture(40, 200, 4);
    const K = store.codec.k;
    const kernel = new AdcKernel(store);
    assert.throws(() => kernel.topPerRow(4), /setQuery first/);
    for (const nq of [ADC_ROWS, 7]) {
      const q = rows(mulberry32(nq), nq, 40);
      // Row 1 all zeros: every centroid ties at 0.
      q.fill(0, 40, 80);
      const sT = await kernel.setQuery(store.toStoreSpace(q, nq), nq, jsMatMulT);
      for (const n of [1, 4, K]) {
        const top = kernel.topPerRow(n);
        assert.equal(top.length, nq * n);
        for (let i = 0; i < nq; i++) {
          const want = Array.from({ length: K }, (_, c) => c).sort((a, b) => sT[b * ADC_ROWS + i] - sT[a * ADC_ROWS + i] || a - b).slice(0, n);
          assert.deepEqual(Array.from(top.subarray(i * n, (i + 1) * n)), want, `row ${i} of ${nq}, n ${n}`);
        }
        assert.deepEqual(Array.from(top.subarray(n, 2 * n)), Array.from({ length: n }, (_, c) => c), 'ties: lowest centroid first');
      }
    }
    assert.throws(() => kernel.topPerRow(K + 1), RangeError);
  });

  it('refuses to score before a query is set, and queries longer than the kernel holds', async () => {
    const { store, units } = await fixture(16, 10, 2);
    const kernel = new AdcKernel(store);
    assert.throws(() => kernel.exact(units), /setQuery first/);
    await assert.rejects(kernel.setQuery(new Float32Array(33 * 16), 33, jsMatMulT), /1 to 32/);
  });

  it('the committed module is the build of adc.wat (re-assembled when wabt is installed)', (t) => {
    const root = join(__dirname, '../..');
    const wat = readFileSync(join(root, 'src/core/search/simd/adc.wat'));
    assert.equal(createHash('sha256').update(wat).digest('hex'), ADC_WAT_SHA256, 'adc.wat changed: run `npm run build:wasm`');
    const run = spawnSync(process.execPath, [join(root, 'scripts/build-wasm.mjs'), '--check'], { encoding: 'utf8' });
    if (run.status === 3) {
      t.skip('wabt is not installed');
      return;
    }
    assert.equal(run.status, 0, run.stderr);
  });
});
