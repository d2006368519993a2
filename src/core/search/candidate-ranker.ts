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
    const gain = new Float32Array(this.spans.length);
    const seenInRow = new Int32Array(this.spans.length).fill(-1);
    const candidates: number[] = [];
    const best = topPerRow(s, K, rows, nprobe); // rows × nprobe, best first
    for (let i = 0; i < rows; i++) {
      const floor = s[best[i * nprobe + nprobe - 1] * ADC_ROWS + i];
      for (let p = 0; p < nprobe; p++) {
        const c = best[i * nprobe + p];
        const g = s[c * ADC_ROWS + i] - floor;
        for (const u of this.lists.unitsOf(c)) {
          if (seenInRow[u] === i) continue; // an earlier (better) centroid of this row listed it
          if (seenInRow[u] === -1) candidates.push(u);
          seenInRow[u] = i;
          gain[u] += g;
        }
      }
    }
    if (candidates.length <= o.ncandidates) return candidates;
    // The list gains are coarse (0.81 top-10 agreement with exact scoring on fastify, against
    // 0.91 for full centroid interaction), so they only cut the field to PRESCORE_FACTOR ×
    // ncandidates; those get the centroid-interaction score Σ_i max_{j ∈ unit} S[cid_j, i]
    // over all their tokens, and its best ncandidates are scored exactly.
    const field = bestByGain(candidates, gain, PRESCORE_FACTOR * o.ncandidates);
    const approx = this.kernel.interact(field.map((u) => this.spans[u]));
    const order = Array.from(field.keys()).sort((a, b) => approx[b] - approx[a] || field[a] - field[b]);
    return order.slice(0, o.ncandidates).map((k) => field[k]);
  }
}

/**
 * For each row i < rows of the centroid-major s (K × ADC_ROWS), the `n` centroids with the
 * largest s[c, i], best first, lowest index on ties: out[i · n + p]. One pass over s in memory
 * order (a column at a time would stride over it once per row).
 */
function topPerRow(s: Float32Array, K: number, rows: number, n: number): Int32Array {
  const out = new Int32Array(rows * n);
  const filled = new Int32Array(rows);
  const floor = new Float32Array(rows).fill(-Infinity); // the row's n-th best so far, once full
  for (let c = 0; c < K; c++) {
    const base = c * ADC_ROWS;
    for (let i = 0; i < rows; i++) {
      const v = s[base + i];
      if (filled[i] === n && v <= floor[i]) continue;
      const o = i * n;
      let p = filled[i] < n ? filled[i]++ : n - 1;
      while (p > 0 && s[out[o + p - 1] * ADC_ROWS + i] < v) {
        out[o + p] = out[o + p - 1];
        p--;
      }
      out[o + p] = c;
      if (filled[i] === n) floor[i] = s[out[o + n - 1] * ADC_ROWS + i];
    }
  }
  return out;
}

/** The `n` candidates with the largest gain (ties: lower unit first), in that order. */
function bestByGain(candidates: number[], gain: Float32Array, n: number): number[] {
  // The n-th largest gain, by a native numeric sort of the gains alone; then only the units at
  // or above it are sorted with a comparator (a comparator sort of every candidate cost more
  // than the rest of candidate generation).
  let above = candidates;
  if (candidates.length > n) {
    const g = Float32Array.from(candidates, (u) => gain[u]).sort();
    const cut = g[g.length - n];
    above = candidates.filter((u) => gain[u] >= cut);
  }
  above.sort((a, b) => gain[b] - gain[a] || a - b);
  return above.slice(0, n);
}
