// What searching needs from the passage token vectors, whatever their encoding: float rows
// for a range of vectors. A store may keep its rows in its own orthonormal coordinates: dot products
// are those of the model's vectors once the query rows are mapped with `toStoreSpace`. The workspace index keeps them residual-compressed (compressed-store.ts);
// a free-standing passage and the agreement bench keep exact float32 rows (FloatTokenStore).
// No store keeps the vectors' file spans: they come from the tokenizer (Encoder.keptSpans), at
// encoding time, and for an indexed unit from its segment, where they are stored with its text
// (span-code.ts), or recovered from its text and the compressed store's word-start flags
// (unit-spans.ts).

export interface TokenStore {
  readonly dim: number;
  readonly count: number;
  /** Writes vectors [first, first + n) as float32 rows into `out` (from `outOffset` floats on). */
  decode(first: number, n: number, out: Float32Array, outOffset?: number): void;
  /** The first `rows` query rows in the coordinates `decode` writes (the rows themselves if those are the model's). */
  toStoreSpace(query: Float32Array, rows: number): Float32Array;
}

/** Exact float32 rows, in flat typed arrays. */
export class FloatTokenStore implements TokenStore {
  constructor(
    readonly dim: number,
    readonly count: number,
    readonly vectors: Float32Array,
  ) {}

  decode(first: number, n: number, out: Float32Array, outOffset = 0): void {
    out.set(this.vectors.subarray(first * this.dim, (first + n) * this.dim), outOffset);
  }

  toStoreSpace(query: Float32Array): Float32Array {
    return query;
  }
}

/** Grows by doubling; `freeze` returns a store trimmed to the used length. */
export class FloatTokenStoreBuilder {
  private vectors: Float32Array;
  count = 0;

  constructor(readonly dim: number, capacity = 1024) {
    this.vectors = new Float32Array(capacity * dim);
  }

  /** Appends the first `n` rows of `vectors`; returns the index of the first. */
  add(vectors: Float32Array, n: number): number {
    if ((this.count + n) * this.dim > this.vectors.length) {
      let cap = Math.max(1, this.vectors.length / this.dim);
      while (cap < this.count + n) cap *= 2;
      this.vectors = grow(this.vectors, cap * this.dim);
    }
    const first = this.count;
    this.vectors.set(vectors.subarray(0, n * this.dim), first * this.dim);
    this.count += n;
    return first;
  }

  freeze(): FloatTokenStore {
    const n = this.count;
    return new FloatTokenStore(this.dim, n, this.vectors.slice(0, n * this.dim));
  }
}

/** A copy of `a` in a larger array of the same type. */
export function grow<T extends Uint8Array | Uint16Array | Int32Array | Float32Array>(a: T, size: number): T {
  const b = new (a.constructor as { new (n: number): T })(size);
  b.set(a);
  return b;
}
