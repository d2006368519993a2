// Deterministic spherical k-means (the centroids of the residual codec). Token vectors are
// L2-normalised, so "nearest" is the largest dot product and centroids are renormalised means,
// as ColBERTv2 does. Same seed, same points, same matrix product → the same centroids.
import { quantiseColumns, type Int8Columns, type MatMulT } from '../gemm';
import { mulberry32 } from '../bench/metrics';

/** Largest result block of one matrix product (floats): bounds memory to ~16 MB. */
const MAX_BLOCK_FLOATS = 1 << 22;

const int8Centroids = new WeakMap<Float32Array, Int8Columns>();

/**
 * Like nearestCentroids, by 8-bit products where the backend has them (onnxruntime): what a large
 * index's vectors are assigned with. A near-tie may go to the other centroid, which only makes
 * that vector's residual a little longer; the residual codes stay exact to the centroid chosen.
 */
export async function nearestCentroidsFast(points: Float32Array, n: number, centroids: Float32Array, k: number, dim: number, matmul: MatMulT): Promise<Int32Array> {
  const argmaxInt8T = matmul.argmaxInt8T?.bind(matmul);
  if (!argmaxInt8T || k === 0) return nearestCentroids(points, n, centroids, k, dim, matmul);
  let q = int8Centroids.get(centroids);
  if (!q) int8Centroids.set(centroids, (q = quantiseColumns(centroids, k, dim)));
  const columns = q;
  return inBlocks(points, n, k, dim, new Int32Array(n), (rows, m) => argmaxInt8T(rows, m, columns));
}

/** For each point (row of `points`), the id of the centroid with the largest dot product (lowest id on ties). */
export async function nearestCentroids(points: Float32Array, n: number, centroids: Float32Array, k: number, dim: number, matmul: MatMulT, out = new Int32Array(n)): Promise<Int32Array> {
  return inBlocks(points, n, k, dim, out, async (rows, m) => {
    if (matmul.argmaxT) return matmul.argmaxT(rows, m, centroids, k, dim);
    const s = await matmul.multiplyT(rows, m, centroids, k, dim);
    const best = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      const row = i * k;
      let bestV = s[row];
      for (let c = 1; c < k; c++) {
        if (s[row + c] > bestV) {
          bestV = s[row + c];
          best[i] = c;
        }
      }
    }
    return best;
  });
}

/**
 * Each point's nearest centroid for an iteration of k-means: by 8-bit products where the backend
 * has them (as nearestCentroidsFast, with the centroids quantised afresh: they move between
 * iterations, and that function caches their quantisation). On the 10k speed workspace's
 * 52k-vector sample and 8192 centroids an iteration took ~2.4 s in float32, the codec's training
 * as long as the encoder's backlog lasts.
 */
async function assignPoints(points: Float32Array, n: number, centroids: Float32Array, k: number, dim: number, matmul: MatMulT, out: Int32Array<ArrayBuffer>): Promise<Int32Array> {
  const argmaxInt8T = matmul.argmaxInt8T?.bind(matmul);
  if (!argmaxInt8T) return nearestCentroids(points, n, centroids, k, dim, matmul, out);
  const columns = quantiseColumns(centroids, k, dim);
  return inBlocks(points, n, k, dim, out, (rows, m) => argmaxInt8T(rows, m, columns));
}

/** Runs `assign` on blocks of rows whose products with k centroids fit MAX_BLOCK_FLOATS, into `out`. */
async function inBlocks(points: Float32Array, n: number, k: number, dim: number, out: Int32Array, assign: (rows: Float32Array, m: number) => Promise<Int32Array>): Promise<Int32Array> {
  const rowsPerBlock = Math.max(1, Math.floor(MAX_BLOCK_FLOATS / Math.max(1, k)));
  for (let r0 = 0; r0 < n; r0 += rowsPerBlock) {
    const m = Math.min(rowsPerBlock, n - r0);
    out.set(await assign(points.subarray(r0 * dim, (r0 + m) * dim), m), r0);
  }
  return out;
}

export interface KMeansOptions {
  k: number;
  iterations: number;
  seed: number;
  matmul: MatMulT;
}

/** k unit-norm centroids (row-major k × dim) of the n points; k is clamped to n (at least 1). */
export async function sphericalKMeans(points: Float32Array, n: number, dim: number, o: KMeansOptions): Promise<Float32Array> {
  const k = Math.max(1, Math.min(o.k, n));
  const rand = mulberry32(o.seed);
  const centroids = new Float32Array(k * dim);
  if (n === 0) return centroids;
  // Initial centroids: k distinct points, chosen by a seeded partial Fisher–Yates shuffle.
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let c = 0; c < k; c++) {
    const j = c + Math.floor(rand() * (n - c));
    const t = order[c];
    order[c] = order[j];
    order[j] = t;
    centroids.set(points.subarray(order[c] * dim, (order[c] + 1) * dim), c * dim);
    normalizeRow(centroids, c, dim);
  }
  const assign = new Int32Array(n).fill(-1);
  const next = new Int32Array(n);
  const sums = new Float64Array(k * dim);
  const sizes = new Int32Array(k);
  for (let it = 0; it < o.iterations; it++) {
    await assignPoints(points, n, centroids, k, dim, o.matmul, next);
    let changed = 0;
    for (let i = 0; i < n; i++) if (next[i] !== assign[i]) changed++;
    assign.set(next);
    if (changed === 0) break;
    sums.fill(0);
    sizes.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assign[i];
      sizes[c]++;
      const pb = i * dim;
      const cb = c * dim;
      for (let d = 0; d < dim; d++) sums[cb + d] += points[pb + d];
    }
    for (let c = 0; c < k; c++) {
      if (sizes[c] === 0) {
        // An empty cluster restarts at a random point rather than being wasted.
        const p = Math.floor(rand() * n);
        centroids.set(points.subarray(p * dim, (p + 1) * dim), c * dim);
      } else {
        for (let d = 0; d < dim; d++) centroids[c * dim + d] = sums[c * dim + d];
      }
      normalizeRow(centroids, c, dim);
    }
  }
  return centroids;
}

function normalizeRow(a: Float32Array, row: number, dim: number): void {
  let norm = 0;
  for (let d = 0; d < dim; d++) norm += a[row * dim + d] ** 2;
  if (norm === 0) return;
  const inv = 1 / Math.sqrt(norm);
  for (let d = 0; d < dim; d++) a[row * dim + d] *= inv;
}
