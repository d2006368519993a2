// ColBERTv2-style residual compression of token vectors: each vector is stored as the id of
// its nearest centroid plus its residual (vector − centroid) quantised to 2 bits a dimension
// on average, with bucket cutoffs and bucket values from quantiles of held-out training
// residuals. Departures from ColBERTv2, each measured on the fastify bench (top-10 agreement
// of exact MaxSim on decoded vectors with exact float32 MaxSim):
// - gain–shape: the residual's length is kept apart (one byte, log scale) and the codes quantise
//   the residual divided by it, so tight and loose clusters both use all buckets (0.86 → 0.89);
// - the residual is coded along its principal axes (a rotation trained on held-out residuals),
//   whose variances differ by three orders of magnitude: the leading axes get 4 bits, the next
//   2 bits, the weakest none, within the same 2 bits a dimension in all (transform coding);
// - tables per coordinate, and a bucket decodes to the mean of its training residuals.
// Everything the codec stores lives in its rotated coordinates: dot products are unchanged as
// long as the query is rotated too (rotateRows).
import { multiplyTSync, type MatMulT } from '../gemm';
import { nearestCentroids, sphericalKMeans } from './kmeans';
import { symmetricEigen } from './pca';

const WIDE_BITS = 4;
const NARROW_BITS = 2;
/** Table slots per coordinate: enough for the widest code. */
const MAX_BUCKETS = 1 << WIDE_BITS;
/** Residual lengths are stored as one byte: 256 steps between normMin and normMax, log scale. */
const NORM_LEVELS = 255;
/** Mean squared error of an optimal scalar quantiser of a unit-variance Gaussian, by bits (Max 1960). */
const GAUSSIAN_MSE = { 0: 1, 2: 0.1175, 4: 0.009497 };

export interface ResidualCodec {
  dim: number;
  /** Number of centroids (≤ 65536: ids are stored as uint16). */
  k: number;
  /** k × dim, unit-norm rows, in rotated coordinates. */
  centroids: Float32Array;
  /** dim × dim, orthonormal rows (principal axes, strongest first): stored coordinates x = rotation · v. */
  rotation: Float32Array;
  /** Coordinates [0, wideDims) have 4-bit codes, [wideDims, wideDims + narrowDims) 2-bit codes, the rest none. */
  wideDims: number;
  narrowDims: number;
  /** dim × 15: coordinate d's scaled residual u falls in bucket #{b < 2^bits − 1 : u ≥ cutoffs[15d + b]}. */
  cutoffs: Float32Array;
  /** dim × 16: the scaled residual bucket b of coordinate d decodes to (a coordinate without code: slot 0). */
  weights: Float32Array;
  /** Range of the stored residual lengths (clamped to it). */
  normMin: number;
  normMax: number;
  /** Decoded vectors are renormalised, because the training vectors were all unit-norm. */
  normalize: boolean;
  /** Token vectors in the index when the codec was trained (the retrain rule compares against it). */
  trainedOnTokens: number;
}

export const MIN_CENTROIDS = 64;
export const MAX_CENTROIDS = 65536;

/** Bytes of packed residual codes per vector: 2 bits a dimension on average. */
export function residualBytes(dim: number): number {
  return Math.ceil(dim / 4);
}

/** Bits of coordinate d's code. */
export function codeBits(codec: Pick<ResidualCodec, 'wideDims' | 'narrowDims'>, d: number): number {
  return d < codec.wideDims ? WIDE_BITS : d < codec.wideDims + codec.narrowDims ? NARROW_BITS : 0;
}

/** ColBERTv2's rule: the power of two at or below 16·√tokens, within [64, 65536]. */
export function centroidCountFor(tokens: number): number {
  const k = 2 ** Math.floor(Math.log2(16 * Math.sqrt(Math.max(1, tokens))));
  return Math.min(MAX_CENTROIDS, Math.max(MIN_CENTROIDS, k));
}

function identity(dim: number): Float32Array {
  const r = new Float32Array(dim * dim);
  for (let d = 0; d < dim; d++) r[d * dim + d] = 1;
  return r;
}

/** A codec without centroids, for an index without vectors. */
export function emptyCodec(dim: number): ResidualCodec {
  return {
    dim, k: 0, centroids: new Float32Array(0), rotation: identity(dim), wideDims: 0, narrowDims: dim,
    cutoffs: new Float32Array(dim * (MAX_BUCKETS - 1)), weights: new Float32Array(dim * MAX_BUCKETS),
    normMin: 1, normMax: 1, normalize: false, trainedOnTokens: 0,
  };
}

