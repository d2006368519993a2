// MaxSim (ColBERT late interaction) in plain JavaScript over any TokenStore: the unit's
// vectors are decoded to float rows once, then compared with the query rows.
import type { TokenStore } from '../index/token-store';

/**
 * score(P) = Σ_i max_j q_i · d_j over the query rows and the passage's token vectors.
 * `best` (optional, length = query rows) receives the per-row maxima.
 */
export function maxSim(queryRows: Float32Array, rows: number, store: TokenStore, first: number, count: number, best?: Float32Array): number {
  const D = store.dim;
  const query = store.toStoreSpace(queryRows, rows);
  const m = best ?? new Float32Array(rows);
  m.fill(-Infinity);
  const v = new Float32Array(count * D);
  store.decode(first, count, v);
  for (let j = 0; j < count; j++) {
    const base = j * D;
    for (let i = 0; i < rows; i++) {
      const qb = i * D;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += query[qb + d] * v[base + d];
      if (dot > m[i]) m[i] = dot;
    }
  }
  let total = 0;
  for (let i = 0; i < rows; i++) total += m[i] === -Infinity ? 0 : m[i];
  return total;
}

/**
 * For each of the passage's token vectors, the best dot product against query rows
 * [rowStart, rowEnd) — the FGR interaction turned sideways.
 */
export function tokenMaxima(queryRows: Float32Array, rowStart: number, rowEnd: number, store: TokenStore, first: number, count: number): Float32Array {
  const D = store.dim;
  const query = store.toStoreSpace(queryRows, rowEnd);
  const out = new Float32Array(count).fill(-Infinity);
  const v = new Float32Array(count * D);
  store.decode(first, count, v);
  for (let k = 0; k < count; k++) {
    const base = k * D;
    for (let i = rowStart; i < rowEnd; i++) {
      let dot = 0;
      const qb = i * D;
      for (let d = 0; d < D; d++) dot += query[qb + d] * v[base + d];
      if (dot > out[k]) out[k] = dot;
    }
  }
  return out;
}

/** Plain float reference of MaxSim, for tests: vectors as arrays of rows. */
export function maxSimReference(q: number[][], d: number[][]): number {
  let total = 0;
  for (const qi of q) {
    let best = -Infinity;
    for (const dj of d) {
      let dot = 0;
      for (let k = 0; k < qi.length; k++) dot += qi[k] * dj[k];
      best = Math.max(best, dot);
    }
    if (best > -Infinity) total += best;
  }
  return total;
}
