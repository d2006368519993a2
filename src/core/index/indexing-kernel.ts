// The WebAssembly side of storing encoded vectors (indexing.wat): centroid assignment from
// candidate lists (centroid-shortlist.ts) and residual coding (residual-codec.ts's
// encodeResiduals, bit for bit). One kernel per codec: the centroids, the residual coder's
// lookup grids and the centroids' neighbour lists stay in its memory; each batch's rows are
// copied in once (loadRows) and serve both steps.
import { INDEXING_WASM_BASE64 } from '../search/simd/indexing-wasm';
import { align16, compileKernel, ensureMemory, instantiate, type WasmMemory } from '../search/simd/wasm';
import { bucketGridOf, GRID_CELLS, MAX_BUCKETS, normCode, normValue, residualBytes, type ResidualCodec } from './residual-codec';

type AssignFn = (C: number, dim16: number, nb: number, M: number, climbs: number, rows: number, which: number, n: number, lists: number, cand: number, out: number, score: number) => number;
type LengthsFn = (C: number, dim: number, rows: number, ids: number, n: number, out: number) => void;
type CodesFn = (
  C: number, dim: number, rows: number, ids: number, n: number, inv: number,
  A: number, axes: number, byte: number, shift: number, cuts: number, origin: number, scale: number, cells: number, cutoffs: number,
  R: number, out: number,
) => void;

let compiled: object | undefined;

export class IndexingKernel {
  private readonly memory: WasmMemory;
  private readonly assignFn: AssignFn;
  private readonly lengthsFn: LengthsFn;
  private readonly codesFn: CodesFn;
  private readonly dim: number;
  private readonly R: number;
  // static regions (byte offsets)
  private readonly C: number;
  private readonly grid: { A: number; axes: number; byte: number; shift: number; cuts: number; origin: number; scale: number; cells: number; cutoffs: number };
  private readonly nb: number;
  private readonly batch: number;
  private neighbours = 0;
  // the loaded batch
  private rowsAt = 0;
  private n = 0;
  private free = 0;

  /** Whether assign takes vectors of this dimension (whole groups of 16 floats). */
  static assignFits(dim: number): boolean {
    return dim > 0 && dim % 16 === 0;
  }

  /** `maxNeighbours`: room for that many neighbours a centroid (setNeighbours). */
  constructor(readonly codec: ResidualCodec, readonly maxNeighbours = 0) {
    compiled ??= compileKernel(INDEXING_WASM_BASE64, 'Indexing');
    const instance = instantiate(compiled);
    this.memory = instance.exports.memory as WasmMemory;
    this.assignFn = instance.exports.assign as AssignFn;
    this.lengthsFn = instance.exports.lengths as LengthsFn;
    this.codesFn = instance.exports.codes as CodesFn;
    const { k, dim } = codec;
    this.dim = dim;
    this.R = residualBytes(dim);
    const g = bucketGridOf(codec);
    const A = g.axes.length;
    let at = 64;
    const take = (bytes: number): number => {
      const off = at;
      at = align16(at + bytes);
      return off;
    };
    this.C = take(k * dim * 4);
    this.grid = {
      A, axes: take(A * 4), byte: take(A * 4), shift: take(A * 4), cuts: take(A * 4),
      origin: take(A * 8), scale: take(A * 8), cells: take(A * GRID_CELLS), cutoffs: take(dim * (MAX_BUCKETS - 1) * 4),
    };
    this.nb = take(k * maxNeighbours * 4);
    this.batch = at;
    ensureMemory(this.memory, this.batch);
    const buf = this.memory.buffer;
    new Float32Array(buf, this.C, k * dim).set(codec.centroids.subarray(0, k * dim));
    new Int32Array(buf, this.grid.axes, A).set(g.axes);
    new Int32Array(buf, this.grid.byte, A).set(g.byte);
    new Int32Array(buf, this.grid.shift, A).set(g.shift);
    new Int32Array(buf, this.grid.cuts, A).set(g.cuts);
    new Float64Array(buf, this.grid.origin, A).set(g.origin);
    new Float64Array(buf, this.grid.scale, A).set(g.scale);
    new Uint8Array(buf, this.grid.cells, A * GRID_CELLS).set(g.cells);
    new Float32Array(buf, this.grid.cutoffs, dim * (MAX_BUCKETS - 1)).set(codec.cutoffs);
  }