/** Rows of `a` (n × dim) rotated into the codec's coordinates: out_i = rotation · a_i. */
export function rotateRows(rotation: Float32Array, a: Float32Array, n: number, dim: number): Float32Array {
  // out_i[j] = Σ_d rotation[j, d] · a_i[d], i.e. a · rotationᵀ.
  return multiplyTSync(a, n, rotation, dim, dim);
}

export interface TrainOptions {
  k: number;
  iterations: number;
  seed: number;
  matmul: MatMulT;
  trainedOnTokens: number;
}

/** Every HELD_OUT_EVERY-th sample vector is held out of k-means to measure residuals. */
const HELD_OUT_EVERY = 5;
const MIN_SAMPLE_FOR_HOLD_OUT = 50;

/**
 * Trains centroids, rotation and bucket tables on `n` sample vectors (rows of `dim`). As in
 * ColBERTv2 the residual statistics come from vectors held out of k-means: residuals of the
 * points the centroids were fitted to are too small (with few points a centroid, near zero).
 */
export async function trainCodec(sample: Float32Array, n: number, dim: number, o: TrainOptions): Promise<ResidualCodec> {
  const holdOut = n >= MIN_SAMPLE_FOR_HOLD_OUT;
  const fit = holdOut ? n - Math.floor(n / HELD_OUT_EVERY) : n;
  const fitRows = new Float32Array(fit * dim);
  const heldRows = new Float32Array((n - fit) * dim);
  for (let i = 0, a = 0, b = 0; i < n; i++) {
    const row = sample.subarray(i * dim, (i + 1) * dim);
    if (holdOut && i % HELD_OUT_EVERY === HELD_OUT_EVERY - 1) heldRows.set(row, dim * b++);
    else fitRows.set(row, dim * a++);
  }
  const plainCentroids = await sphericalKMeans(fitRows, fit, dim, { k: o.k, iterations: o.iterations, seed: o.seed, matmul: o.matmul });
  const k = plainCentroids.length / dim;
  const stats = holdOut ? heldRows : fitRows;
  const m = holdOut ? n - fit : n;
  const ids = await nearestCentroids(stats, m, plainCentroids, k, dim, o.matmul);

  // Residual lengths (their range, a few outliers aside, sets the one-byte log scale), and the
  // principal axes of the residual directions: the eigenvectors of Σ uuᵀ over the unit residual
  // directions u, computed as one matrix product U·Uᵀ (U: dim × m, a column per residual) —
  // the matrix products here run in onnxruntime: in JavaScript loops they took ~2 s of a 1k-passage
  // build's training.
  const norms = new Float32Array(m);
  const directions = new Float32Array(dim * m);
  for (let i = 0; i < m; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += (stats[i * dim + d] - plainCentroids[ids[i] * dim + d]) ** 2;
    norms[i] = Math.sqrt(s);
    if (s === 0) continue;
    const inv = 1 / norms[i];
    for (let d = 0; d < dim; d++) directions[d * m + i] = (stats[i * dim + d] - plainCentroids[ids[i] * dim + d]) * inv;
  }
  const moment = Float64Array.from(await o.matmul.multiplyT(directions, dim, directions, dim, m));
  // Exactly symmetric for the eigensolver (the product's two halves may differ in the last bit).
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) moment[a * dim + b] = moment[b * dim + a];
  const { values, vectors } = symmetricEigen(moment, dim);
  const rotation = Float32Array.from(vectors);
  const { wideDims, narrowDims } = allocateBits(values, dim);

  const sortedNorms = norms.slice().sort();
  const normMin = Math.max(quantile(sortedNorms, m, 0.001), 1e-6);
  const normMax = Math.max(quantile(sortedNorms, m, 0.999), normMin * 1.0001);
  const codec: ResidualCodec = {
    dim, k, centroids: await o.matmul.multiplyT(plainCentroids, k, rotation, dim, dim), rotation, wideDims, narrowDims,
    cutoffs: new Float32Array(dim * (MAX_BUCKETS - 1)), weights: new Float32Array(dim * MAX_BUCKETS),
    normMin, normMax, normalize: false, trainedOnTokens: o.trainedOnTokens,
  };

  // Per coordinate: cutoffs at equal-mass quantiles, each bucket decoding to its mean.
  const x = await o.matmul.multiplyT(stats, m, rotation, dim, dim); // rotateRows, in onnxruntime
  const scale = Float32Array.from(norms, (len) => normValue(codec, normCode(codec, len)));
  const column = new Float32Array(m);
  for (let d = 0; d < dim; d++) {
    for (let i = 0; i < m; i++) column[i] = (x[i * dim + d] - codec.centroids[ids[i] * dim + d]) / scale[i];
    column.sort();
    const buckets = 1 << codeBits(codec, d);
    for (let b = 1; b < buckets; b++) codec.cutoffs[d * (MAX_BUCKETS - 1) + b - 1] = quantile(column, m, b / buckets);
    for (let b = 0; b < buckets; b++) {
      const lo = Math.floor((b / buckets) * m);
      const hi = Math.min(m, Math.max(lo + 1, Math.floor(((b + 1) / buckets) * m)));
      let sum = 0;
      for (let i = lo; i < hi; i++) sum += column[i];
      codec.weights[d * MAX_BUCKETS + b] = hi > lo ? sum / (hi - lo) : 0;
    }
  }
  let unitNorm = n > 0;
  for (let i = 0; i < n && unitNorm; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += sample[i * dim + d] ** 2;
    if (Math.abs(s - 1) > 1e-3) unitNorm = false;
  }
  codec.normalize = unitNorm;
  return codec;
}

