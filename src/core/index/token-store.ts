// What searching needs from the passage token vectors, whatever their encoding: float rows
// for a range of vectors, and each vector's [start, end) span in its file (-1 for marker and
// context tokens). A store may keep its rows in its own orthonormal coordinates: dot products
// are those of the model's vectors once the query rows are mapped with `toStoreSpace`. The workspace index keeps them residual-compressed (compressed-store.ts);
// a free-standing passage and the agreement bench keep exact float32 rows (FloatTokenStore).

export interface TokenStore {
  readonly dim: number;
  readonly count: number;
  /** Writes vectors [first, first + n) as float32 rows into `out` (from `outOffset` floats on). */
  decode(first: number, n: number, out: Float32Array, outOffset?: number): void;
  /** The first `rows` query rows in the coordinates `decode` writes (the rows themselves if those are the model's). */
  toStoreSpace(query: Float32Array, rows: number): Float32Array;
  spanStart(j: number): number;
  spanEnd(j: number): number;
}

/** Exact float32 rows, in flat typed arrays. */
export class FloatTokenStore implements TokenStore {
  constructor(
    readonly dim: number,
    readonly count: number,
    readonly vectors: Float32Array,
    readonly starts: Int32Array,
    readonly ends: Int32Array,
  ) {}

  decode(first: number, n: number, out: Float32Array, outOffset = 0): void {
    out.set(this.vectors.subarray(first * this.dim, (first + n) * this.dim), outOffset);
  }

  toStoreSpace(query: Float32Array): Float32Array {
    return query;
  }

  spanStart(j: number): number {
    return this.starts[j];
  }

  spanEnd(j: number): number {
    return this.ends[j];
  }
}

/** Grows by doubling; `freeze` returns a store trimmed to the used length. */
export class FloatTokenStoreBuilder {
  private vectors: Float32Array;
  private starts: Int32Array;
  private ends: Int32Array;
  count = 0;

  constructor(readonly dim: number, capacity = 1024) {
    this.vectors = new Float32Array(capacity * dim);
    this.starts = new Int32Array(capacity);
    this.ends = new Int32Array(capacity);
  }

  add(vectors: Float32Array, starts: Int32Array, ends: Int32Array): number {
    const n = starts.length;
    if (this.count + n > this.starts.length) {
      let cap = Math.max(1, this.starts.length);
      while (cap < this.count + n) cap *= 2;
      this.vectors = grow(this.vectors, cap * this.dim);
      this.starts = grow(this.starts, cap);
      this.ends = grow(this.ends, cap);
    }
    const first = this.count;
    this.vectors.set(vectors.subarray(0, n * this.dim), first * this.dim);
    this.starts.set(starts, first);
    this.ends.set(ends, first);
    this.count += n;
    return first;
  }

  freeze(): FloatTokenStore {
    const n = this.count;
    return new FloatTokenStore(this.dim, n, this.vectors.slice(0, n * this.dim), this.starts.slice(0, n), this.ends.slice(0, n));
  }
}

/** A copy of `a` in a larger array of the same type. */
export function grow<T extends Uint8Array | Uint16Array | Int32Array | Float32Array>(a: T, size: number): T {
  const b = new (a.constructor as { new (n: number): T })(size);
  b.set(a);
  return b;
}