  /** Each centroid's M ≤ maxNeighbours nearest other centroids (k × M), for assign's climb. */
  setNeighbours(neighbours: Int32Array, M: number): void {
    if (M > this.maxNeighbours) throw new RangeError(`IndexingKernel: room for ${this.maxNeighbours} neighbours, not ${M}`);
    new Int32Array(this.memory.buffer, this.nb, this.codec.k * M).set(neighbours.subarray(0, this.codec.k * M));
    this.neighbours = M;
  }

  /** Copies in the batch's n rows (dim floats each, in the codec's coordinates) for assign and encode. */
  loadRows(rows: Float32Array, n: number): void {
    this.rowsAt = this.batch;
    this.n = n;
    this.free = align16(this.rowsAt + n * this.dim * 4);
    ensureMemory(this.memory, this.free);
    new Float32Array(this.memory.buffer, this.rowsAt, n * this.dim).set(rows.subarray(0, n * this.dim));
  }

  /**
   * For loaded rows `which[i]`, the best of their candidates (cand[lists[2i], +lists[2i + 1]),
   * not empty), then up to `climbs` steps to a nearer neighbour. Writes `out` and the chosen
   * centroid's dot product with the row into `score`; returns the number of centroids compared.
   */
  assign(which: Int32Array, lists: Int32Array, cand: Int32Array, climbs: number, out: Int32Array, score: Float32Array): number {
    if (!IndexingKernel.assignFits(this.dim)) throw new RangeError(`IndexingKernel.assign: dim ${this.dim} is not a multiple of 16`);
    const n = which.length;
    const whichAt = this.free;
    const listsAt = align16(whichAt + n * 4);
    const outAt = align16(listsAt + n * 8);
    const scoreAt = align16(outAt + n * 4);
    const candAt = align16(scoreAt + n * 4);
    ensureMemory(this.memory, candAt + cand.length * 4);
    const buf = this.memory.buffer;
    new Int32Array(buf, whichAt, n).set(which);
    new Int32Array(buf, listsAt, 2 * n).set(lists.subarray(0, 2 * n));
    new Int32Array(buf, candAt, cand.length).set(cand);
    const compared = this.assignFn(this.C, this.dim / 16, this.nb, this.neighbours, this.neighbours > 0 ? climbs : 0, this.rowsAt, whichAt, n, listsAt, candAt, outAt, scoreAt);
    out.set(new Int32Array(buf, outAt, n));
    score.set(new Float32Array(buf, scoreAt, n));
    return compared;
  }

  /**
   * encodeResiduals (residual-codec.ts) of the loaded rows against centroids `ids`: length bytes
   * into norms[at…], codes into codes[at · R…].
   */
  encode(ids: Int32Array, codes: Uint8Array, norms: Uint8Array, at = 0): void {
    const n = this.n;
    const R = this.R;
    const idsAt = this.free;
    const lengthsAt = align16(idsAt + n * 4);
    const invAt = align16(lengthsAt + n * 8);
    const outAt = align16(invAt + n * 8);
    ensureMemory(this.memory, outAt + n * R);
    const buf = this.memory.buffer;
    new Int32Array(buf, idsAt, n).set(ids.subarray(0, n));
    this.lengthsFn(this.C, this.dim, this.rowsAt, idsAt, n, lengthsAt);
    // The length byte by Math.log, as normCode defines it; the codes scale by its length.
    const lengths = new Float64Array(buf, lengthsAt, n);
    const inv = new Float64Array(buf, invAt, n);
    for (let i = 0; i < n; i++) {
      const code = normCode(this.codec, lengths[i]);
      norms[at + i] = code;
      inv[i] = 1 / normValue(this.codec, code);
    }
    const g = this.grid;
    this.codesFn(this.C, this.dim, this.rowsAt, idsAt, n, invAt, g.A, g.axes, g.byte, g.shift, g.cuts, g.origin, g.scale, g.cells, g.cutoffs, R, outAt);
    codes.set(new Uint8Array(buf, outAt, n * R), at * R);
  }
}
