// Centroid assignment by token id. A ColBERT vector is its token in context, and the vectors of
// one token id fall near few of the codec's centroids: the shortlist remembers, per token id, the
// centroids that exact searches (every centroid) chose for its vectors, and assigns a vector whose
// token's list can be trusted by comparing it with that list only — tens of centroids instead of
// thousands — then climbs from the best of them to a centroid's nearest neighbour while that is
// nearer still. Exact search of 8192 centroids cost indexing about as much CPU as encoding.
//
// A list is trusted when the chance that the next vector's nearest centroid is missing from it is
// small, by Good–Turing: (centroids chosen exactly once) / (exact searches) ≤ MAX_MISSING_MASS.
// A token with few exact searches behind it, or with too many centroids for a list to pay, is
// searched exactly. Every AUDIT_EVERY-th vector of a trusted token is searched exactly too, so
// that the estimate keeps being tested on new text. A listed vector whose best dot product is
// well below what its token's exact searches found (FLOOR_SIGMAS) is searched exactly as well.
// Where the list and the climb still miss the nearest centroid (on fastify, 1.6 % of listed
// vectors), the vector gets a less near one: its residual is longer, and its codes are exact to
// that centroid. Measured on fastify (top-10 agreement with exact float32 MaxSim; with exact
// assignment in brackets): every unit scored 0.956 (0.954), dense nprobe 4 / 256 candidates 0.946
// (0.944), the hybrid ranking users see 0.951 (0.956); 48 % of fastify's vectors and 76 % of the
// 10k speed workspace's were assigned from lists, comparing ~45 centroids each instead of 8192
// (51 % and 78 % since lists start with a build's first vector, when it trained the codec).
//
// Lists start empty for each build and follow the vectors in commit order (file order, in the
// indexer's batches), so the assignment is deterministic for the same files. Only large codecs
// use lists. A build that trains its codec computes the neighbour graph (a k × k product) while
// the encoder still runs ahead, and hands it over: lists start at once. Otherwise the shortlist
// starts after ACTIVATE_AFTER exact searches and computes the graph then, so that a small update
// (one edited file) searches exactly and does not pay for it.
import type { MatMulT } from '../gemm';
import { IndexingKernel } from './indexing-kernel';

/** Exact searches behind a list before it is trusted. */
const MIN_EXACT = 8;
/** Good–Turing estimate of the share of a token's vectors whose centroid is not yet in its list. */
const MAX_MISSING_MASS = 0.05;
/** A token with more centroids than this is searched exactly (its list would cost as much). */
const MAX_LIST = 256;
/** One vector in this many of a trusted token is searched exactly anyway. */
const AUDIT_EVERY = 32;
/** Neighbours per centroid for the climb, and the most steps a climb takes. */
export const SHORTLIST_NEIGHBOURS = 8;
const MAX_CLIMB = 8;
/**
 * A listed vector whose best dot product is more than this many standard deviations below its
 * token's mean (over exact searches) is searched exactly. Without it, on fastify, 3.7 % of listed
 * vectors missed their nearest centroid by a mean of 0.050 (the 8-bit exact search's near-ties:
 * 4.2 % by 0.0016), which candidate generation, scoring units by their centroids, felt: hybrid
 * agreement 0.946. At 1.5σ: 2.1 % missed; at 1σ, 1.6 % and hybrid agreement 0.951.
 */
const FLOOR_SIGMAS = 1.0;
/** Exact searches before the shortlist starts (the neighbour graph costs about as many). */
const ACTIVATE_AFTER = 16384;
/** Codecs with fewer centroids are searched exactly: the search is cheap and lists would not pay. */
const MIN_CENTROIDS = 1024;

interface TokenCentroids {
  /** Centroids exact searches chose for this token's vectors, in the order first chosen. */
  ids: number[];
  /** How often each of `ids` was chosen. */
  hits: number[];
  /** Exact searches made for this token. */
  exact: number;
  /** Centroids of `ids` chosen exactly once. */
  singles: number;
  /** Vectors of this token assigned so far. */
  seen: number;
  /** Mean of the exact searches' best dot products, and the sum of squared deviations from it. */
  mean: number;
  m2: number;
}