/**
 * How many leading axes get 4 bits and how many 2 bits, in residualBytes(dim) bytes: the split
 * with the least expected squared error (Gaussian quantiser errors × the axes' variances).
 */
function allocateBits(variances: Float64Array, dim: number): { wideDims: number; narrowDims: number } {
  const bytes = residualBytes(dim);
  let best = { wideDims: 0, narrowDims: Math.min(dim, 4 * bytes), error: Infinity };
  for (let wide = 0; wide <= Math.min(dim, 2 * bytes); wide += 2) {
    const narrow = Math.min(dim - wide, 4 * (bytes - wide / 2));
    let error = 0;
    for (let d = 0; d < dim; d++) {
      const bits = d < wide ? 4 : d < wide + narrow ? 2 : 0;
      error += GAUSSIAN_MSE[bits] * Math.max(0, variances[d]);
    }
    if (error < best.error - 1e-12) best = { wideDims: wide, narrowDims: narrow, error };
  }
  return { wideDims: best.wideDims, narrowDims: best.narrowDims };
}

function quantile(sorted: Float32Array, n: number, q: number): number {
  if (n === 0) return 0;
  return sorted[Math.min(n - 1, Math.max(0, Math.floor(q * n)))];
}

/** The byte a residual length is stored as. */
export function normCode(c: Pick<ResidualCodec, 'normMin' | 'normMax'>, norm: number): number {
  if (!(norm > c.normMin)) return 0;
  if (norm >= c.normMax) return NORM_LEVELS;
  return Math.round((Math.log(norm / c.normMin) / Math.log(c.normMax / c.normMin)) * NORM_LEVELS);
}

/** The residual length a stored byte decodes to. */
export function normValue(c: Pick<ResidualCodec, 'normMin' | 'normMax'>, code: number): number {
  return c.normMin * Math.exp((code / NORM_LEVELS) * Math.log(c.normMax / c.normMin));
}

/** Byte and bit position of coordinate d's code within a vector's residual bytes. */
function codeSlot(codec: ResidualCodec, d: number): { byte: number; shift: number } {
  if (d < codec.wideDims) return { byte: d >> 1, shift: (d & 1) * WIDE_BITS };
  const e = d - codec.wideDims;
  return { byte: codec.wideDims / 2 + (e >> 2), shift: (e & 3) * NARROW_BITS };
}

/**
 * Encodes `n` vectors, already in the codec's coordinates (rotateRows), against their centroids
 * `ids`: packed codes into `codes` (residualBytes(dim) a vector, from vector `at` on) and length
 * bytes into `norms`.
 */
export function encodeResiduals(codec: ResidualCodec, rotated: Float32Array, n: number, ids: ArrayLike<number>, codes: Uint8Array, norms: Uint8Array, at = 0): void {
  const D = codec.dim;
  const R = residualBytes(D);
  const coded = codec.wideDims + codec.narrowDims;
  const slots = Array.from({ length: coded }, (_, d) => codeSlot(codec, d));
  const { centroids, cutoffs } = codec;
  for (let i = 0; i < n; i++) {
    const cb = ids[i] * D;
    let s = 0;
    for (let d = 0; d < D; d++) s += (rotated[i * D + d] - centroids[cb + d]) ** 2;
    const code = normCode(codec, Math.sqrt(s));
    norms[at + i] = code;
    const inv = 1 / normValue(codec, code);
    const ob = (at + i) * R;
    codes.fill(0, ob, ob + R);
    for (let d = 0; d < coded; d++) {
      const u = (rotated[i * D + d] - centroids[cb + d]) * inv;
      const buckets = 1 << codeBits(codec, d);
      const c = d * (MAX_BUCKETS - 1);
      let bucket = 0;
      while (bucket < buckets - 1 && u >= cutoffs[c + bucket]) bucket++;
      codes[ob + slots[d].byte] |= bucket << slots[d].shift;
    }
  }
}

