// Results of several workspace folders as one list. Pure.
//
// Each folder's index ranks its own passages with reciprocal-rank fusion (RRF) of the dense
// (MaxSim) and lexical (BM25) rankings. Fused scores of different folders are not comparable —
// every folder's best passage scores about 2/(k+1), however weak it is — so folders are merged
// by fusing again over the union of their results: ranks by dense score (one model, so MaxSim
// scores compare across folders) and by BM25 score, as if all folders were one index.

export interface Fusion {
  k: number;
  denseWeight: number;
  lexicalWeight: number;
}

export const DEFAULT_FUSION: Fusion = { k: 60, denseWeight: 1, lexicalWeight: 1 };

export interface Mergeable {
  score: number;
  /** MaxSim score (absent in lexical-only ranking). */
  dense?: number;
  /** BM25 score; 0 or absent when the passage has no query word. */
  lexical?: number;
}

/**
 * One list, best first, at most `top` results. A single folder's list is returned as ranked by
 * its index. Otherwise the results are re-fused across folders; ties keep folder order, then each
 * list's own order. `score` of a merged result is its cross-folder fused score.
 */
export function mergeFolderResults<T extends Mergeable>(lists: readonly (readonly T[])[], top: number, fusion: Fusion = DEFAULT_FUSION): T[] {
  const nonEmpty = lists.filter((l) => l.length > 0);
  if (nonEmpty.length <= 1) return (nonEmpty[0] ?? []).slice(0, Math.max(0, top));
  const all: Array<{ r: T; list: number; rank: number; fused: number }> = [];
  lists.forEach((l, list) => l.forEach((r, rank) => all.push({ r, list, rank, fused: 0 })));
  const byOrder = (a: (typeof all)[number], b: (typeof all)[number]): number => a.list - b.list || a.rank - b.rank;
  const withDense = all.filter((x) => typeof x.r.dense === 'number').sort((a, b) => b.r.dense! - a.r.dense! || byOrder(a, b));
  withDense.forEach((x, i) => (x.fused += fusion.denseWeight / (fusion.k + i + 1)));
  const withLexical = all.filter((x) => (x.r.lexical ?? 0) > 0).sort((a, b) => b.r.lexical! - a.r.lexical! || byOrder(a, b));
  withLexical.forEach((x, i) => (x.fused += fusion.lexicalWeight / (fusion.k + i + 1)));
  if (withDense.length === 0 && withLexical.length === 0) {
    // Nothing to re-fuse with (no component scores): fall back to the folders' own scores.
    all.forEach((x) => (x.fused = x.r.score));
  }
  all.sort((a, b) => b.fused - a.fused || byOrder(a, b));
  return all.slice(0, Math.max(0, top)).map((x) => ({ ...x.r, score: x.fused }));
}
