// Compact storage of passage token vectors: int8 codes + one float32 scale per vector,
// plus each vector's [start, end) span in its file (-1 for marker and context tokens).
// Typed arrays only: no per-vector objects, so 100k passages stay a few flat buffers.

export interface TokenStore {
  dim: number;
  count: number;
  codes: Int8Array;
  scales: Float32Array;
  starts: Int32Array;
  ends: Int32Array;
}

/** Grows by doubling; `freeze` returns a store trimmed to the used length. */
export class TokenStoreBuilder {
  private codes: Int8Array;
  private scales: Float32Array;
  private starts: Int32Array;
  private ends: Int32Array;
  count = 0;

  constructor(readonly dim: number, capacity = 4096) {
    this.codes = new Int8Array(capacity * dim);
    this.scales = new Float32Array(capacity);
    this.starts = new Int32Array(capacity);
    this.ends = new Int32Array(capacity);
  }

  private reserve(n: number): void {
    if (this.count + n <= this.scales.length) return;
    let cap = this.scales.length;
    while (cap < this.count + n) cap *= 2;
    const grow = <T extends Int8Array | Float32Array | Int32Array>(a: T, size: number): T => {
      const b = new (a.constructor as { new (n: number): T })(size);
      b.set(a);
      return b;
    };
    this.codes = grow(this.codes, cap * this.dim);
    this.scales = grow(this.scales, cap);
    this.starts = grow(this.starts, cap);
    this.ends = grow(this.ends, cap);
  }

  /** Quantises float vectors (rows of `dim`) to int8 with a per-vector max-abs scale. */
  addFloat(vectors: Float32Array, starts: Int32Array, ends: Int32Array): number {
    const n = starts.length;
    const D = this.dim;
    this.reserve(n);
    const first = this.count;
    for (let k = 0; k < n; k++) {
      let maxAbs = 0;
      for (let d = 0; d < D; d++) maxAbs = Math.max(maxAbs, Math.abs(vectors[k * D + d]));
      const scale = maxAbs > 0 ? maxAbs / 127 : 1;
      const o = (first + k) * D;
      for (let d = 0; d < D; d++) this.codes[o + d] = Math.round(vectors[k * D + d] / scale);
      this.scales[first + k] = scale;
      this.starts[first + k] = starts[k];
      this.ends[first + k] = ends[k];
    }
    this.count += n;
    return first;
  }

  /** Copies already-quantised vectors [first, first+n) of another store. */
  addFrom(src: TokenStore, first: number, n: number): number {
    this.reserve(n);
    const at = this.count;
    const D = this.dim;
    this.codes.set(src.codes.subarray(first * D, (first + n) * D), at * D);
    this.scales.set(src.scales.subarray(first, first + n), at);
    this.starts.set(src.starts.subarray(first, first + n), at);
    this.ends.set(src.ends.subarray(first, first + n), at);
    this.count += n;
    return at;
  }

  freeze(): TokenStore {
    const n = this.count;
    return {
      dim: this.dim, count: n,
      codes: this.codes.slice(0, n * this.dim), scales: this.scales.slice(0, n),
      starts: this.starts.slice(0, n), ends: this.ends.slice(0, n),
    };
  }
}
