import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FloatTokenStoreBuilder, type TokenStore } from '../../src/core/index/token-store';
import { DenseScorer } from '../../src/core/search/dense-scorer';
import { maxSim, maxSimReference, tokenMaxima } from '../../src/core/search/maxsim';
import { mulberry32 } from '../../src/core/bench/metrics';
import { dot, gauss } from '../random-vectors';

// Deterministic PRNG (the bench's mulberry32) and Gaussian samples (Box–Muller).
const rng = mulberry32;

/** `n` random unit rows of `dim`, as float32 (the precision the encoder hands over). */
function unitRows(r: () => number, n: number, dim: number): Float32Array {
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let norm = 0;
    const row = new Float64Array(dim);
    for (let d = 0; d < dim; d++) {
      row[d] = gauss(r);
      norm += row[d] * row[d];
    }
    norm = Math.sqrt(norm);
    for (let d = 0; d < dim; d++) out[i * dim + d] = row[d] / norm;
  }
  return out;
}

function rowsOf(a: Float32Array, n: number, dim: number): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * dim, (i + 1) * dim)));
}

/** The vectors the store really holds, decoded. */
function dequantised(store: TokenStore, first: number, count: number): number[][] {
  const D = store.dim;
  const out = new Float32Array(count * D);
  store.decode(first, count, out);
  return Array.from({ length: count }, (_, k) => Array.from(out.subarray(k * D, (k + 1) * D)));
}

/**
 * Quantisation error bound. A stored component is scale·round(v/scale), scale = maxAbs/127, so
 * each component is off by at most scale/2 = maxAbs/254, and the error vector e has
 * ‖e‖₂ ≤ √dim · maxAbs/254. For a unit query row, |q·e| ≤ ‖q‖₂‖e‖₂ ≤ √dim · maxAbs/254 (≤ 1/254·√dim
 * for unit passage vectors: 0.0445 at dim 128). A max over perturbed values moves by at most the
 * largest perturbation, so MaxSim moves by at most rows × that. A small slack covers float32
 * rounding of scale·code.
 */
function rowBound(dim: number, maxAbs = 1): number {
  return (Math.sqrt(dim) * maxAbs) / 254 + 1e-5;
}

