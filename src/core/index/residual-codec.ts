// ColBERTv2-style residual compression of token vectors: each vector is stored as the id of
// its nearest centroid plus its residual (vector − centroid) quantised to about 2.3 bits a
// dimension, with bucket tables trained on held-out residuals. Departures from ColBERTv2, each
// measured on the fastify bench (top-10 agreement of exact MaxSim on decoded vectors with exact
// float32 MaxSim; and the mean squared error of the decoded unit vectors):
// - gain–shape: the residual's length is kept apart (7 bits of a byte, log scale; the byte's top
//   bit is the token's word-start flag) and the codes quantise the residual divided by it, so
//   tight and loose clusters both use all buckets (0.86 → 0.89);
// - the residual is coded along its principal axes (a rotation trained on held-out residuals),
//   whose variances differ by three orders of magnitude; each axis gets the number of bits (0 to
//   MAX_CODE_BITS) that lowers the measured error most, within the same bytes (transform
//   coding): 0.930 → 0.939, error 0.024 → 0.015, against 4, 2 or 0 bits an axis;
// - each axis has its own Lloyd–Max quantiser (cutoffs halfway between bucket values, a bucket
//   decoding to the mean of its training residuals), not equal-mass buckets: error −23 %;
// - the codes take 37 bytes at 128 dimensions, the 32 of 2 bits a dimension plus the 5 a token's
//   text span used to take beside it (spans are now stored packed with the units' texts, about
//   2 bytes a vector, span-code.ts): with the above, 0.951 and error 0.0100.
// Everything the codec stores lives in its rotated coordinates: dot products are unchanged as
// long as the query is rotated too (rotateRows).
import { multiplyTSync, type MatMulT } from '../gemm';
import { nearestCentroids, sphericalKMeans } from './kmeans';
import { symmetricEigen } from './pca';

/** Most bits one coordinate's code has (64 buckets): more never paid off in the measurements. */
export const MAX_CODE_BITS = 6;
/** Table slots per coordinate: enough for the widest code. */
export const MAX_BUCKETS = 1 << MAX_CODE_BITS;
/** Coordinates whose codes share one byte, at most: a byte's decode-table row holds 4 values. */
const SLOTS_PER_BYTE = 4;
/** Bytes a vector's span took before spans were recomputed from the text: they now hold codes. */
const SPAN_BYTES = 5;
/**
 * Residual lengths are stored in the low 7 bits of a byte: 128 steps between normMin and normMax,
 * log scale (the top bit is the vector's word-start flag, compressed-store.ts). 256 steps measured no
 * better on the fastify bench: the same codec's decoded vectors had a mean squared error of
 * 0.009401 with 128, 0.009400 with 256 (a sample of 22.7k vectors); exhaustive top-10 agreement
 * was 0.947 and 0.953 with 128, 0.954 and 0.944 with 256 (codec seeds 12345 and 12346: the
 * spread is the ranking's sensitivity, not the lengths'), the hybrid ranking's 0.959 and 0.953
 * against 0.956 and 0.957.
 */
const NORM_LEVELS = 127;
/** The length bits of a stored length byte (the top bit is the store's: compressed-store.ts WORD_START_BIT). */
const NORM_CODE_MASK = 0x7f;
/** Lloyd iterations per coordinate and bit width (they settle well before; each is O(buckets · log n)). */
const LLOYD_ITERATIONS = 30;

