// Seeded random vectors for the numeric tests (with mulberry32 from src/core/bench/metrics): a
// standard normal draw, unit rows of normal coordinates, and a dot product of two rows.

/** A standard normal draw (Box–Muller), two uniforms of `r`. */
export function gauss(r: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
}

/** `n` unit rows of `dim` normal coordinates (uniform directions), row-major. */
export function unitRows(r: () => number, n: number, dim: number): Float32Array {
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += (out[i * dim + d] = gauss(r)) ** 2;
    for (let d = 0; d < dim; d++) out[i * dim + d] /= Math.sqrt(s);
  }
  return out;
}

/** The dot product of `dim` entries of a from `ao` and of b from `bo`. */
export function dot(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, dim: number): number {
  let s = 0;
  for (let d = 0; d < dim; d++) s += a[ao + d] * b[bo + d];
  return s;
}
