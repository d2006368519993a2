// The workspace index's token vectors, residual-compressed (residual-codec.ts): per vector a
// uint16 centroid id, one byte of residual length (7 bits) and word-start flag (the top bit,
// WORD_START_BIT), and residualBytes(dim) bytes of codes (37 at dim 128) — 40 bytes a vector at
// dim 128. The codec (centroids and bucket tables) is shared by all vectors. No file spans: only
// the ~10 results shown need them, and they are stored with the units' texts (span-code.ts);
// for a unit without them, evidence recovers them from the words of its text, which the flags
// tell its vectors' share of (unit-spans.ts).
//
// The vectors are a sequence of parts (one per segment of the index, index-file.ts): a part
// either holds its arrays in memory (vectors just encoded, not saved yet) or reads residuals
// from its segment file on demand. Centroid ids and length bytes (3 B a vector) stay in memory
// for all parts, concatenated: candidate generation scans the ids, evidence reads the flags.
// Vectors of a part that no unit refers to any more (a changed file's old vectors) are dead
// space until a compaction.
import type { MatMulT } from '../gemm';
import { nearestCentroidsFast } from './kmeans';
import { CentroidShortlist, SHORTLIST_NEIGHBOURS } from './centroid-shortlist';
import { IndexingKernel } from './indexing-kernel';
import { decodeVectors, residualBytes, rotateRows, type ResidualCodec } from './residual-codec';
import { grow, type TokenStore } from './token-store';
import type { Segment, SegmentContent } from './segment-file';
import type { IndexedUnit } from './workspace-index';

/**
 * The top bit of a vector's length byte: its token starts a word of its passage (the first kept
 * token of a BERT pre-tokenizer word; Encoder.keptTokens). Evidence recovers the vectors'
 * file spans from the words of the unit's text with it where a unit has no stored spans
 * (unit-spans.ts); decoding ignores it (the
 * codec's lengths take the low 7 bits, residual-codec.ts).
 */
export const WORD_START_BIT = 0x80;

/** Vectors held in memory: their residual codes, by local token number. */
export interface MemoryPart {
  kind: 'memory';
  count: number;
  residuals: Uint8Array;
}

/** Vectors in a segment file. */
export interface SegmentPart {
  kind: 'segment';
  count: number;
  segment: Segment;
}

export type StorePart = MemoryPart | SegmentPart;

export class CompressedTokenStore implements TokenStore {
  readonly count: number;
  /** First token of each part in the whole store. */
  private readonly bases: number[];

  constructor(
    readonly codec: ResidualCodec,
    /** All parts' centroid ids, concatenated (count entries). */
    readonly centroidIds: Uint16Array,
    /** Length bytes: residual length code (normCode) | WORD_START_BIT, concatenated like the ids. */
    readonly norms: Uint8Array,
    readonly parts: readonly StorePart[],
  ) {
    this.bases = [];
    let n = 0;
    for (const p of parts) {
      this.bases.push(n);
      n += p.count;
    }
    this.count = n;
    if (centroidIds.length !== n || norms.length !== n) throw new Error('CompressedTokenStore: ids and norms must cover every part');
  }

  /** One in-memory part (tests, a fresh build). */
  static inMemory(codec: ResidualCodec, n: number, centroidIds: Uint16Array, norms: Uint8Array, residuals: Uint8Array): CompressedTokenStore {
    return new CompressedTokenStore(codec, centroidIds, norms, n > 0 ? [{ kind: 'memory', count: n, residuals }] : []);
  }

  get dim(): number {
    return this.codec.dim;
  }

  /** Whether vector j's token starts a word of its passage (see WORD_START_BIT). */
  startsWord(j: number): boolean {
    return (this.norms[j] & WORD_START_BIT) !== 0;
  }

  /** First token of part p. */
  baseOf(p: number): number {
    return this.bases[p];
  }