describe('maxSim / tokenMaxima against maxSimReference', () => {
  const dims = [8, 32, 128];
  for (const D of dims) {
    it(`agrees within the int8 quantisation bound (dim ${D})`, () => {
      const r = rng(1000 + D);
      for (let trial = 0; trial < 25; trial++) {
        const rows = 1 + Math.floor(r() * 32);
        const count = 1 + Math.floor(r() * 60);
        const q = unitRows(r, rows, D);
        const dv = unitRows(r, count, D);
        const b = new FloatTokenStoreBuilder(D, 4);
        // Some other passage first so `first` is not 0.
        const pre = 1 + Math.floor(r() * 5);
        b.add(unitRows(r, pre, D), pre);
        const first = b.add(dv, count);
        assert.equal(first, pre);
        const store = b.freeze();

        const ref = maxSimReference(rowsOf(q, rows, D), rowsOf(dv, count, D));
        const best = new Float32Array(rows);
        const got = maxSim(q, rows, store, first, count, best);
        assert.ok(Math.abs(got - ref) <= rows * rowBound(D), `dim ${D} rows ${rows}: |${got} - ${ref}| > ${rows * rowBound(D)}`);

        // Against the dequantised vectors the store really holds, agreement is to rounding.
        const deq = dequantised(store, first, count);
        const refQ = maxSimReference(rowsOf(q, rows, D), deq);
        assert.ok(Math.abs(got - refQ) <= 1e-4, `dequantised: ${got} vs ${refQ}`);

        // `best` holds the per-row maxima, summing to the score.
        let sum = 0;
        for (let i = 0; i < rows; i++) {
          const rowRef = maxSimReference([rowsOf(q, rows, D)[i]], deq);
          assert.ok(Math.abs(best[i] - rowRef) <= 1e-5, `row ${i}: ${best[i]} vs ${rowRef}`);
          sum += best[i];
        }
        assert.ok(Math.abs(sum - got) <= 1e-4);

        // tokenMaxima: per passage token, the best row of [r0, r1).
        const r0 = Math.floor(r() * rows);
        const r1 = r0 + 1 + Math.floor(r() * (rows - r0));
        const tm = tokenMaxima(q, r0, r1, store, first, count);
        assert.equal(tm.length, count);
        for (let k = 0; k < count; k++) {
          let exact = -Infinity;
          let onStore = -Infinity;
          for (let i = r0; i < r1; i++) {
            exact = Math.max(exact, dot(q, i * D, dv, k * D, D));
            onStore = Math.max(onStore, dot(q, i * D, deq[k], 0, D));
          }
          assert.ok(Math.abs(tm[k] - exact) <= rowBound(D), `token ${k}: ${tm[k]} vs exact ${exact}`);
          assert.ok(Math.abs(tm[k] - onStore) <= 1e-5, `token ${k}: ${tm[k]} vs store ${onStore}`);
        }
      }
    });
  }

  it('ranks well-separated passages exactly as the float reference does', () => {
    const D = 64;
    const r = rng(42);
    for (let trial = 0; trial < 10; trial++) {
      const rows = 8;
      const q = unitRows(r, rows, D);
      const qRows = rowsOf(q, rows, D);
      const b = new FloatTokenStoreBuilder(D, 2);
      const passages: Array<{ first: number; count: number; ref: number }> = [];
      for (let p = 0; p < 30; p++) {
        const count = 3 + Math.floor(r() * 20);
        const dv = unitRows(r, count, D);
        // Plant k of the query rows (perturbed) in the passage: scores spread from ~0 to ~rows.
        const k = p % (rows + 1);
        for (let i = 0; i < Math.min(k, count); i++) {
          let norm = 0;
          for (let d = 0; d < D; d++) {
            const x = q[i * D + d] + 0.05 * gauss(r) / Math.sqrt(D);
            dv[i * D + d] = x;
            norm += x * x;
          }
          for (let d = 0; d < D; d++) dv[i * D + d] /= Math.sqrt(norm);
        }
        const first = b.add(dv, count);
        passages.push({ first, count, ref: maxSimReference(qRows, rowsOf(dv, count, D)) });
      }
      const store = b.freeze();
      const got = passages.map((p) => maxSim(q, rows, store, p.first, p.count));
      const eps = rows * rowBound(D);
      // Every pair whose reference scores differ by more than twice the bound keeps its order.
      let separatedPairs = 0;
      for (let a = 0; a < passages.length; a++) {
        for (let c = 0; c < passages.length; c++) {
          if (passages[a].ref - passages[c].ref > 2 * eps) {
            separatedPairs++;
            assert.ok(got[a] > got[c], `trial ${trial}: passage ${a} (ref ${passages[a].ref}) should beat ${c} (ref ${passages[c].ref})`);
          }
        }
      }
      assert.ok(separatedPairs > 100, 'the test has well-separated pairs to check');
      // The argmax is the same passage.
      const argmax = (xs: number[]): number => xs.reduce((bi, x, i) => (x > xs[bi] ? i : bi), 0);
      const refScores = passages.map((p) => p.ref);
      const sorted = [...refScores].sort((x, y) => y - x);
      if (sorted[0] - sorted[1] > 2 * eps) assert.equal(argmax(got), argmax(refScores));
    }
  });

  it('an identical passage beats every other on the exact argmax', () => {
    const D = 32;
    const r = rng(3);
    const q = unitRows(r, 6, D);
    const b = new FloatTokenStoreBuilder(D);
    const firsts: number[] = [];
    for (let p = 0; p < 20; p++) {
      const v = p === 13 ? q : unitRows(r, 6, D);
      firsts.push(b.add(v, 6));
    }
    const s = b.freeze();
    const scores = firsts.map((f) => maxSim(q, 6, s, f, 6));
    const best = scores.indexOf(Math.max(...scores));
    assert.equal(best, 13);
    assert.ok(Math.abs(scores[13] - 6) <= 6 * rowBound(D));
  });

  it('an empty passage scores 0 and leaves -Infinity per-row maxima; tokenMaxima of none is empty', () => {
    const D = 4;
    const b = new FloatTokenStoreBuilder(D);
    b.add(new Float32Array([1, 0, 0, 0]), 1);
    const s = b.freeze();
    const best = new Float32Array(2);
    assert.equal(maxSim(new Float32Array(8).fill(0.5), 2, s, 1, 0, best), 0);
    assert.deepEqual(Array.from(best), [-Infinity, -Infinity]);
    assert.equal(tokenMaxima(new Float32Array(8), 0, 2, s, 0, 0).length, 0);
    assert.equal(maxSimReference([[1, 0]], []), 0);
    assert.equal(maxSimReference([], [[1, 0]]), 0);
  });

  it('a negative best dot product counts as negative (no clamping at 0)', () => {
    const D = 2;
    const b = new FloatTokenStoreBuilder(D);
    b.add(new Float32Array([-1, 0]), 1);
    const s = b.freeze();
    const got = maxSim(new Float32Array([1, 0]), 1, s, 0, 1);
    assert.ok(Math.abs(got - -1) < 1e-6);
    assert.equal(maxSimReference([[1, 0]], [[-1, 0]]), -1);
  });
});

