// PLAID-style candidate generation over the compressed index, so that a query touches far
// fewer vectors than the index holds:
//   1. S = Q · Cᵀ, every query row against every centroid (one matrix product, K = O(√tokens));
//   2. each query row probes its `nprobe` best centroids; their inverted lists give candidates;
//   3. each candidate gets an approximate score from the probed lists alone (Σ over rows of its
//      best probed centroid's score, relative to the row's lowest probed score; no pass over its
//      tokens); the best PRESCORE_FACTOR × ncandidates get the centroid-interaction score over
//      all their tokens, and the best `ncandidates` of those, plus any units the caller needs
//      scored (the BM25 list of a hybrid ranking), get exact MaxSim over their decoded vectors.
// Steps 3's token passes run in the compressed domain in WebAssembly SIMD (adc-kernel.ts), which
// also returns each scored token's evidence maximum, so the shown results need no second pass.
import type { MatMulT } from '../gemm';
import type { CompressedTokenStore } from '../index/compressed-store';
import { ADC_ROWS, AdcKernel, type UnitSpan } from './adc-kernel';
import { CentroidLists } from './centroid-lists';

export interface PruningOptions {
  /** Centroids probed per query row. */
  nprobe: number;
  /** Units whose exact score is computed (the best by centroid interaction). */
  ncandidates: number;
}

/** Candidates kept by the probed lists' gains for centroid-interaction scoring, per exact slot. */
const PRESCORE_FACTOR = 6;

export const DEFAULT_PRUNING: PruningOptions = { nprobe: 4, ncandidates: 256 };
/**
 * A hybrid ranking scores the BM25 list exactly too (up to 100 units), so fewer dense candidates
 * do: on fastify its agreement with the same fusion over exact float32 was 0.956 at 192 against
 * 0.954 at 256, with a quarter less of the exact kernel's work.
 */
export const HYBRID_PRUNING: PruningOptions = { nprobe: 4, ncandidates: 192 };

export interface ExactScores {
  /** Unit indices that were scored exactly (no repeats). */
  units: Int32Array;
  scores: Float32Array;
  /**
   * When the scoring gave them: each scored token's best product with the evidence rows, unit k's
   * tokens at tokenMaxima[tokenOffsets[k], tokenOffsets[k + 1]).
   */
  tokenMaxima?: Float32Array;
  tokenOffsets?: Int32Array;
}

export interface RankOptions extends PruningOptions {
  /** Score every unit exactly (a small index, where pruning would save nothing). */
  exhaustive?: boolean;
  /** Score only the units the caller names (no candidate generation). */
  only?: boolean;
  /** Query rows [from, to) whose products give the tokens' evidence maxima (default all). */
  evidenceRows?: [number, number];
}

export class CandidateRanker {
  private readonly lists: CentroidLists;
  private readonly kernel: AdcKernel;
  /** The query the kernel holds (a second call for the same query, e.g. evidence of lexical hits, reuses its tables). */
  private queryKey?: { query: Float32Array; rows: number; e0: number; e1: number; s: Float32Array };
  private gain = new Float32Array(0);
  private seenInRow = new Int32Array(0);
  private listed = new Int32Array(0);

  constructor(
    private readonly store: CompressedTokenStore,
    private readonly spans: readonly UnitSpan[],
    private readonly matmul: MatMulT,
  ) {
    this.lists = CentroidLists.build(store.centroidIds, store.codec.k, spans);
    this.kernel = new AdcKernel(store);
  }

  /** Query rows the ranker can take (longer queries need another scorer). */
  static readonly maxRows = ADC_ROWS;

  async rank(query: Float32Array, rows: number, o: RankOptions, mustScore: readonly number[] = []): Promise<ExactScores> {
    const K = this.store.codec.k;
    const [e0, e1] = o.evidenceRows ?? [0, rows];
    // Centroids live in the store's coordinates (query · rotationᵀ, as store.toStoreSpace does,
    // on the matrix-product backend); S comes back centroid-major (K × ADC_ROWS).
    const { codec } = this.store;
    const key = this.queryKey;
    if (!key || key.query !== query || key.rows !== rows || key.e0 !== e0 || key.e1 !== e1) {
      const rotated = await this.matmul.multiplyT(query, rows, codec.rotation, codec.dim, codec.dim);
      this.queryKey = { query, rows, e0, e1, s: await this.kernel.setQuery(rotated, rows, this.matmul, e0, e1) };
    }
    const { s } = this.queryKey!;
    let chosen: number[];
    if (o.exhaustive) {
      chosen = Array.from(this.spans.keys());
    } else {
      chosen = o.only ? [] : this.candidates(s, rows, K, o);
      const inChosen = new Set(chosen);
      for (const u of mustScore) {
        if (!inChosen.has(u)) {
          inChosen.add(u);
          chosen.push(u);
        }
      }
    }
    // Ascending unit order keeps the reads of codes sequential in memory.
    const units = Int32Array.from(chosen).sort();
    const { scores, tokenMaxima, tokenOffsets } = this.kernel.exact(Array.from(units, (u) => this.spans[u]));
    return { units, scores, tokenMaxima, tokenOffsets };
  }