  /** The part holding token j. */
  partOf(j: number): number {
    let lo = 0;
    let hi = this.parts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.bases[mid] <= j) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Calls `fn` for each run of vectors [first, first + n) that lies in one part: the part, the
   * run's first vector in it, its length, and how many vectors of the range came before it.
   */
  private forEachRun(first: number, n: number, fn: (part: StorePart, local: number, m: number, at: number) => void): void {
    for (let at = 0; at < n; ) {
      const p = this.partOf(first + at);
      const part = this.parts[p];
      const local = first + at - this.bases[p];
      const m = Math.min(n - at, part.count - local);
      fn(part, local, m, at);
      at += m;
    }
  }

  decode(first: number, n: number, out: Float32Array, outOffset = 0): void {
    const D = this.codec.dim;
    const R = residualBytes(D);
    this.forEachRun(first, n, (part, local, m, at) => {
      const ids = this.centroidIds.subarray(first + at, first + at + m);
      const norms = this.norms.subarray(first + at, first + at + m);
      const codes = part.kind === 'memory' ? part.residuals.subarray(local * R, (local + m) * R) : part.segment.residuals(local, m);
      decodeVectors(this.codec, ids, norms, codes, 0, m, out, outOffset + at * D);
    });
  }

  /** Copies the length and code bytes of vectors [first, first + n) (what the search kernel reads). */
  readCodes(first: number, n: number, norms: Uint8Array, codes: Uint8Array): void {
    const R = residualBytes(this.codec.dim);
    norms.set(this.norms.subarray(first, first + n));
    this.forEachRun(first, n, (part, local, m, at) => {
      const out = codes.subarray(at * R, (at + m) * R);
      // a segment's codes go from the page cache straight into `out` (the kernel's memory)
      if (part.kind === 'memory') out.set(part.residuals.subarray(local * R, (local + m) * R));
      else part.segment.readResiduals(local, m, out);
    });
  }

  toStoreSpace(query: Float32Array, rows: number): Float32Array {
    return rotateRows(this.codec.rotation, query, rows, this.codec.dim);
  }

  /** Vectors [first, first + n) exactly as stored (for copying them bit for bit). */
  raw(first: number, n: number): { centroidIds: Uint16Array; norms: Uint8Array; residuals: Uint8Array } {
    const R = residualBytes(this.codec.dim);
    const out = { centroidIds: this.centroidIds.slice(first, first + n), norms: this.norms.slice(first, first + n), residuals: new Uint8Array(n * R) };
    this.forEachRun(first, n, (part, local, m, at) => {
      if (part.kind === 'memory') out.residuals.set(part.residuals.subarray(local * R, (local + m) * R), at * R);
      else out.residuals.set(part.segment.residuals(local, m).subarray(0, m * R), at * R);
    });
    return out;
  }

  /** Bytes a vector takes in the flat arrays (the codec is shared and counted apart). */
  static bytesPerVector(dim: number): number {
    return 2 + 1 + residualBytes(dim);
  }
}

/**
 * A store built from a base store (the previous index's) plus new vectors: vectors of the base
 * that are kept stay where they are (addFrom returns their position unchanged, nothing is
 * copied), new ones go into one new in-memory part after the base's parts. Without a base, or
 * for another store, addFrom copies bit for bit. Grows by doubling. `freeze` ends the build: the
 * store it returns takes the in-memory part's residuals as they are, without a copy (at the end of
 * the 100k speed workspace's build the copy was ~150 MB on top of the peak), capacity and all; a
 * build whose index is saved drops it for the saved one.
 */
export class CompressedStoreBuilder {
  private centroidIds: Uint16Array;
  private norms: Uint8Array;
  private residuals: Uint8Array;
  private readonly rowBytes: number;
  /** Vectors in the new in-memory part. */
  private added = 0;
  /** Parts already written out by spill(), after the base's, with their ids and lengths. */
  private readonly spilled: Array<{ part: SegmentPart; centroidIds: Uint16Array; norms: Uint8Array }> = [];
  private spilledCount = 0;
  /** Vectors of the base that some unit still uses (the rest is dead space). */
  baseLive = 0;
  /** Centroids by token id, for addFloat's vectors that come with their token ids. */
  shortlist: CentroidShortlist | undefined;
  /** Set by freeze: the residuals are the frozen store's now. */
  private frozen = false;
  /** addFloat's assignment and residual coding in WebAssembly (made on first use). */
  private kernel: IndexingKernel | undefined;
  /** addFloat's rotated rows, and whether a call is under way (its arrays are the builder's). */
  private rotated = new Float32Array(0);
  private adding = false;

