// Centroid assignment by token shortlists (centroid-shortlist.ts, indexing.wat's assign): the
// neighbour graph, the kernel against a plain JavaScript reference, and the shortlist's policy —
// lists only for tokens whose vectors keep to few centroids, exact search for the rest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsMatMulT } from '../../src/core/gemm';
import { nearestCentroids } from '../../src/core/index/kmeans';
import { CentroidShortlist, nearestNeighbours, SHORTLIST_NEIGHBOURS } from '../../src/core/index/centroid-shortlist';
import { IndexingKernel } from '../../src/core/index/indexing-kernel';
import { emptyCodec } from '../../src/core/index/residual-codec';
import { mulberry32 } from '../../src/core/bench/metrics';
import { dot, gauss, unitRows } from '../random-vectors';

/** A unit vector near row c of `centres` (noise of about `spread` in norm). */
function near(r: () => number, centres: Float32Array, c: number, dim: number, spread: number, out: Float32Array, at: number): void {
  let s = 0;
  for (let d = 0; d < dim; d++) s += (out[at + d] = centres[c * dim + d] + (spread * gauss(r)) / Math.sqrt(dim)) ** 2;
  for (let d = 0; d < dim; d++) out[at + d] /= Math.sqrt(s);
}

/** A kernel over these centroids (a codec without residual codes: assign needs only centroids). */
function kernelFor(C: Float32Array, k: number, dim: number, neighbours = SHORTLIST_NEIGHBOURS): IndexingKernel {
  return new IndexingKernel({ ...emptyCodec(dim), k, centroids: C }, neighbours);
}