export interface ShortlistStats {
  /** Vectors assigned from a list. */
  listed: number;
  /** Vectors searched exactly. */
  exact: number;
  /** Centroids compared for the listed vectors, climbs included. */
  compared: number;
}

export class CentroidShortlist {
  private readonly tokens = new Map<number, TokenCentroids>();
  /** The rows searched exactly, gathered: one array from call to call (see MatMulT.multiplyT's `into`). */
  private gathered = new Float32Array(0);
  readonly stats: ShortlistStats = { listed: 0, exact: 0, compared: 0 };
  private active = false;
  private readonly usable: boolean;
  private readonly centroids: Float32Array;
  private readonly k: number;
  private readonly dim: number;

  constructor(
    /** Holds the codec's centroids and, for each call, the rows to assign (loadRows). */
    private readonly kernel: IndexingKernel,
    private readonly matmul: MatMulT,
    /** The codec's neighbour graph (nearestNeighbours, SHORTLIST_NEIGHBOURS a centroid), when already computed. */
    neighbours?: Int32Array,
  ) {
    ({ centroids: this.centroids, k: this.k, dim: this.dim } = kernel.codec);
    this.usable = CentroidShortlist.usesLists(this.k, this.dim) && kernel.maxNeighbours >= SHORTLIST_NEIGHBOURS;
    if (neighbours && neighbours.length !== this.k * SHORTLIST_NEIGHBOURS) throw new RangeError(`CentroidShortlist: a neighbour graph of ${neighbours.length} entries for ${this.k} centroids`);
    if (this.usable && neighbours) {
      this.kernel.setNeighbours(neighbours, SHORTLIST_NEIGHBOURS);
      this.active = true;
    }
  }

  /** Whether a codec of k centroids in `dim` dimensions gets lists (and so a neighbour graph is worth computing). */
  static usesLists(k: number, dim: number): boolean {
    return k >= MIN_CENTROIDS && IndexingKernel.assignFits(dim);
  }

  /**
   * The centroid of each of the n rows, which must be the kernel's loaded rows (loadRows);
   * `tokenIds[i]` is row i's token id. `exact` searches every centroid for a block of rows (the
   * same answer for a row whatever block it is in).
   */
  async assign(rows: Float32Array, n: number, tokenIds: ArrayLike<number>, exact: (rows: Float32Array, m: number) => Promise<Int32Array>): Promise<Int32Array> {
    const D = this.dim;
    if (!this.active && this.usable && this.stats.exact >= ACTIVATE_AFTER) {
      this.kernel.setNeighbours(await nearestNeighbours(this.centroids, this.k, D, SHORTLIST_NEIGHBOURS, this.matmul), SHORTLIST_NEIGHBOURS);
      this.active = true;
    }
    const out = new Int32Array(n);
    const searched: number[] = [];
    const listed: number[] = [];
    const lists = new Int32Array(2 * n);
    // Each token's list once in `cand`, however many of its rows there are.
    const listAt = new Map<TokenCentroids, number>();
    const cand: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = this.tokens.get(tokenIds[i]);
      if (t) t.seen++;
      const trusted = this.active && t !== undefined && t.exact >= MIN_EXACT && t.ids.length <= MAX_LIST
        && t.singles <= MAX_MISSING_MASS * t.exact && t.seen % AUDIT_EVERY !== 0;
      if (!trusted) {
        searched.push(i);
        continue;
      }
      let at = listAt.get(t);
      if (at === undefined) {
        listAt.set(t, (at = cand.length));
        for (const c of t.ids) cand.push(c);
      }
      lists[2 * listed.length] = at;
      lists[2 * listed.length + 1] = t.ids.length;
      listed.push(i);
    }
    if (listed.length > 0) {
      const found = new Int32Array(listed.length);
      const score = new Float32Array(listed.length);
      this.stats.compared += this.kernel.assign(Int32Array.from(listed), lists, Int32Array.from(cand), MAX_CLIMB, found, score);
      let rejected = 0;
      listed.forEach((i, r) => {
        // Far below the token's usual nearest centroid: its nearest is likely not on the list.
        const t = this.tokens.get(tokenIds[i])!;
        if (score[r] < t.mean - FLOOR_SIGMAS * Math.sqrt(t.m2 / t.exact)) {
          searched.push(i);
          rejected++;
        } else {
          out[i] = found[r];
        }
      });
      if (rejected > 0) searched.sort((a, b) => a - b);
      this.stats.listed += listed.length - rejected;
    }
    if (searched.length > 0) {
      if (this.gathered.length < searched.length * D) this.gathered = new Float32Array(Math.max(searched.length * D, 2 * this.gathered.length));
      const found = await exact(gather(rows, D, searched, this.gathered), searched.length);
      // In row order, after the call's listed rows: the same calls in the same order give the
      // same lists and the same assignment.
      searched.forEach((i, r) => {
        const c = found[r];
        out[i] = c;
        let t = this.tokens.get(tokenIds[i]);
        if (!t) this.tokens.set(tokenIds[i], (t = { ids: [], hits: [], exact: 0, singles: 0, seen: 1, mean: 0, m2: 0 }));
        t.exact++;
        // (Welford's running mean and variance of the nearest centroid's dot product)
        let v = 0;
        for (let d = 0; d < D; d++) v += rows[i * D + d] * this.centroids[c * D + d];
        const delta = v - t.mean;
        t.mean += delta / t.exact;
        t.m2 += delta * (v - t.mean);
        // A token past MAX_LIST is never trusted again: its list is no longer kept up.
        if (t.ids.length > MAX_LIST) return;
        const at = t.ids.indexOf(c);
        if (at < 0) {
          t.ids.push(c);
          t.hits.push(1);
          t.singles++;
        } else if (t.hits[at]++ === 1) {
          t.singles--;
        }
      });
      this.stats.exact += searched.length;
    }
    return out;
  }
}