  /**
   * `neighbours`: the codec's centroid neighbour graph, when the caller computed it already (a
   * build that trained the codec): the token shortlists then start with the first vector.
   */
  constructor(readonly codec: ResidualCodec, capacity = 4096, readonly base?: CompressedTokenStore, private readonly neighbours?: Int32Array) {
    if (base && base.codec !== codec) throw new Error('the base store must have the same codec');
    this.rowBytes = residualBytes(codec.dim);
    this.centroidIds = new Uint16Array(capacity);
    this.norms = new Uint8Array(capacity);
    this.residuals = new Uint8Array(capacity * this.rowBytes);
  }

  /** Number of the next vector added (the base's and the spilled parts' vectors come first). */
  get count(): number {
    return this.partBase + this.added;
  }

  /** Vectors in the in-memory part (what spill() would write out). */
  get inMemory(): number {
    return this.added;
  }

  /** Vectors written out by spill() so far. */
  get spilledVectors(): number {
    return this.spilledCount;
  }

  /** Number of the in-memory part's first vector in the whole store. */
  private get partBase(): number {
    return (this.base?.count ?? 0) + this.spilledCount;
  }

  private reserve(n: number): void {
    if (this.added + n <= this.centroidIds.length) return;
    let cap = Math.max(1, this.centroidIds.length);
    while (cap < this.added + n) cap *= 2;
    this.centroidIds = grow(this.centroidIds, cap);
    this.norms = grow(this.norms, cap);
    this.residuals = grow(this.residuals, cap * this.rowBytes);
  }

  /**
   * Compresses `n` float vectors (rows of dim) with the codec; returns the index of the first.
   * Callers pass many units at once: the centroid assignment is one matrix product per call.
   * With the vectors' token ids, most vectors are assigned from their token's shortlist of
   * centroids (centroid-shortlist.ts) and the rest by that product. `wordStarts` (one entry a
   * vector, non-zero: the token starts a word; Encoder.keptTokens) sets the vectors'
   * word-start flags.
   */
  async addFloat(vectors: Float32Array, n: number, matmul: MatMulT, tokenIds?: ArrayLike<number>, wordStarts?: Uint8Array): Promise<number> {
    this.notFrozen();
    if (wordStarts && wordStarts.length !== n) throw new Error(`addFloat: ${wordStarts.length} word-start flags for ${n} vectors`);
    const { codec } = this;
    // Into the codec's coordinates: rows of vectors · rotationᵀ, into an array kept from call to
    // call (see MatMulT.multiplyT's `into`; nothing of it is kept past the call).
    if (this.adding) throw new Error('CompressedStoreBuilder.addFloat: one call at a time');
    this.adding = true;
    try {
      if (this.rotated.length < n * codec.dim) this.rotated = new Float32Array(Math.max(n * codec.dim, 2 * this.rotated.length));
      return await this.addRotated(await matmul.multiplyT(vectors, n, codec.rotation, codec.dim, codec.dim, this.rotated), n, matmul, tokenIds, wordStarts);
    } finally {
      this.adding = false;
    }
  }

  private async addRotated(rotated: Float32Array, n: number, matmul: MatMulT, tokenIds?: ArrayLike<number>, wordStarts?: Uint8Array): Promise<number> {
    const { codec } = this;
    const exact = (rows: Float32Array, m: number): Promise<Int32Array> => nearestCentroidsFast(rows, m, codec.centroids, codec.k, codec.dim, matmul);
    this.kernel ??= new IndexingKernel(codec, SHORTLIST_NEIGHBOURS);
    this.kernel.loadRows(rotated, n);
    let ids: Int32Array;
    if (tokenIds && codec.k > 0) {
      this.shortlist ??= new CentroidShortlist(this.kernel, matmul, this.neighbours);
      ids = await this.shortlist.assign(rotated, n, tokenIds, exact);
    } else {
      ids = await exact(rotated, n);
    }
    this.reserve(n);
    const first = this.added;
    this.centroidIds.set(ids, first);
    // (encodeResiduals, in WebAssembly)
    this.kernel.encode(ids, this.residuals, this.norms, first);
    if (wordStarts) for (let i = 0; i < n; i++) if (wordStarts[i]) this.norms[first + i] |= WORD_START_BIT;
    this.added += n;
    return this.partBase + first;
  }