  /** The units worth an exact score: steps 2 and 3 of the header. */
  private candidates(s: Float32Array, rows: number, K: number, o: PruningOptions): number[] {
    // Candidates and their approximate scores come from the probed inverted lists alone: for
    // query row i, a unit listed under one of the row's nprobe best centroids gains
    // S[c, i] − floor_i for the best such c, where floor_i is the row's lowest probed score (an
    // estimate for a unit not listed there). Σ_i floor_i is the same for every unit, so the gain
    // orders them. This touches rows × nprobe lists instead of every candidate's every token.
    const nprobe = Math.min(o.nprobe, K);
    if (nprobe <= 0) return [];
    const n = this.spans.length;
    // Per-unit scratch kept between queries (reset below for the units touched): on a large index,
    // allocating and clearing it each query cost more than using it.
    if (this.gain.length !== n) {
      this.gain = new Float32Array(n);
      this.seenInRow = new Int32Array(n).fill(-1);
      this.listed = new Int32Array(n);
    }
    const { gain, seenInRow, listed } = this;
    let count = 0;
    const best = this.kernel.topPerRow(nprobe); // rows × nprobe, best first
    for (let i = 0; i < rows; i++) {
      const floor = s[best[i * nprobe + nprobe - 1] * ADC_ROWS + i];
      for (let p = 0; p < nprobe; p++) {
        const c = best[i * nprobe + p];
        const g = s[c * ADC_ROWS + i] - floor;
        const { offsets, units } = this.lists;
        for (let e = offsets[c], end = offsets[c + 1]; e < end; e++) {
          const u = units[e];
          const seen = seenInRow[u];
          if (seen === i) continue; // an earlier (better) centroid of this row listed it
          if (seen === -1) listed[count++] = u;
          seenInRow[u] = i;
          gain[u] += g;
        }
      }
    }
    const candidates = listed.subarray(0, count);
    let field: Int32Array;
    if (count <= o.ncandidates) {
      field = candidates.slice();
    } else {
      // The list gains are coarse (0.81 top-10 agreement with exact scoring on fastify, against
      // 0.91 for full centroid interaction), so they only cut the field to PRESCORE_FACTOR ×
      // ncandidates; those get the centroid-interaction score Σ_i max_{j ∈ unit} S[cid_j, i]
      // over all their tokens, and its best ncandidates are scored exactly.
      field = bestByGain(candidates, gain, PRESCORE_FACTOR * o.ncandidates);
    }
    for (const u of candidates) {
      gain[u] = 0;
      seenInRow[u] = -1;
    }
    if (count <= o.ncandidates) return Array.from(field);
    const approx = this.kernel.interact(Array.from(field, (u) => this.spans[u]));
    const order = Array.from(field.keys()).sort((a, b) => approx[b] - approx[a] || field[a] - field[b]);
    return order.slice(0, o.ncandidates).map((k) => field[k]);
  }
}

/** The `n` candidates with the largest gain (ties: lower unit first), in that order. */
function bestByGain(candidates: Int32Array, gain: Float32Array, n: number): Int32Array {
  // The n-th largest gain by selection (on a large index most units are candidates: sorting
  // them all cost more than the rest of candidate generation); only the units above it are
  // sorted.
  if (candidates.length <= n) return Int32Array.from(Array.from(candidates).sort((a, b) => gain[b] - gain[a] || a - b));
  const g = new Float32Array(candidates.length);
  for (let k = 0; k < candidates.length; k++) g[k] = gain[candidates[k]];
  const cut = kthSmallest(g, g.length - n);
  // Units above the cut (fewer than n) sorted by gain; then the ties at the cut, lowest unit
  // first (there can be many: a gain is a sum of few distinct values), up to n in all.
  const above: number[] = [];
  const tied: number[] = [];
  for (const u of candidates) {
    if (gain[u] > cut) above.push(u);
    else if (gain[u] === cut) tied.push(u);
  }
  above.sort((a, b) => gain[b] - gain[a] || a - b);
  const ties = Int32Array.from(tied).sort();
  const out = new Int32Array(n);
  out.set(above);
  out.set(ties.subarray(0, n - above.length), above.length);
  return out;
}

/** The k-th smallest value of a (0-based), by quickselect; reorders a. */
export function kthSmallest(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    // median of three as the pivot keeps sorted and constant runs from going quadratic
    const mid = (lo + hi) >> 1;
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}
