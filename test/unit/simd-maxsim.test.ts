import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CHUNK_TOKENS, MAX_DIM, MaxSimKernel, type UnitSpan } from '../../src/core/search/simd/maxsim-kernel';
import { MAXSIM_WAT_SHA256 } from '../../src/core/search/simd/maxsim-wasm';
import { mulberry32 } from '../../src/core/bench/metrics';

const root = join(__dirname, '..', '..');

/** Pure-JS reference: float query × (scale · int8 code), in float64. */
function reference(q: ArrayLike<number>, rows: number, dim: number, codes: Int8Array, scales: Float32Array, units: readonly UnitSpan[]): Float64Array {
  const out = new Float64Array(units.length);
  units.forEach((u, k) => {
    let total = 0;
    for (let i = 0; i < rows; i++) {
      let best = -Infinity;
      for (let j = u.tokenFirst; j < u.tokenFirst + u.tokenCount; j++) {
        let dot = 0;
        for (let d = 0; d < dim; d++) dot += q[i * dim + d] * codes[j * dim + d];
        best = Math.max(best, dot * scales[j]);
      }
      if (best > -Infinity) total += best;
    }
    out[k] = total;
  });
  return out;
}

/** Random store quantised like TokenStoreBuilder (unit vectors, max-abs scale per vector). */
function randomStore(tokens: number, dim: number, r: () => number) {
  const codes = new Int8Array(tokens * dim);
  const scales = new Float32Array(tokens);
  const v = new Float64Array(dim);
  for (let j = 0; j < tokens; j++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += (v[d] = r() - 0.5) ** 2;
    let maxAbs = 0;
    for (let d = 0; d < dim; d++) maxAbs = Math.max(maxAbs, Math.abs((v[d] /= Math.sqrt(norm))));
    scales[j] = maxAbs / 127;
    for (let d = 0; d < dim; d++) codes[j * dim + d] = Math.round(v[d] / scales[j]);
  }
  return { dim, codes, scales };
}

function randomQuery(rows: number, dim: number, r: () => number): Float32Array {
  const q = new Float32Array(rows * dim);
  for (let i = 0; i < rows; i++) {
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += (q[i * dim + d] = r() - 0.5) ** 2;
    for (let d = 0; d < dim; d++) q[i * dim + d] /= Math.sqrt(norm);
  }
  return q;
}

function contiguousUnits(sizes: number[]): UnitSpan[] {
  let t = 0;
  return sizes.map((n) => {
    const u = { tokenFirst: t, tokenCount: n };
    t += n;
    return u;
  });
}

/** scale_j · ‖code_j‖₁ over all tokens: what errorBound needs. */
function maxTokenL1(store: { dim: number; codes: Int8Array; scales: Float32Array }): number {
  let m = 0;
  for (let j = 0; j < store.scales.length; j++) {
    let s = 0;
    for (let d = 0; d < store.dim; d++) s += Math.abs(store.codes[j * store.dim + d]);
    m = Math.max(m, s * store.scales[j]);
  }
  return m;
}