  /**
   * Vectors [first, first + n) of a store with the same codec: the base's stay in place (their
   * number is returned unchanged), any other store's are copied bit for bit.
   */
  addFrom(src: CompressedTokenStore, first: number, n: number): number {
    this.notFrozen();
    if (src.codec !== this.codec) throw new Error('addFrom needs a store with the same codec');
    if (src === this.base) {
      this.baseLive += n;
      return first;
    }
    const raw = src.raw(first, n);
    this.reserve(n);
    const at = this.added;
    const R = this.rowBytes;
    this.centroidIds.set(raw.centroidIds, at);
    this.norms.set(raw.norms, at);
    this.residuals.set(raw.residuals, at * R);
    this.added += n;
    return this.partBase + at;
  }

  /**
   * Writes the in-memory part out (`write` makes a segment of it) and goes on with an empty
   * one, so that a large first build holds at most one part's codes in memory.
   * `units` are the units whose vectors are in that part, in token order, covering it; returns
   * where each now is in the segment (unit number there).
   */
  spill(units: readonly IndexedUnit[], write: (content: SegmentContent) => Segment): { segment: Segment; local: number[] } | undefined {
    this.notFrozen();
    const n = this.added;
    if (n === 0) return undefined;
    const base = this.partBase;
    let at = base;
    for (const u of units) {
      if (u.tokenFirst !== at) throw new Error('spill: the units must cover the in-memory part in token order');
      at += u.tokenCount;
    }
    if (at !== base + n) throw new Error('spill: the units must cover the in-memory part');
    const segment = write({
      residualBytes: this.rowBytes, tokens: n, centroidIds: this.centroidIds.subarray(0, n), norms: this.norms.subarray(0, n),
      residuals: this.residuals.subarray(0, n * this.rowBytes),
      units: units.map((u) => ({ unit: u, tokenFirst: u.tokenFirst - base, tokenCount: u.tokenCount })),
    });
    this.spilled.push({ part: { kind: 'segment', count: n, segment }, centroidIds: this.centroidIds.slice(0, n), norms: this.norms.slice(0, n) });
    this.spilledCount += n;
    // The next part reuses the arrays, grown as they are: the segment is on disk (read back from
    // there), and the part's ids and lengths were copied above (fresh arrays regrown by doubling
    // after each spill counted toward V8's limit, see MatMulT.multiplyT).
    this.added = 0;
    return { segment, local: units.map((_, k) => k) };
  }

  private notFrozen(): void {
    if (this.frozen) throw new Error('CompressedStoreBuilder: used after freeze');
  }

  freeze(): CompressedTokenStore {
    this.notFrozen();
    this.frozen = true;
    const n = this.added;
    const base = this.base;
    const tail: StorePart[] = n > 0 ? [{ kind: 'memory', count: n, residuals: this.residuals.subarray(0, n * this.rowBytes) }] : [];
    if (!base && this.spilled.length === 0) return new CompressedTokenStore(this.codec, this.centroidIds.slice(0, n), this.norms.slice(0, n), tail);
    const total = this.partBase + n;
    const ids = new Uint16Array(total);
    const norms = new Uint8Array(total);
    let at = 0;
    if (base) {
      ids.set(base.centroidIds);
      norms.set(base.norms);
      at = base.count;
    }
    for (const sp of this.spilled) {
      ids.set(sp.centroidIds, at);
      norms.set(sp.norms, at);
      at += sp.part.count;
    }
    ids.set(this.centroidIds.subarray(0, n), at);
    norms.set(this.norms.subarray(0, n), at);
    return new CompressedTokenStore(this.codec, ids, norms, [...(base?.parts ?? []), ...this.spilled.map((sp) => sp.part), ...tail]);
  }
}