/**
 * Rows of vectors [first, first + n) in the codec's coordinates: centroid + length · decoded
 * residual, renormalised when the codec says so. `ids`, `norms` and `codes` are the store's arrays.
 */
export function decodeVectors(codec: ResidualCodec, ids: ArrayLike<number>, norms: Uint8Array, codes: Uint8Array, first: number, n: number, out: Float32Array, outOffset = 0): void {
  const D = codec.dim;
  const R = residualBytes(D);
  const wideBytes = codec.wideDims / 2;
  const coded = codec.wideDims + codec.narrowDims;
  const { centroids } = codec;
  const { table, uncoded, lengths } = tablesOf(codec);
  for (let i = 0; i < n; i++) {
    const j = first + i;
    const cb = ids[j] * D;
    const rb = j * R;
    const ob = outOffset + i * D;
    const len = lengths[norms[j]];
    // Codes are laid out in coordinate order (codeSlot), so one pass over the bytes fills the
    // coded coordinates in order; a byte's values come from one row of the table.
    let d = 0;
    for (let g = 0; g < wideBytes; g++, d += 2) {
      const tb = (g * 256 + codes[rb + g]) * 4;
      out[ob + d] = centroids[cb + d] + len * table[tb];
      out[ob + d + 1] = centroids[cb + d + 1] + len * table[tb + 1];
    }
    for (let g = wideBytes; g < R && d < coded; g++) {
      const tb = (g * 256 + codes[rb + g]) * 4;
      for (let t = 0; t < 4 && d < coded; t++, d++) out[ob + d] = centroids[cb + d] + len * table[tb + t];
    }
    for (; d < D; d++) out[ob + d] = centroids[cb + d] + len * uncoded[d];
    if (codec.normalize) {
      let norm = 0;
      for (let e = 0; e < D; e++) norm += out[ob + e] * out[ob + e];
      if (norm > 0) {
        const inv = 1 / Math.sqrt(norm);
        for (let e = 0; e < D; e++) out[ob + e] *= inv;
      }
    }
  }
}

export interface DecodeTables {
  /** For byte position g and byte value b, slots t < 4: the values of the coordinates it codes, in order. */
  table: Float32Array;
  /** For byte position g, slots t < 4: the coordinate slot t decodes (−1 for an unused slot). */
  dims: Int32Array;
  /** Value of each coordinate that has no code (0 for coded ones). */
  uncoded: Float32Array;
  /** The length each norm byte decodes to. */
  lengths: Float32Array;
}

const decodeTables = new WeakMap<ResidualCodec, DecodeTables>();

/** The lookup tables decodeVectors uses (built once per codec); search kernels score from them. */
export function tablesOf(codec: ResidualCodec): DecodeTables {
  let t = decodeTables.get(codec);
  if (t) return t;
  const D = codec.dim;
  const R = residualBytes(D);
  const dims = new Int32Array(R * 4).fill(-1);
  const shifts = new Int32Array(R * 4);
  const uncoded = new Float32Array(D);
  const fill = new Int32Array(R);
  for (let d = 0; d < D; d++) {
    if (codeBits(codec, d) === 0) {
      uncoded[d] = codec.weights[d * MAX_BUCKETS];
      continue;
    }
    const { byte, shift } = codeSlot(codec, d);
    dims[byte * 4 + fill[byte]] = d;
    shifts[byte * 4 + fill[byte]++] = shift;
  }
  const table = new Float32Array(R * 256 * 4);
  for (let g = 0; g < R; g++) {
    for (let b = 0; b < 256; b++) {
      for (let s = 0; s < 4; s++) {
        const d = dims[g * 4 + s];
        if (d < 0) continue;
        const mask = (1 << codeBits(codec, d)) - 1;
        table[(g * 256 + b) * 4 + s] = codec.weights[d * MAX_BUCKETS + ((b >> shifts[g * 4 + s]) & mask)];
      }
    }
  }
  const lengths = Float32Array.from({ length: NORM_LEVELS + 1 }, (_, c) => normValue(codec, c));
  t = { table, dims, uncoded, lengths };
  decodeTables.set(codec, t);
  return t;
}