/** Rows `which` of `rows`, contiguous, at the start of `into`. */
function gather(rows: Float32Array, dim: number, which: readonly number[], into: Float32Array): Float32Array {
  which.forEach((i, r) => into.set(rows.subarray(i * dim, (i + 1) * dim), r * dim));
  return into.subarray(0, which.length * dim);
}

/** For each of the k unit-norm centroids, its m nearest other centroids (largest dot product first). */
export async function nearestNeighbours(centroids: Float32Array, k: number, dim: number, m: number, matmul: MatMulT): Promise<Int32Array> {
  const out = new Int32Array(k * m);
  const M = Math.min(m, k - 1);
  if (M <= 0) return out.fill(0);
  const bestV = new Float32Array(M);
  const bestC = new Int32Array(M);
  // (the indexer's products yield every 256 rows: a block of that many comes back as onnxruntime
  // made it, not copied into an array of 512 × k floats a block, see MatMulT.multiplyT)
  const BLOCK = 256;
  for (let c0 = 0; c0 < k; c0 += BLOCK) {
    const rows = Math.min(BLOCK, k - c0);
    const s = await matmul.multiplyT(centroids.subarray(c0 * dim, (c0 + rows) * dim), rows, centroids, k, dim);
    for (let r = 0; r < rows; r++) {
      // Insertion into a sorted top-M: a score below the M-th is one comparison.
      bestV.fill(-Infinity);
      bestC.fill(-1);
      const base = r * k;
      const self = c0 + r;
      let floor = -Infinity; // bestV[M - 1], in a local: the loop's one test for most centroids
      for (let c = 0; c < k; c++) {
        const v = s[base + c];
        if (v <= floor || c === self) continue;
        let p = M - 1;
        while (p > 0 && v > bestV[p - 1]) {
          bestV[p] = bestV[p - 1];
          bestC[p] = bestC[p - 1];
          p--;
        }
        bestV[p] = v;
        bestC[p] = c;
        floor = bestV[M - 1];
      }
      // (fewer than m other centroids: the list repeats its first, which the climb skips as no nearer)
      for (let j = 0; j < m; j++) out[(c0 + r) * m + j] = j < M ? bestC[j] : bestC[0] < 0 ? c0 + r : bestC[0];
    }
  }
  return out;
}