export interface ResidualCodec {
  dim: number;
  /** Number of centroids (≤ 65536: ids are stored as uint16). */
  k: number;
  /** k × dim, unit-norm rows, in rotated coordinates. */
  centroids: Float32Array;
  /** dim × dim, orthonormal rows (principal axes, strongest first): stored coordinates x = rotation · v. */
  rotation: Float32Array;
  /** Bits of each coordinate's code, 0 to MAX_CODE_BITS (0: no code; it decodes to weights[d][0]); packed by codeLayout. */
  bits: Uint8Array;
  /** dim × (MAX_BUCKETS − 1): coordinate d's scaled residual u falls in bucket #{b < 2^bits − 1 : u ≥ cutoffs[d(MAX_BUCKETS − 1) + b]}. */
  cutoffs: Float32Array;
  /** dim × MAX_BUCKETS: the scaled residual bucket b of coordinate d decodes to. */
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

/** Bytes of packed residual codes per vector: 2 bits a dimension, plus the bytes spans took. */
export function residualBytes(dim: number): number {
  return Math.ceil(dim / 4) + SPAN_BYTES;
}

/** Where each coordinate's code sits in a vector's residual bytes (byte −1: no code). */
export interface CodeLayout {
  byte: Int32Array;
  shift: Int32Array;
}

/**
 * Packs the coded coordinates into `bytes` bytes, first fit by decreasing width (ties: lower
 * coordinate first), each byte holding at most 8 bits and SLOTS_PER_BYTE coordinates; a code never
 * straddles two bytes, so a byte decodes by one table row. Undefined when they do not fit.
 * Deterministic: a saved codec stores only the widths.
 */
export function codeLayout(bits: ArrayLike<number>, bytes: number): CodeLayout | undefined {
  const dim = bits.length;
  const byte = new Int32Array(dim).fill(-1);
  const shift = new Int32Array(dim);
  const used = new Int32Array(bytes);
  const slots = new Int32Array(bytes);
  const order = Array.from({ length: dim }, (_, d) => d).filter((d) => bits[d] > 0).sort((a, b) => bits[b] - bits[a] || a - b);
  for (const d of order) {
    let g = 0;
    while (g < bytes && (used[g] + bits[d] > 8 || slots[g] === SLOTS_PER_BYTE)) g++;
    if (g === bytes) return undefined;
    byte[d] = g;
    shift[d] = used[g];
    used[g] += bits[d];
    slots[g]++;
  }
  return { byte, shift };
}

const layouts = new WeakMap<ResidualCodec, CodeLayout>();

/** The codec's layout (its widths fit its bytes: trainCodec and the index loader make sure). */
export function layoutOf(codec: ResidualCodec): CodeLayout {
  let l = layouts.get(codec);
  if (!l) {
    l = codeLayout(codec.bits, residualBytes(codec.dim));
    if (!l) throw new Error(`residual codec: ${codec.bits.reduce((a, b) => a + b, 0)} code bits do not fit ${residualBytes(codec.dim)} bytes`);
    layouts.set(codec, l);
  }
  return l;
}

/**
 * The power of two at or below 32·√tokens, within [64, 65536]: twice ColBERTv2's 16·√tokens,
 * which on the fastify bench (170k vectors: 8192 centroids instead of 4096) raised exact-MaxSim
 * agreement from 0.950 to 0.954 and the hybrid ranking's from 0.946 to 0.954, for a longer codec
 * training. The indexer caps it (MAX_INDEX_CENTROIDS): assignment cost grows with it.
 */
export function centroidCountFor(tokens: number): number {
  const k = 2 ** Math.floor(Math.log2(32 * Math.sqrt(Math.max(1, tokens))));
  return Math.min(MAX_CENTROIDS, Math.max(MIN_CENTROIDS, k));
}

/**
 * Fewest k-means points a centroid should have. The indexer trains on a quarter of a small
 * workspace (so that the encoder goes on meanwhile), and 32·√tokens centroids then had ~3
 * points each at 1,000 passages (4096 centroids, 11k fitted vectors): centroids that are little
 * more than sample vectors, which cost every later assignment as much as useful ones.
 */
export const MIN_POINTS_PER_CENTROID = 4;

/**
 * The power of two at most centroidCountFor(tokens) and at most samplePoints /
 * MIN_POINTS_PER_CENTROID (samplePoints: the vectors k-means fits, hold-out excluded), within
 * [MIN_CENTROIDS, MAX_CENTROIDS].
 */
export function centroidCountForSample(tokens: number, samplePoints: number, minPoints = MIN_POINTS_PER_CENTROID): number {
  const k = centroidCountFor(tokens);
  if (minPoints <= 0) return k;
  const bySample = 2 ** Math.floor(Math.log2(Math.max(1, samplePoints / minPoints)));
  return Math.max(MIN_CENTROIDS, Math.min(k, bySample));
}

/** Vectors k-means fits out of a training sample of n (the rest are held out: trainCodec). */
export function fittedPoints(n: number): number {
  return n >= MIN_SAMPLE_FOR_HOLD_OUT ? n - Math.floor(n / HELD_OUT_EVERY) : n;
}

function identity(dim: number): Float32Array {
  const r = new Float32Array(dim * dim);
  for (let d = 0; d < dim; d++) r[d * dim + d] = 1;
  return r;
}

/** A codec without centroids, for an index without vectors. */
export function emptyCodec(dim: number): ResidualCodec {
  return {
    dim, k: 0, centroids: new Float32Array(0), rotation: identity(dim), bits: new Uint8Array(dim),
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
  const fit = fittedPoints(n);
  const holdOut = fit < n;
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
  const sortedNorms = norms.slice().sort();
  const normMin = Math.max(quantile(sortedNorms, m, 0.001), 1e-6);
  const normMax = Math.max(quantile(sortedNorms, m, 0.999), normMin * 1.0001);
  const codec: ResidualCodec = {
    dim, k, centroids: await o.matmul.multiplyT(plainCentroids, k, rotation, dim, dim), rotation, bits: new Uint8Array(dim),
    cutoffs: new Float32Array(dim * (MAX_BUCKETS - 1)), weights: new Float32Array(dim * MAX_BUCKETS),
    normMin, normMax, normalize: false, trainedOnTokens: o.trainedOnTokens,
  };

  // Per coordinate and width, a Lloyd–Max quantiser of the scaled residuals and its error; then
  // the widths that lower the summed error most within the bytes (allocateBits).
  const x = await o.matmul.multiplyT(stats, m, rotation, dim, dim); // rotateRows, in onnxruntime
  const scale = Float32Array.from(norms, (len) => normValue(codec, normCode(codec, len)));
  const column = new Float32Array(m);
  const quantisers: ScalarQuantiser[][] = [];
  for (let d = 0; d < dim; d++) {
    for (let i = 0; i < m; i++) column[i] = (x[i * dim + d] - codec.centroids[ids[i] * dim + d]) / scale[i];
    column.sort();
    const sums = prefixSums(column);
    quantisers.push(Array.from({ length: MAX_CODE_BITS + 1 }, (_, b) => lloydMax(column, sums, 1 << b)));
  }
  codec.bits = allocateBits(quantisers.map((q) => q.map((x) => x.error)), residualBytes(dim));
  for (let d = 0; d < dim; d++) {
    const q = quantisers[d][codec.bits[d]];
    codec.cutoffs.set(q.cutoffs, d * (MAX_BUCKETS - 1));
    codec.weights.set(q.weights, d * MAX_BUCKETS);
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

interface ScalarQuantiser {
  cutoffs: Float32Array;
  weights: Float32Array;
  /** Mean squared error on the training values. */
  error: number;
}

/** Prefix sums of the values and of their squares (float64: millions of terms). */
function prefixSums(sorted: Float32Array): { s1: Float64Array; s2: Float64Array } {
  const s1 = new Float64Array(sorted.length + 1);
  const s2 = new Float64Array(sorted.length + 1);
  for (let i = 0; i < sorted.length; i++) {
    s1[i + 1] = s1[i] + sorted[i];
    s2[i + 1] = s2[i] + sorted[i] * sorted[i];
  }
  return { s1, s2 };
}

/** First index of `sorted` whose value is ≥ x. */
function lowerBound(sorted: Float32Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Lloyd–Max quantiser with `buckets` levels for sorted values: from equal-mass buckets, cutoffs
 * move halfway between the bucket values and each value to the mean of its bucket, until they
 * settle. Bucket sums come from prefix sums, so an iteration costs O(buckets · log n).
 */
function lloydMax(sorted: Float32Array, { s1, s2 }: { s1: Float64Array; s2: Float64Array }, buckets: number): ScalarQuantiser {
  const m = sorted.length;
  const cutoffs = new Float32Array(buckets - 1);
  const weights = new Float32Array(buckets);
  const bounds = new Int32Array(buckets + 1); // bucket b holds sorted[bounds[b], bounds[b + 1])
  bounds[buckets] = m;
  const fill = (): void => {
    for (let b = 0; b < buckets; b++) {
      const lo = bounds[b];
      const hi = bounds[b + 1];
      if (hi > lo) weights[b] = (s1[hi] - s1[lo]) / (hi - lo);
      else weights[b] = b > 0 ? weights[b - 1] : m > 0 ? sorted[0] : 0; // empty: keeps the order
    }
  };
  for (let b = 1; b < buckets; b++) bounds[b] = Math.floor((b / buckets) * m);
  fill();
  for (let it = 0; it < LLOYD_ITERATIONS && buckets > 1; it++) {
    let moved = false;
    for (let b = 1; b < buckets; b++) {
      cutoffs[b - 1] = (weights[b - 1] + weights[b]) / 2;
      const at = lowerBound(sorted, cutoffs[b - 1]);
      if (at !== bounds[b]) moved = true;
      bounds[b] = at;
    }
    fill();
    if (!moved) break;
  }
  if (buckets > 1) for (let b = 1; b < buckets; b++) cutoffs[b - 1] = (weights[b - 1] + weights[b]) / 2;
  // The final cutoffs may move a value or two across: the error is that of these cutoffs.
  let error = 0;
  for (let b = 0; b < buckets; b++) {
    const lo = b === 0 ? 0 : lowerBound(sorted, cutoffs[b - 1]);
    const hi = b === buckets - 1 ? m : lowerBound(sorted, cutoffs[b]);
    if (hi > lo) error += s2[hi] - s2[lo] - 2 * weights[b] * (s1[hi] - s1[lo]) + weights[b] * weights[b] * (hi - lo);
  }
  return { cutoffs, weights, error: m > 0 ? Math.max(0, error) / m : 0 };
}

/**
 * Code widths for every coordinate within `bytes` bytes: greedily, the one-bit widening that
 * lowers the measured error most, as long as the widths still pack (codeLayout). `errors[d][b]`
 * is coordinate d's error at b bits; the errors fall with diminishing returns, so greedy is close
 * to the best allocation (reverse water-filling, in whole bits).
 */
function allocateBits(errors: number[][], bytes: number): Uint8Array {
  const dim = errors.length;
  const bits = new Uint8Array(dim);
  const stuck = new Uint8Array(dim);
  let budget = 8 * bytes;
  // Gains below this are rounding noise (an axis without variance): such axes stay uncoded.
  const floor = 1e-9 * errors.reduce((a, e) => a + e[0], 0);
  while (budget > 0) {
    let best = -1;
    let gain = floor;
    for (let d = 0; d < dim; d++) {
      if (stuck[d] || bits[d] === MAX_CODE_BITS) continue;
      const g = errors[d][bits[d]] - errors[d][bits[d] + 1];
      if (g > gain) {
        gain = g;
        best = d;
      }
    }
    if (best < 0) break;
    bits[best]++;
    if (codeLayout(bits, bytes)) {
      budget--;
    } else {
      bits[best]--;
      stuck[best] = 1;
    }
  }
  return bits;
}

function quantile(sorted: Float32Array, n: number, q: number): number {
  if (n === 0) return 0;
  return sorted[Math.min(n - 1, Math.max(0, Math.floor(q * n)))];
}

/** The length code (0…NORM_LEVELS) a residual length is stored as, in a byte's low 7 bits. */
export function normCode(c: Pick<ResidualCodec, 'normMin' | 'normMax'>, norm: number): number {
  if (!(norm > c.normMin)) return 0;
  if (norm >= c.normMax) return NORM_LEVELS;
  return Math.round((Math.log(norm / c.normMin) / Math.log(c.normMax / c.normMin)) * NORM_LEVELS);
}

/** The residual length a stored byte decodes to (its word-start bit ignored). */
export function normValue(c: Pick<ResidualCodec, 'normMin' | 'normMax'>, code: number): number {
  return c.normMin * Math.exp(((code & NORM_CODE_MASK) / NORM_LEVELS) * Math.log(c.normMax / c.normMin));
}

/** Coordinate d's bucket for the scaled residual u: the number of its cutoffs at or below u. */
function bucketOf(cutoffs: Float32Array, at: number, buckets: number, u: number): number {
  let lo = 0;
  let hi = buckets - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (u >= cutoffs[at + mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Cells per axis of the bucket lookup grid (see bucketGridOf). */
export const GRID_CELLS = 256;

/**
 * Per coded axis, a lookup grid for its bucket (IndexingKernel.encode): the grid spans the axis's
 * cutoffs in GRID_CELLS equal cells, each holding the bucket of its left edge, so that a value's
 * bucket is the cell's plus the few cutoffs (usually none) between the edge and the value. The
 * binary search per axis of encodeResiduals (branches the CPU cannot predict) made residual
 * coding in JavaScript ~7 µs a vector in the 10k build's profile, a fifth of encoding the vector;
 * the grid in JavaScript ~3.3, in WebAssembly ~1.9.
 */
export interface BucketGrid {
  /** The coded axes, in order. */
  axes: Int32Array;
  /** Per coded axis: byte and bit shift of its code, number of cutoffs, grid origin and scale. */
  byte: Int32Array;
  shift: Int32Array;
  cuts: Int32Array;
  origin: Float64Array;
  scale: Float64Array;
  /** coded axes × GRID_CELLS buckets. */
  cells: Uint8Array;
}

const grids = new WeakMap<ResidualCodec, BucketGrid>();

export function bucketGridOf(codec: ResidualCodec): BucketGrid {
  let g = grids.get(codec);
  if (g) return g;
  const { byte, shift } = layoutOf(codec);
  const axes = Int32Array.from(Array.from({ length: codec.dim }, (_, d) => d).filter((d) => codec.bits[d] > 0));
  const A = axes.length;
  g = {
    axes, byte: new Int32Array(A), shift: new Int32Array(A), cuts: new Int32Array(A),
    origin: new Float64Array(A), scale: new Float64Array(A), cells: new Uint8Array(A * GRID_CELLS),
  };
  axes.forEach((d, a) => {
    const at = d * (MAX_BUCKETS - 1);
    const cuts = (1 << codec.bits[d]) - 1;
    g!.byte[a] = byte[d];
    g!.shift[a] = shift[d];
    g!.cuts[a] = cuts;
    const lo = codec.cutoffs[at];
    const hi = codec.cutoffs[at + cuts - 1];
    const scale = hi > lo ? GRID_CELLS / (hi - lo) : 0;
    g!.origin[a] = lo;
    g!.scale[a] = scale;
    for (let c = 0; c < GRID_CELLS; c++) {
      // The cell's left edge; the cell's bucket counts the cutoffs at or below it.
      // (a hundredth of a cell low: the rounding of (u − origin) · scale must not put a value
      // below its cell's edge past a cutoff)
      const edge = scale > 0 ? lo + (c - 0.01) / scale : lo;
      g!.cells[a * GRID_CELLS + c] = c === 0 ? 0 : bucketOf(codec.cutoffs, at, cuts + 1, edge);
    }
  });
  grids.set(codec, g);
  return g;
}

/**
 * Encodes `n` vectors, already in the codec's coordinates (rotateRows), against their centroids
 * `ids`: packed codes into `codes` (residualBytes(dim) a vector, from vector `at` on) and length
 * codes into `norms` (word-start bits clear: the store sets them). The definition, by a binary
 * search per axis; the index stores vectors with IndexingKernel.encode, which gives the same
 * bytes faster (its tests compare them).
 */
export function encodeResiduals(codec: ResidualCodec, rotated: Float32Array, n: number, ids: ArrayLike<number>, codes: Uint8Array, norms: Uint8Array, at = 0): void {
  const D = codec.dim;
  const R = residualBytes(D);
  const { byte, shift } = layoutOf(codec);
  const coded = Array.from({ length: D }, (_, d) => d).filter((d) => codec.bits[d] > 0);
  const { centroids, cutoffs, bits } = codec;
  for (let i = 0; i < n; i++) {
    const cb = ids[i] * D;
    let s = 0;
    for (let d = 0; d < D; d++) s += (rotated[i * D + d] - centroids[cb + d]) ** 2;
    const code = normCode(codec, Math.sqrt(s));
    norms[at + i] = code;
    const inv = 1 / normValue(codec, code);
    const ob = (at + i) * R;
    codes.fill(0, ob, ob + R);
    for (const d of coded) {
      const u = (rotated[i * D + d] - centroids[cb + d]) * inv;
      codes[ob + byte[d]] |= bucketOf(cutoffs, d * (MAX_BUCKETS - 1), 1 << bits[d], u) << shift[d];
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
  const { centroids } = codec;
  const { table, dims, uncoded, lengths } = tablesOf(codec);
  for (let i = 0; i < n; i++) {
    const j = first + i;
    const cb = ids[j] * D;
    const rb = j * R;
    const ob = outOffset + i * D;
    const len = lengths[norms[j]];
    // Uncoded coordinates first, then each byte's coordinates from one row of the table.
    for (let d = 0; d < D; d++) out[ob + d] = centroids[cb + d] + len * uncoded[d];
    for (let g = 0; g < R; g++) {
      const tb = (g * 256 + codes[rb + g]) * SLOTS_PER_BYTE;
      for (let t = 0; t < SLOTS_PER_BYTE; t++) {
        const d = dims[g * SLOTS_PER_BYTE + t];
        if (d < 0) break;
        out[ob + d] = centroids[cb + d] + len * table[tb + t];
      }
    }
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
  /** For byte position g and byte value b, slots t < 4: the values of the coordinates it codes, in slot order. */
  table: Float32Array;
  /** For byte position g, slots t < 4: the coordinate slot t decodes (−1 for an unused slot; used slots come first). */
  dims: Int32Array;
  /** Value of each coordinate that has no code (0 for coded ones). */
  uncoded: Float32Array;
  /** The length each of the 256 length bytes decodes to (the word-start bit ignored: the search kernel looks bytes up as they are stored). */
  lengths: Float32Array;
}

const decodeTables = new WeakMap<ResidualCodec, DecodeTables>();

/** The lookup tables decodeVectors uses (built once per codec); search kernels score from them. */
export function tablesOf(codec: ResidualCodec): DecodeTables {
  let t = decodeTables.get(codec);
  if (t) return t;
  const D = codec.dim;
  const R = residualBytes(D);
  const { byte, shift } = layoutOf(codec);
  const dims = new Int32Array(R * SLOTS_PER_BYTE).fill(-1);
  const uncoded = new Float32Array(D);
  const fill = new Int32Array(R);
  for (let d = 0; d < D; d++) {
    if (codec.bits[d] === 0) uncoded[d] = codec.weights[d * MAX_BUCKETS];
    else dims[byte[d] * SLOTS_PER_BYTE + fill[byte[d]]++] = d;
  }
  const table = new Float32Array(R * 256 * SLOTS_PER_BYTE);
  for (let g = 0; g < R; g++) {
    for (let b = 0; b < 256; b++) {
      for (let s = 0; s < SLOTS_PER_BYTE; s++) {
        const d = dims[g * SLOTS_PER_BYTE + s];
        if (d < 0) continue;
        const mask = (1 << codec.bits[d]) - 1;
        table[(g * 256 + b) * SLOTS_PER_BYTE + s] = codec.weights[d * MAX_BUCKETS + ((b >> shift[d]) & mask)];
      }
    }
  }
  const lengths = Float32Array.from({ length: 256 }, (_, b) => normValue(codec, b));
  t = { table, dims, uncoded, lengths };
  decodeTables.set(codec, t);
  return t;
}
