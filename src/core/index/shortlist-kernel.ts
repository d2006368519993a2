// The WebAssembly side of centroid-shortlist.ts: the centroids and their neighbour lists live in
// the kernel's memory; each call copies in the rows to assign and their candidate lists.
import { SHORTLIST_WASM_BASE64 } from '../search/simd/shortlist-wasm';
import { align16, compileKernel, ensureMemory, instantiate, type WasmMemory } from '../search/simd/wasm';

type AssignFn = (C: number, dim16: number, nb: number, M: number, climbs: number, rows: number, n: number, lists: number, cand: number, out: number, score: number) => number;

let compiled: object | undefined;

export class ShortlistKernel {
  private readonly memory: WasmMemory;
  private readonly assignFn: AssignFn;
  private readonly C: number;
  private readonly nb: number;
  private readonly free: number;

  /** Whether the kernel takes vectors of this dimension (whole groups of 16 floats). */
  static fits(dim: number): boolean {
    return dim > 0 && dim % 16 === 0;
  }

  constructor(
    centroids: Float32Array,
    readonly k: number,
    readonly dim: number,
    /** k × M: each centroid's M nearest other centroids. */
    neighbours: Int32Array,
    readonly M: number,
  ) {
    if (!ShortlistKernel.fits(dim)) throw new RangeError(`ShortlistKernel: dim ${dim} is not a multiple of 16`);
    compiled ??= compileKernel(SHORTLIST_WASM_BASE64, 'Centroid assignment');
    const instance = instantiate(compiled);
    this.memory = instance.exports.memory as WasmMemory;
    this.assignFn = instance.exports.assign as AssignFn;
    this.C = 64;
    this.nb = align16(this.C + k * dim * 4);
    this.free = align16(this.nb + k * M * 4);
    ensureMemory(this.memory, this.free);
    new Float32Array(this.memory.buffer, this.C, k * dim).set(centroids.subarray(0, k * dim));
    new Int32Array(this.memory.buffer, this.nb, k * M).set(neighbours.subarray(0, k * M));
  }

  /**
   * For each of the n rows, the best of its candidates (cand[lists[2i], +lists[2i + 1]), which
   * must not be empty), then up to `climbs` steps to a nearer neighbour. Writes `out` and the
   * chosen centroid's dot product with the row into `score`; returns the number of centroids
   * compared.
   */
  assign(rows: Float32Array, n: number, lists: Int32Array, cand: Int32Array, climbs: number, out: Int32Array, score: Float32Array): number {
    const D = this.dim;
    const rowsAt = this.free;
    const listsAt = align16(rowsAt + n * D * 4);
    const candAt = align16(listsAt + n * 8);
    const outAt = align16(candAt + cand.length * 4);
    const scoreAt = align16(outAt + n * 4);
    ensureMemory(this.memory, scoreAt + n * 4);
    const buf = this.memory.buffer;
    new Float32Array(buf, rowsAt, n * D).set(rows.subarray(0, n * D));
    new Int32Array(buf, listsAt, 2 * n).set(lists.subarray(0, 2 * n));
    new Int32Array(buf, candAt, cand.length).set(cand);
    const compared = this.assignFn(this.C, D / 16, this.nb, this.M, climbs, rowsAt, n, listsAt, candAt, outAt, scoreAt);
    out.set(new Int32Array(buf, outAt, n));
    score.set(new Float32Array(buf, scoreAt, n));
    return compared;
  }
}
