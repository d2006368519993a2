// The workspace index's token vectors, residual-compressed (residual-codec.ts), in flat typed
// arrays: per vector a uint16 centroid id, one byte of residual length, residualBytes(dim)
// bytes of 2-bit codes (32 at dim 128), and its file span as int32 start + uint8 length —
// 40 bytes a vector at dim 128. The codec (centroids and bucket tables) is shared by all vectors.
import type { MatMulT } from '../gemm';
import { nearestCentroids } from './kmeans';
import { decodeVectors, encodeResiduals, residualBytes, rotateRows, type ResidualCodec } from './residual-codec';
import { grow, type TokenStore } from './token-store';

/**
 * Longest span a vector records. Word pieces are far shorter; only an [UNK] standing for a very
 * long "word" (a hash, a base64 run) is clipped, and evidence widens highlights to whole words.
 */
const MAX_SPAN_LENGTH = 0xff;

export class CompressedTokenStore implements TokenStore {
  constructor(
    readonly codec: ResidualCodec,
    readonly count: number,
    readonly centroidIds: Uint16Array,
    /** Residual length codes (see normCode). */
    readonly norms: Uint8Array,
    readonly residuals: Uint8Array,
    /** File offset of the vector's token, -1 for marker and context tokens. */
    readonly starts: Int32Array,
    readonly lengths: Uint8Array,
  ) {}

  get dim(): number {
    return this.codec.dim;
  }

  decode(first: number, n: number, out: Float32Array, outOffset = 0): void {
    decodeVectors(this.codec, this.centroidIds, this.norms, this.residuals, first, n, out, outOffset);
  }

  /** Copies the length and code bytes of vectors [first, first + n) (what the search kernel reads). */
  readCodes(first: number, n: number, norms: Uint8Array, codes: Uint8Array): void {
    const R = residualBytes(this.codec.dim);
    norms.set(this.norms.subarray(first, first + n));
    codes.set(this.residuals.subarray(first * R, (first + n) * R));
  }

  toStoreSpace(query: Float32Array, rows: number): Float32Array {
    return rotateRows(this.codec.rotation, query, rows, this.codec.dim);
  }

  spanStart(j: number): number {
    return this.starts[j];
  }

  spanEnd(j: number): number {
    return this.starts[j] < 0 ? -1 : this.starts[j] + this.lengths[j];
  }

  /** Bytes a vector takes in the flat arrays (the codec is shared and counted apart). */
  static bytesPerVector(dim: number): number {
    return 2 + 1 + residualBytes(dim) + 4 + 1;
  }
}

/** Grows by doubling; `freeze` returns a store trimmed to the used length. */
export class CompressedStoreBuilder {
  private centroidIds: Uint16Array;
  private norms: Uint8Array;
  private residuals: Uint8Array;
  private starts: Int32Array;
  private lengths: Uint8Array;
  private readonly rowBytes: number;
  count = 0;

  constructor(readonly codec: ResidualCodec, capacity = 4096) {
    this.rowBytes = residualBytes(codec.dim);
    this.centroidIds = new Uint16Array(capacity);
    this.norms = new Uint8Array(capacity);
    this.residuals = new Uint8Array(capacity * this.rowBytes);
    this.starts = new Int32Array(capacity);
    this.lengths = new Uint8Array(capacity);
  }

  private reserve(n: number): void {
    if (this.count + n <= this.starts.length) return;
    let cap = Math.max(1, this.starts.length);
    while (cap < this.count + n) cap *= 2;
    this.centroidIds = grow(this.centroidIds, cap);
    this.norms = grow(this.norms, cap);
    this.residuals = grow(this.residuals, cap * this.rowBytes);
    this.starts = grow(this.starts, cap);
    this.lengths = grow(this.lengths, cap);
  }

  /**
   * Compresses float vectors (rows of dim) with the codec; returns the index of the first.
   * Callers pass many units at once: the centroid assignment is one matrix product per call.
   */
  async addFloat(vectors: Float32Array, starts: Int32Array, ends: Int32Array, matmul: MatMulT): Promise<number> {
    const n = starts.length;
    const { codec } = this;
    // Into the codec's coordinates: rows of vectors · rotationᵀ.
    const rotated = await matmul.multiplyT(vectors, n, codec.rotation, codec.dim, codec.dim);
    const ids = await nearestCentroids(rotated, n, codec.centroids, codec.k, codec.dim, matmul);
    this.reserve(n);
    const first = this.count;
    this.centroidIds.set(ids, first);
    encodeResiduals(codec, rotated, n, ids, this.residuals, this.norms, first);
    for (let k = 0; k < n; k++) {
      this.starts[first + k] = starts[k] < 0 ? -1 : starts[k];
      this.lengths[first + k] = starts[k] < 0 ? 0 : Math.min(MAX_SPAN_LENGTH, Math.max(0, ends[k] - starts[k]));
    }
    this.count += n;
    return first;
  }

  /** Copies compressed vectors [first, first + n) of a store with the same codec, bit for bit. */
  addFrom(src: CompressedTokenStore, first: number, n: number): number {
    if (src.codec !== this.codec) throw new Error('addFrom needs a store with the same codec');
    this.reserve(n);
    const at = this.count;
    const R = this.rowBytes;
    this.centroidIds.set(src.centroidIds.subarray(first, first + n), at);
    this.norms.set(src.norms.subarray(first, first + n), at);
    this.residuals.set(src.residuals.subarray(first * R, (first + n) * R), at * R);
    this.starts.set(src.starts.subarray(first, first + n), at);
    this.lengths.set(src.lengths.subarray(first, first + n), at);
    this.count += n;
    return at;
  }

  freeze(): CompressedTokenStore {
    const n = this.count;
    return new CompressedTokenStore(this.codec, n, this.centroidIds.slice(0, n), this.norms.slice(0, n), this.residuals.slice(0, n * this.rowBytes), this.starts.slice(0, n), this.lengths.slice(0, n));
  }
}
