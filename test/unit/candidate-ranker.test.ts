// PLAID-style candidate generation: with every centroid probed and room for every unit it is
// exact MaxSim over the whole store; pruned, it still finds a planted answer and always
// scores the units the caller asks for.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsMatMulT } from '../../src/core/gemm';
import type { CompressedTokenStore } from '../../src/core/index/compressed-store';
import { CandidateRanker, kthSmallest } from '../../src/core/search/candidate-ranker';
import { CentroidLists } from '../../src/core/search/centroid-lists';
import { DenseScorer, type UnitSpan } from '../../src/core/search/dense-scorer';
import { tokenMaxima } from '../../src/core/search/maxsim';
import { mulberry32 } from '../../src/core/bench/metrics';
import { compressedUnits } from '../compressed-fixture';
import { gauss } from '../random-vectors';

const DIM = 16;

function unitRow(r: () => number, dim: number): Float32Array {
  const v = Float32Array.from({ length: dim }, () => gauss(r));
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

async function makeStore(seed: number, nUnits: number): Promise<{ store: CompressedTokenStore; units: UnitSpan[]; vectors: Float32Array }> {
  const r = mulberry32(seed);
  const sizes = Array.from({ length: nUnits }, (_, u) => (u % 17 === 5 ? 0 : 1 + Math.floor(r() * 30)));
  const total = sizes.reduce((a, b) => a + b, 0);
  const vectors = new Float32Array(total * DIM);
  for (let j = 0; j < total; j++) vectors.set(unitRow(r, DIM), j * DIM);
  return { ...(await compressedUnits(vectors, sizes, DIM, { k: 32, seed: 1 })), vectors };
}

function queryRows(seed: number, rows: number): Float32Array {
  const r = mulberry32(seed);
  const q = new Float32Array(rows * DIM);
  for (let i = 0; i < rows; i++) q.set(unitRow(r, DIM), i * DIM);
  return q;
}

describe('CentroidLists', () => {
  it('lists each unit once per centroid it has vectors on, in ascending order', () => {
    const ids = Uint16Array.from([0, 2, 0, 1, 1, 2, 2]);
    const spans = [{ tokenFirst: 0, tokenCount: 3 }, { tokenFirst: 3, tokenCount: 0 }, { tokenFirst: 3, tokenCount: 2 }, { tokenFirst: 5, tokenCount: 2 }];
    const l = CentroidLists.build(ids, 4, spans);
    assert.deepEqual(Array.from(l.unitsOf(0)), [0]);
    assert.deepEqual(Array.from(l.unitsOf(1)), [2]);
    assert.deepEqual(Array.from(l.unitsOf(2)), [0, 3]);
    assert.deepEqual(Array.from(l.unitsOf(3)), []);
  });
});

describe('CandidateRanker', () => {
  const scorer = new DenseScorer(jsMatMulT);

  it('probing every centroid with room for every unit equals exact MaxSim over the whole store', async () => {
    const { store, units } = await makeStore(1, 120);
    const ranker = new CandidateRanker(store, units, jsMatMulT);
    for (const seed of [1, 2, 3]) {
      const q = queryRows(100 + seed, 8);
      const exact = await scorer.scoreAll(q, 8, store, units);
      const got = await ranker.rank(q, 8, { nprobe: store.codec.k, ncandidates: units.length });
      // Every unit with vectors is a candidate; units without vectors cannot match any centroid.
      const withVectors = units.flatMap((u, k) => (u.tokenCount > 0 ? [k] : []));
      assert.deepEqual(Array.from(got.units), withVectors);
      got.units.forEach((u, k) => assert.ok(Math.abs(got.scores[k] - exact[u]) < 1e-4, `unit ${u}: ${got.scores[k]} vs ${exact[u]}`));
    }
  });

  it('pruned, it still finds a planted passage first and scores every unit the caller names', async () => {
    const { store, units, vectors } = await makeStore(2, 300);
    const planted = 137;
    const u = units[planted];
    assert.ok(u.tokenCount >= 4);
    // The query is the planted passage's own first vectors: it scores ≈ rows there.
    const rows = 4;
    const q = vectors.slice(u.tokenFirst * DIM, (u.tokenFirst + rows) * DIM);
    const ranker = new CandidateRanker(store, units, jsMatMulT);
    const must = [3, 250, 299];
    const got = await ranker.rank(q, rows, { nprobe: 2, ncandidates: 20 }, must);
    assert.ok(got.units.length < units.length, 'pruning scored fewer units than the store has');
    assert.ok(got.units.length <= 20 + must.length);
    for (const m of must) assert.ok(got.units.includes(m), `unit ${m} is scored`);
    let best = 0;
    for (let k = 1; k < got.units.length; k++) if (got.scores[k] > got.scores[best]) best = k;
    assert.equal(got.units[best], planted);
    const exact = await scorer.scoreAll(q, rows, store, units);
    got.units.forEach((x, k) => assert.ok(Math.abs(got.scores[k] - exact[x]) < 1e-4, 'scores of chosen units are exact'));
  });

  it('exhaustive, it scores every unit, and returns each token\'s evidence maximum over the asked rows', async () => {
    const { store, units } = await makeStore(3, 80);
    const ranker = new CandidateRanker(store, units, jsMatMulT);
    const q = queryRows(9, 6);
    const got = await ranker.rank(q, 6, { nprobe: 1, ncandidates: 1, exhaustive: true, evidenceRows: [2, 4] });
    assert.deepEqual(Array.from(got.units), units.map((_, k) => k));
    const exact = await scorer.scoreAll(q, 6, store, units);
    got.units.forEach((x, k) => {
      assert.ok(Math.abs(got.scores[k] - exact[x]) < 1e-4, `unit ${x}`);
      const want = tokenMaxima(q, 2, 4, store, units[x].tokenFirst, units[x].tokenCount);
      const have = got.tokenMaxima!.subarray(got.tokenOffsets![k], got.tokenOffsets![k + 1]);
      assert.equal(have.length, want.length);
      want.forEach((w, t) => assert.ok(Math.abs(have[t] - w) < 1e-4, `unit ${x} token ${t}`));
    });
  });
});

describe('kthSmallest', () => {
  it('agrees with sorting, with ties, runs and small arrays', () => {
    const r = mulberry32(4);
    const cases = [
      Float32Array.from({ length: 1000 }, () => Math.floor(r() * 20)),
      Float32Array.from({ length: 500 }, (_, i) => i),
      Float32Array.from({ length: 500 }, (_, i) => -i),
      new Float32Array(300).fill(2),
      Float32Array.from([3]),
      Float32Array.from([2, 1]),
    ];
    for (const a of cases) {
      const sorted = a.slice().sort();
      for (const k of [0, 1, a.length >> 1, a.length - 1].filter((x) => x >= 0 && x < a.length)) assert.equal(kthSmallest(a.slice(), k), sorted[k]);
    }
  });
});