describe('FloatTokenStoreBuilder', () => {
  it('grows by doubling from a tiny capacity and keeps earlier vectors exactly', () => {
    const D = 5;
    const r = rng(11);
    const b = new FloatTokenStoreBuilder(D, 1);
    const all: Float32Array[] = [];
    const firsts: number[] = [];
    let total = 0;
    for (let p = 0; p < 40; p++) {
      const n = Math.floor(r() * 9); // includes empty additions
      const v = unitRows(r, n, D);
      const f = b.add(v, n);
      assert.equal(f, total, 'add returns the index of the first added vector');
      firsts.push(f);
      all.push(v);
      total += n;
    }
    const s = b.freeze();
    assert.equal(s.count, total);
    const out = new Float32Array(D);
    for (let p = 0; p < all.length; p++) {
      for (let k = 0; k < all[p].length / D; k++) {
        s.decode(firsts[p] + k, 1, out);
        assert.deepEqual(out, all[p].subarray(k * D, (k + 1) * D));
      }
    }
  });

  it('an empty builder freezes to an empty store', () => {
    const s = new FloatTokenStoreBuilder(16).freeze();
    assert.equal(s.count, 0);
    assert.equal(s.vectors.length, 0);
  });
});

describe('DenseScorer.scoreAll (ONNX GEMM) against maxSim', () => {
  let scorer: DenseScorer;
  before(async () => {
    scorer = await DenseScorer.create();
  });
  after(async () => {
    await scorer?.dispose();
  });

  /** Units laid out as the indexer does: consecutive, some empty, some larger than a GEMM block. */
  function layout(r: () => number, counts: number[], D: number): { store: TokenStore; units: Array<{ tokenFirst: number; tokenCount: number }> } {
    const b = new FloatTokenStoreBuilder(D);
    const units = counts.map((n) => ({ tokenFirst: b.add(unitRows(r, n, D), n), tokenCount: n }));
    return { store: b.freeze(), units };
  }

  function assertAgrees(q: Float32Array, rows: number, store: TokenStore, units: Array<{ tokenFirst: number; tokenCount: number }>, got: Float32Array): void {
    assert.equal(got.length, units.length);
    units.forEach((u, k) => {
      const want = maxSim(q, rows, store, u.tokenFirst, u.tokenCount);
      // Both compute over the same int8 store; only float32 summation order differs.
      assert.ok(Math.abs(got[k] - want) <= 1e-3 * Math.max(1, Math.abs(want)), `unit ${k} (${u.tokenFirst}+${u.tokenCount}): ${got[k]} vs ${want}`);
    });
  }

  it('matches maxSim on every unit, across block boundaries, with empty units', async () => {
    const D = 32;
    const r = rng(99);
    const counts = Array.from({ length: 700 }, (_, k) => (k % 37 === 0 ? 0 : 1 + Math.floor(r() * 80)));
    const { store, units } = layout(r, counts, D);
    assert.ok(store.count > 16384, 'more tokens than one GEMM block');
    const rows = 32;
    const q = unitRows(r, rows, D);
    assertAgrees(q, rows, store, units, await scorer.scoreAll(q, rows, store, units));
  });

  it('a unit larger than one block, units that are not contiguous, and a subset of units', async () => {
    const D = 8;
    const r = rng(5);
    const { store, units } = layout(r, [3, 20000, 0, 5, 7, 1], D);
    const rows = 4;
    const q = unitRows(r, rows, D);
    assertAgrees(q, rows, store, units, await scorer.scoreAll(q, rows, store, units));
    // Every other unit (gaps between them) and in reverse order.
    const some = [units[5], units[3], units[1], units[0]];
    assertAgrees(q, rows, store, some, await scorer.scoreAll(q, rows, store, some));
    assert.deepEqual(Array.from(await scorer.scoreAll(q, rows, store, [])), []);
  });

  it('uses only the first `rows` query rows', async () => {
    const D = 16;
    const r = rng(8);
    const { store, units } = layout(r, [10, 10], D);
    const q = unitRows(r, 6, D);
    assertAgrees(q, 3, store, units, await scorer.scoreAll(q, 3, store, units));
  });
});