describe('MaxSimKernel (wasm SIMD)', () => {
  // unit sizes around the kernel's 4-token groups and 128-token blocks, and empty units
  const sizes = [0, 1, 2, 3, 4, 5, 7, 8, 31, 127, 128, 129, 255, 256, 257, 0, 300, 120, 1, 0];

  for (const [dim, rows] of [[128, 32], [128, 1], [64, 7], [16, 2], [20, 3], [1, 5], [100, 32], [512, 4]]) {
    it(`equals the JS reference within the quantisation bound: dim ${dim}, ${rows} query rows`, () => {
      const r = mulberry32(dim * 1000 + rows);
      const units = contiguousUnits(sizes);
      const store = randomStore(units.at(-1)!.tokenFirst + units.at(-1)!.tokenCount, dim, r);
      const q = randomQuery(rows, dim, r);
      const kernel = new MaxSimKernel(dim);
      kernel.setQuery(q, rows);
      const got = kernel.scoreStore(store, units);
      const want = reference(q, rows, dim, store.codes, store.scales, units);
      const bound = kernel.errorBound(maxTokenL1(store));
      assert.ok(bound > 0 && bound < 1e-3 * rows, `bound ${bound}`);
      for (let k = 0; k < units.length; k++) {
        // + float32 rounding of the result and of the per-row maxima
        const tol = bound + 1e-6 * (rows + Math.abs(want[k]));
        assert.ok(Math.abs(got[k] - want[k]) <= tol, `unit ${k} (${units[k].tokenCount} tokens): ${got[k]} vs ${want[k]}, tol ${tol}`);
        if (units[k].tokenCount === 0) assert.equal(got[k], 0);
      }
    });
  }

  it('ranks 1200 units as the reference does (ties within the error bound aside)', () => {
    const r = mulberry32(11);
    const dim = 128;
    const rows = 32;
    const units = contiguousUnits(Array.from({ length: 1200 }, () => Math.floor(r() * 60)));
    const store = randomStore(units.at(-1)!.tokenFirst + units.at(-1)!.tokenCount, dim, r);
    const q = randomQuery(rows, dim, r);
    const kernel = new MaxSimKernel(dim);
    kernel.setQuery(q, rows);
    const got = kernel.scoreStore(store, units);
    const want = reference(q, rows, dim, store.codes, store.scales, units);
    const tol = 2 * (kernel.errorBound(maxTokenL1(store)) + 1e-6 * 2 * rows);
    const order = [...want.keys()].sort((a, b) => got[b] - got[a]);
    for (let k = 1; k < order.length; k++) {
      // whenever the kernel puts a before b, the reference does too, unless they are within tol
      assert.ok(want[order[k - 1]] >= want[order[k]] - tol, `rank ${k}`);
    }
    const top = (s: ArrayLike<number>) => [...Array(s.length).keys()].sort((a, b) => s[b] - s[a]).slice(0, 20);
    assert.deepEqual(top(got), top(want));
  });

  it('uses an int8 query exactly (integer dot products, float32 rounding only)', () => {
    const r = mulberry32(5);
    const dim = 48;
    const rows = 9;
    const units = contiguousUnits([5, 0, 130, 1, 64]);
    const store = randomStore(200, dim, r);
    const codes = new Int8Array(rows * dim).map(() => Math.floor(r() * 256) - 128);
    const scales = new Float32Array(rows).map(() => 0.001 + r() * 0.01);
    const kernel = new MaxSimKernel(dim);
    kernel.setQuery({ codes, scales }, rows);
    assert.equal(kernel.errorBound(1e9), 0);
    const got = kernel.scoreStore(store, units);
    const qf = Array.from(codes, (c, x) => c * scales[Math.floor(x / dim)]);
    const want = reference(qf, rows, dim, store.codes, store.scales, units);
    for (let k = 0; k < units.length; k++) assert.ok(Math.abs(got[k] - want[k]) <= 1e-6 * (1 + Math.abs(want[k])), `${got[k]} vs ${want[k]}`);
  });

  it('does not overflow at the extremes: dim 512, query at ±32767 against codes of −128', () => {
    const dim = MAX_DIM;
    const q = new Float32Array(2 * dim).fill(-1);
    q.fill(1, dim); // row 2: +1
    const store = { dim, codes: new Int8Array(3 * dim).fill(-128), scales: new Float32Array([1, 1, 1]) };
    store.codes.fill(127, dim, 2 * dim);
    const kernel = new MaxSimKernel(dim);
    kernel.setQuery(q, 2);
    const [s] = kernel.scoreStore(store, [{ tokenFirst: 0, tokenCount: 3 }]);
    // row 1 (all −1): best is a −128 token, 128·512; row 2 (all +1): best is the +127 token, 127·512
    assert.ok(Math.abs(s - (128 + 127) * 512) <= 1e-3, `${s}`);
  });

  it('scores units in any order, overlapping, and across the copy chunks, like the token buffer', () => {
    const r = mulberry32(3);
    const dim = 32;
    const rows = 4;
    const store = randomStore(CHUNK_TOKENS + 5000, dim, r);
    const q = randomQuery(rows, dim, r);
    // a unit longer than a chunk, reversed and overlapping spans, empty units
    const units: UnitSpan[] = [
      { tokenFirst: 100, tokenCount: 50 }, { tokenFirst: 0, tokenCount: 100 }, { tokenFirst: 120, tokenCount: 0 },
      { tokenFirst: 10, tokenCount: CHUNK_TOKENS + 10 }, { tokenFirst: 40, tokenCount: 20 }, { tokenFirst: 60, tokenCount: 40 },
      { tokenFirst: CHUNK_TOKENS + 4000, tokenCount: 1000 },
    ];
    const kernel = new MaxSimKernel(dim);
    kernel.setQuery(q, rows);
    const got = kernel.scoreStore(store, units);
    const want = reference(q, rows, dim, store.codes, store.scales, units);
    const bound = kernel.errorBound(maxTokenL1(store)) + 1e-5;
    units.forEach((_, k) => assert.ok(Math.abs(got[k] - want[k]) <= bound, `unit ${k}: ${got[k]} vs ${want[k]}`));

    // the same units written into the token buffer directly (stride = dim here)
    const total = units.reduce((s, u) => s + u.tokenCount, 0);
    const buf = kernel.tokenBuffer(total, units.length);
    assert.equal(buf.stride, 32);
    let at = 0;
    units.forEach((u, k) => {
      buf.codes.set(store.codes.subarray(u.tokenFirst * dim, (u.tokenFirst + u.tokenCount) * dim), at * dim);
      buf.scales.set(store.scales.subarray(u.tokenFirst, u.tokenFirst + u.tokenCount), at);
      buf.counts[k] = u.tokenCount;
      at += u.tokenCount;
    });
    const out = new Float32Array(units.length + 2).fill(-1);
    kernel.scoreTokenBuffer(units.length, out, 1);
    assert.deepEqual(out.subarray(1, 1 + units.length), got);
    assert.equal(out[0], -1);
  });

  it('pads a dim that is not a multiple of 16 (token buffer rows have the padded stride)', () => {
    const r = mulberry32(9);
    const dim = 20;
    const store = randomStore(10, dim, r);
    const q = randomQuery(3, dim, r);
    const kernel = new MaxSimKernel(dim);
    assert.equal(kernel.stride, 32);
    kernel.setQuery(q, 3);
    const buf = kernel.tokenBuffer(10, 1);
    buf.codes.fill(99); // padding bytes may hold anything
    for (let j = 0; j < 10; j++) buf.codes.set(store.codes.subarray(j * dim, (j + 1) * dim), j * buf.stride);
    buf.scales.set(store.scales);
    buf.counts[0] = 10;
    const [s] = kernel.scoreTokenBuffer(1);
    const [want] = reference(q, 3, dim, store.codes, store.scales, [{ tokenFirst: 0, tokenCount: 10 }]);
    assert.ok(Math.abs(s - want) < 1e-4, `${s} vs ${want}`);
  });

  it('grows its memory for a large batch and keeps working after', () => {
    const dim = 128;
    const kernel = new MaxSimKernel(dim);
    kernel.setQuery(new Float32Array(dim).fill(0.5), 1);
    const big = kernel.tokenBuffer(200_000, 2); // ~26 MB of codes
    big.codes.fill(1);
    big.scales.fill(0.5);
    big.counts.set([100_000, 100_000]);
    assert.deepEqual([...kernel.scoreTokenBuffer(2)], [32, 32]); // 128 · 0.5 · 1 · 0.5
    const small = kernel.tokenBuffer(1, 1);
    small.codes.fill(2);
    small.scales[0] = 1;
    small.counts[0] = 1;
    assert.deepEqual([...kernel.scoreTokenBuffer(1)], [128]);
  });

  it('rejects what it cannot score, with a clear error', () => {
    assert.throws(() => new MaxSimKernel(MAX_DIM + 1), /above 512/);
    assert.throws(() => new MaxSimKernel(0), /positive integer/);
    const kernel = new MaxSimKernel(16);
    assert.throws(() => kernel.tokenBuffer(1, 1), /setQuery first/);
    assert.throws(() => kernel.setQuery(new Float32Array(31), 2), /needs rows × dim = 32/);
    assert.throws(() => kernel.setQuery(new Float32Array(32), 0), /rows must be/);
    assert.throws(() => kernel.setQuery({ codes: new Int8Array(16), scales: new Float32Array([-1]) }, 1), /must be finite and ≥ 0/);
    kernel.setQuery(new Float32Array(32), 2);
    assert.throws(() => kernel.scoreTokenBuffer(1), /call tokenBuffer first/);
    const store = { dim: 16, codes: new Int8Array(160), scales: new Float32Array(10) };
    assert.throws(() => kernel.scoreStore(store, [{ tokenFirst: 5, tokenCount: 6 }]), /outside the store/);
    assert.throws(() => kernel.scoreStore({ ...store, dim: 8 }, []), /store dim 8/);
    assert.deepEqual(kernel.scoreStore(store, []), new Float32Array(0));
    const buf = kernel.tokenBuffer(4, 2);
    buf.counts.set([3, 2]);
    assert.throws(() => kernel.scoreTokenBuffer(2), /5 tokens, 4 reserved/);
    assert.throws(() => kernel.scoreTokenBuffer(3), /3 units, 2 reserved/);
  });

  it('the committed module is the build of maxsim.wat (re-assembled when wabt is installed)', (t) => {
    const wat = readFileSync(join(root, 'src/core/search/simd/maxsim.wat'));
    assert.equal(createHash('sha256').update(wat).digest('hex'), MAXSIM_WAT_SHA256, 'maxsim.wat changed: run `npm run build:wasm`');
    const run = spawnSync(process.execPath, [join(root, 'scripts/build-wasm.mjs'), '--check'], { encoding: 'utf8' });
    if (run.status === 3) {
      t.skip('wabt is not installed');
      return;
    }
    assert.equal(run.status, 0, run.stderr);
  });
});
