// Principal axes of a set of vectors: eigenvectors of their (uncentred) second-moment matrix,
// by cyclic Jacobi rotations (exact to float64 rounding; fine for the dims of a token vector).

/** Eigen-decomposition of a symmetric n × n matrix (row-major): values descending, vectors as rows. */
export function symmetricEigen(matrix: Float64Array, n: number, sweeps = 30): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  // Converged when the off-diagonal mass is negligible next to the whole: a relative bound, as
  // the codec's moment matrices sum thousands of unit outer products (an absolute 1e-30 asked for
  // a sweep or two past float64 rounding there; each sweep at n = 128 costs ~40 ms).
  let total = 0;
  for (let i = 0; i < n * n; i++) total += a[i] ** 2;
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off <= 1e-20 * total) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  // Column j of v is the eigenvector of a[j][j]; return them as rows, largest value first.
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => a[y * n + y] - a[x * n + x] || x - y);
  const values = Float64Array.from(order, (j) => a[j * n + j]);
  const vectors = new Float64Array(n * n);
  order.forEach((j, r) => {
    for (let k = 0; k < n; k++) vectors[r * n + k] = v[k * n + j];
  });
  return { values, vectors };
}