describe('centroid shortlist', () => {
  it('nearestNeighbours lists each centroid\'s nearest others, nearest first, never itself', async () => {
    const dim = 16;
    const k = 300;
    const C = unitRows(mulberry32(1), k, dim);
    const m = 5;
    const nb = await nearestNeighbours(C, k, dim, m, jsMatMulT);
    for (let c = 0; c < k; c++) {
      const others = Array.from({ length: k }, (_, j) => j).filter((j) => j !== c);
      others.sort((a, b) => dot(C, c * dim, C, b * dim, dim) - dot(C, c * dim, C, a * dim, dim));
      assert.deepEqual(Array.from(nb.subarray(c * m, (c + 1) * m)), others.slice(0, m), `centroid ${c}`);
    }
  });

  it('the kernel picks the best candidate, then climbs to nearer neighbours, as plain JavaScript does', async () => {
    const dim = 32;
    const k = 200;
    const r = mulberry32(2);
    const C = unitRows(r, k, dim);
    const M = 6;
    const nb = await nearestNeighbours(C, k, dim, M, jsMatMulT);
    const kernel = kernelFor(C, k, dim, M);
    kernel.setNeighbours(nb, M);
    const n = 500;
    const rows = unitRows(r, n, dim);
    kernel.loadRows(rows, n);
    const cand: number[] = [];
    const lists = new Int32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const len = 1 + Math.floor(r() * 12);
      lists[2 * i] = cand.length;
      lists[2 * i + 1] = len;
      for (let j = 0; j < len; j++) cand.push(Math.floor(r() * k));
    }
    for (const climbs of [0, 8]) {
      const out = new Int32Array(n);
      const scores = new Float32Array(n);
      const compared = kernel.assign(Int32Array.from({ length: n }, (_, i) => i), lists, Int32Array.from(cand), climbs, out, scores);
      let expectCompared = 0;
      let climbed = 0;
      for (let i = 0; i < n; i++) {
        const score = (c: number): number => dot(rows, i * dim, C, c * dim, dim);
        let best = cand[lists[2 * i]];
        for (const c of cand.slice(lists[2 * i], lists[2 * i] + lists[2 * i + 1])) if (score(c) > score(best)) best = c;
        expectCompared += lists[2 * i + 1];
        for (let s = 0; s < climbs; s++) {
          let next = best;
          for (const c of nb.subarray(best * M, (best + 1) * M)) if (score(c) > score(next)) next = c;
          expectCompared += M;
          if (next === best) break;
          best = next;
          climbed++;
        }
        // (float32 sums in another order: a near-tie may go either way)
        assert.ok(out[i] === best || Math.abs(score(out[i]) - score(best)) < 1e-5, `row ${i}: ${out[i]} instead of ${best}`);
        assert.ok(Math.abs(scores[i] - score(out[i])) < 1e-5, `row ${i}: score ${scores[i]}`);
      }
      assert.equal(compared, expectCompared);
      if (climbs > 0) assert.ok(climbed > 0, 'some rows climbed');
    }
  });

  it('assigns from lists once trusted, within a near-tie of exact search; spread tokens and outliers are searched exactly', async () => {
    const dim = 16;
    const k = 1024;
    const r = mulberry32(3);
    const C = unitRows(r, k, dim);
    const kernel = kernelFor(C, k, dim);
    const shortlist = new CentroidShortlist(kernel, jsMatMulT);
    // 200 "word" tokens whose vectors lie near one of 3 centroids each, and one token (id 0, like
    // [D] or "the") whose vectors lie anywhere.
    const homes = Array.from({ length: 200 }, () => [0, 1, 2].map(() => Math.floor(r() * k)));
    // And one token near any of 150 centroids, first seen once the shortlist is active: its list
    // fills slowly, and is trusted only once few of its centroids have been seen just once.
    const VARIED = 1000;
    const varied = Array.from({ length: 150 }, () => Math.floor(r() * k));
    let variedMissed = 0;
    let variedRows = 0;
    const exact = (rows: Float32Array, m: number): Promise<Int32Array> => nearestCentroids(rows, m, C, k, dim, jsMatMulT);
    let listedSame = 0;
    let listedNear = 0;
    let spreadRows = 0;
    for (let call = 0; call < 12; call++) {
      const n = 3000;
      const rows = new Float32Array(n * dim);
      const ids = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const x = r();
        if (x < 0.2) {
          ids[i] = 0;
          near(r, C, Math.floor(r() * k), dim, 1.5, rows, i * dim);
        } else if (x < 0.25 && call >= 6) {
          ids[i] = VARIED;
          near(r, C, varied[Math.floor(r() * varied.length)], dim, 0.4, rows, i * dim);
        } else {
          const t = Math.floor(r() * homes.length);
          ids[i] = 1 + t;
          // (one in 200 far from the token's usual centroids: a word in an odd context)
          near(r, C, r() < 0.005 ? Math.floor(r() * k) : homes[t][Math.floor(r() * 3)], dim, 0.4, rows, i * dim);
        }
      }
      const before = shortlist.stats.listed;
      kernel.loadRows(rows, n);
      const got = await shortlist.assign(rows, n, ids, exact);
      const truth = await exact(rows, n);
      for (let i = 0; i < n; i++) {
        if (ids[i] === 0) {
          spreadRows++;
          assert.equal(got[i], truth[i], 'the spread token is searched exactly');
        } else if (ids[i] === VARIED) {
          variedRows++;
          if (got[i] !== truth[i]) variedMissed++;
        } else if (got[i] === truth[i]) {
          listedSame++;
        } else {
          listedNear++;
          assert.ok(dot(rows, i * dim, C, truth[i] * dim, dim) - dot(rows, i * dim, C, got[i] * dim, dim) < 0.1, `row ${i}: a far centroid`);
        }
      }
      // Nothing is listed before ACTIVATE_AFTER exact searches (16384, the 6th call here).
      if (call < 5) assert.equal(shortlist.stats.listed, before, `call ${call}`);
    }
    assert.ok(spreadRows > 0);
    assert.ok(shortlist.stats.listed > 10000, `listed ${shortlist.stats.listed}`);
    assert.ok(shortlist.stats.compared / shortlist.stats.listed < 40, `${shortlist.stats.compared / shortlist.stats.listed} centroids compared a listed vector`);
    assert.ok(variedMissed <= 0.05 * variedRows, `${variedMissed} of ${variedRows} vectors of the varied token not at their nearest centroid`);
    assert.ok(listedNear <= 0.02 * (listedSame + listedNear), `${listedNear} of ${listedSame + listedNear} word-token vectors not at their nearest centroid`);
  });

  it('with the neighbour graph at hand (a build that trained its codec), lists start at once; a graph of another size is refused', async () => {
    const dim = 16;
    const k = 1024;
    const r = mulberry32(5);
    const C = unitRows(r, k, dim);
    const graph = await nearestNeighbours(C, k, dim, SHORTLIST_NEIGHBOURS, jsMatMulT);
    const exact = (rows: Float32Array, m: number): Promise<Int32Array> => nearestCentroids(rows, m, C, k, dim, jsMatMulT);
    // 100 tokens whose vectors lie near one of 2 centroids each.
    const homes = Array.from({ length: 100 }, () => [0, 1].map(() => Math.floor(r() * k)));
    const calls = Array.from({ length: 3 }, () => {
      const n = 2000;
      const rows = new Float32Array(n * dim);
      const ids = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        ids[i] = Math.floor(r() * homes.length);
        near(r, C, homes[ids[i]][Math.floor(r() * 2)], dim, 0.4, rows, i * dim);
      }
      return { rows, ids, n };
    });
    const run = async (neighbours?: Int32Array): Promise<CentroidShortlist> => {
      const kernel = kernelFor(C, k, dim);
      const shortlist = new CentroidShortlist(kernel, jsMatMulT, neighbours);
      for (const { rows, ids, n } of calls) {
        kernel.loadRows(rows, n);
        const got = await shortlist.assign(rows, n, ids, exact);
        const truth = await exact(rows, n);
        for (let i = 0; i < n; i++) {
          if (got[i] !== truth[i]) assert.ok(dot(rows, i * dim, C, truth[i] * dim, dim) - dot(rows, i * dim, C, got[i] * dim, dim) < 0.1, `row ${i}: a far centroid`);
        }
      }
      return shortlist;
    };
    // 6000 exact searches: short of ACTIVATE_AFTER, so without the graph nothing is listed.
    assert.equal((await run()).stats.listed, 0);
    const withGraph = await run(graph);
    assert.ok(withGraph.stats.listed > 3000, `listed ${withGraph.stats.listed} of 6000`);
    assert.throws(() => new CentroidShortlist(kernelFor(C, k, dim), jsMatMulT, graph.subarray(8)), /neighbour graph of 8184 entries for 1024 centroids/);
  });

  it('small codecs and dims the kernel does not take are searched exactly', async () => {
    for (const [k, dim] of [[256, 16], [1024, 12]]) {
      const r = mulberry32(4);
      const C = unitRows(r, k, dim);
      const kernel = kernelFor(C, k, dim);
      const shortlist = new CentroidShortlist(kernel, jsMatMulT);
      // (past ACTIVATE_AFTER exact searches, with three tokens only: lists would be trusted)
      const n = 17000;
      const rows = unitRows(r, n, dim);
      const ids = Int32Array.from({ length: n }, (_, i) => i % 3);
      const exact = (x: Float32Array, m: number): Promise<Int32Array> => nearestCentroids(x, m, C, k, dim, jsMatMulT);
      kernel.loadRows(rows, n);
      await shortlist.assign(rows, n, ids, exact);
      const m = 2000;
      kernel.loadRows(rows, m);
      const got = await shortlist.assign(rows, m, ids, exact);
      assert.deepEqual(got, await exact(rows, m));
      assert.equal(shortlist.stats.listed, 0);
    }
  });
});
