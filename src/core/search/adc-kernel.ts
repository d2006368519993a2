// MaxSim over the compressed index without decompressing it: the typed API around adc.wat.
//
// Per query, two tables move the dot products out of the per-token loop (see adc.wat):
//   S = q · centroidsᵀ (K × 32, which candidate generation needs anyway) and
//   T[g, b] = q · (what byte value b at code position g decodes to) (R × 256 × 32),
// S from one matrix product on the GEMM backend, T from the query's columns in the kernel (a row of
// T has ≤ 4 coordinates: a dense product cost ~2.3 ms a query at 8192 centroids).
// A token then costs its R code bytes' rows of T (32 floats each) plus a few operations for its
// length, instead of decoding 128 coordinates and a 32 × 128 dot product. The result is that of
// exact MaxSim over the decoded (and, as decodeVectors does, renormalised) vectors, to float
// rounding: the tests compare it with decodeVectors + the plain loop.
//
// The kernel also returns, per scored token, its best dot product over the evidence rows: the FGR
// interaction turned sideways, so evidence for the shown results needs no second pass.
import type { MatMulT } from '../gemm';
import { residualBytes, tablesOf, type ResidualCodec } from '../index/residual-codec';
import { ADC_WASM_BASE64 } from './simd/adc-wasm';
import { align16, compileKernel, ensureMemory, instantiate, type WasmMemory } from './simd/wasm';
import type { UnitSpan } from './dense-scorer';

/** Query rows the kernel holds (the encoder's query length); a shorter query is padded with zero rows. */
export const ADC_ROWS = 32;
/** Tokens per kernel call: bounds the batch part of the wasm memory (~1.3 MB at R = 32). */
const BATCH_TOKENS = 32768;
const ROW_BYTES = ADC_ROWS * 4;

export type { UnitSpan };

/** What the kernel reads from a compressed store: its codec, centroid ids, and the codes of any range. */
export interface CompressedVectors {
  readonly codec: ResidualCodec;
  readonly centroidIds: Uint16Array;
  /** Copies the length bytes and code bytes (R a vector) of vectors [first, first + n). */
  readCodes(first: number, n: number, norms: Uint8Array, codes: Uint8Array): void;
}

export interface ExactResult {
  /** Σ over the query rows of the unit's best dot product (0 for a unit without tokens). */
  scores: Float32Array;
  /** Best dot product over the evidence rows of each token, units one after another. */
  tokenMaxima: Float32Array;
  /** Unit k's tokens are tokenMaxima[tokenOffsets[k], tokenOffsets[k + 1]). */
  tokenOffsets: Int32Array;
}

type InteractFn = (sT: number, cids: number, counts: number, nu: number, out: number) => void;
type TopFn = (sT: number, K: number, n: number, out: number, kept: number, floor: number) => void;
type TablesFn = (qt: number, tab4: number, dims: number, uc: number, R: number, T: number) => void;
type ExactFn = (
  sT: number, T: number, tab4: number, cg: number, cext: number, lens: number, R: number, rsq0: number, normalize: number,
  cids: number, norms: number, codes: number, counts: number, nu: number, out: number, tokmax: number, mask: number,
) => void;

let compiled: object | undefined;

/** One kernel per compressed store's codec; holds one query at a time. Not re-entrant. */
export class AdcKernel {
  private readonly memory: WasmMemory;
  private readonly interactFn: InteractFn;
  private readonly exactFn: ExactFn;
  private readonly tablesFn: TablesFn;
  private readonly topFn: TopFn;
  private readonly R: number;
  private readonly rsq0: number;
  // static and per-query regions (byte offsets)
  private readonly tab4: number;
  private readonly cg: number;
  private readonly cext: number;
  private readonly lens: number;
  private readonly dims: number;
  private readonly qt: number;
  private readonly uc: number;
  private readonly mask: number;
  private readonly sT: number;
  private readonly T: number;
  private readonly batch: number;
  private rows = 0;
  /** The codec's coordinates without codes, each one's constant value (0 for a coded one). */
  private readonly uncoded: Float32Array;

  constructor(private readonly store: CompressedVectors) {
    const { codec } = store;
    const D = codec.dim;
    const K = codec.k;
    const R = (this.R = residualBytes(D));
    const { table, dims, uncoded, lengths } = tablesOf(codec);
    let at = 64;
    const take = (bytes: number): number => {
      const off = at;
      at = align16(at + bytes);
      return off;
    };
    this.tab4 = take(R * 256 * 16);
    this.cg = take(K * R * 16);
    this.cext = take(K * 8);
    this.lens = take(256 * 4);
    this.dims = take(R * 4 * 4);
    this.qt = take(D * ROW_BYTES);
    this.uc = take(ROW_BYTES);
    this.mask = take(ROW_BYTES);
    this.sT = take(K * ROW_BYTES);
    this.T = take(R * 256 * ROW_BYTES);
    this.batch = at;
    compiled ??= compileKernel(ADC_WASM_BASE64, 'The search kernel');
    const instance = instantiate(compiled);
    this.memory = instance.exports.memory as WasmMemory;
    this.interactFn = instance.exports.interact as InteractFn;
    this.exactFn = instance.exports.exact as ExactFn;
    this.tablesFn = instance.exports.tables as TablesFn;
    this.topFn = instance.exports.top as TopFn;
    this.ensure(this.batch);

    const buf = this.memory.buffer;
    new Float32Array(buf, this.tab4, R * 256 * 4).set(table.subarray(0, R * 256 * 4));
    const cg = new Float32Array(buf, this.cg, K * R * 4);
    const cext = new Float32Array(buf, this.cext, K * 2);
    const { centroids } = codec;
    for (let c = 0; c < K; c++) {
      for (let e = 0; e < R * 4; e++) cg[(c * R * 4) + e] = dims[e] < 0 ? 0 : centroids[c * D + dims[e]];
      let cu = 0;
      let cc = 0;
      for (let d = 0; d < D; d++) {
        cu += centroids[c * D + d] * uncoded[d];
        cc += centroids[c * D + d] ** 2;
      }
      cext[2 * c] = cu;
      cext[2 * c + 1] = cc;
    }
    new Float32Array(buf, this.lens, 256).set(lengths.subarray(0, 256));
    new Int32Array(buf, this.dims, R * 4).set(dims.subarray(0, R * 4));
    this.uncoded = uncoded;
    let rsq0 = 0;
    for (let d = 0; d < D; d++) rsq0 += uncoded[d] ** 2;
    this.rsq0 = rsq0;
  }

  private ensure(bytes: number): void {
    ensureMemory(this.memory, bytes);
  }

  /**
   * Sets the query: `rows` (≤ ADC_ROWS) rows of the codec's dim, already in the codec's coordinates
   * (store.toStoreSpace); token maxima are taken over rows [evidenceFrom, evidenceTo). Returns
   * S = query · centroidsᵀ as K × ADC_ROWS (centroid-major; rows past `rows` are 0).
   */
  async setQuery(query: Float32Array, rows: number, matmul: MatMulT, evidenceFrom = 0, evidenceTo = rows): Promise<Float32Array> {
    if (rows < 1 || rows > ADC_ROWS) throw new RangeError(`AdcKernel: ${rows} query rows; 1 to ${ADC_ROWS} are supported`);
    const { codec } = this.store;
    const D = codec.dim;
    const K = codec.k;
    const q = new Float32Array(ADC_ROWS * D);
    q.set(query.subarray(0, rows * D));
    const s = await matmul.multiplyT(codec.centroids, K, q, ADC_ROWS, D); // K × 32
    const buf = this.memory.buffer;
    new Float32Array(buf, this.sT, K * ADC_ROWS).set(s.subarray(0, K * ADC_ROWS));
    // T from the query's columns (each table row has ≤ 4 coordinates: tables in adc.wat).
    const qt = new Float32Array(buf, this.qt, D * ADC_ROWS);
    const uc = new Float32Array(buf, this.uc, ADC_ROWS);
    for (let i = 0; i < ADC_ROWS; i++) {
      let u = 0;
      for (let d = 0; d < D; d++) {
        const v = q[i * D + d];
        qt[d * ADC_ROWS + i] = v;
        u += this.uncoded[d] * v;
      }
      uc[i] = u;
    }
    this.tablesFn(this.qt, this.tab4, this.dims, this.uc, this.R, this.T);
    const mask = new Float32Array(buf, this.mask, ADC_ROWS);
    for (let i = 0; i < ADC_ROWS; i++) mask[i] = i >= evidenceFrom && i < evidenceTo && i < rows ? 0 : -Infinity;
    this.rows = rows;
    return s.subarray(0, K * ADC_ROWS);
  }

  /**
   * For each query row i < rows of the query set, the n centroids with the largest S[c, i], best
   * first, lowest index on ties: out[i · n + p] (candidate generation's probes).
   */
  topPerRow(n: number): Int32Array {
    if (this.rows === 0) throw new Error('AdcKernel: setQuery first');
    const K = this.store.codec.k;
    if (n < 1 || n > K) throw new RangeError(`AdcKernel.topPerRow: ${n} of ${K} centroids`);
    const rows = this.rows;
    const out = this.batch;
    const kept = align16(out + ADC_ROWS * n * 4);
    const floor = align16(kept + ADC_ROWS * n * 4);
    this.ensure(floor + ROW_BYTES);
    const buf = this.memory.buffer;
    new Float32Array(buf, kept, ADC_ROWS * n).fill(-Infinity);
    // Rows past the query's never rank.
    new Float32Array(buf, floor, ADC_ROWS).fill(-Infinity).fill(Infinity, rows);
    this.topFn(this.sT, K, n, out, kept, floor);
    return new Int32Array(buf, out, rows * n).slice();
  }

  /** Per unit, Σ over the query rows of max over its tokens of S[cid_j, i] (centroid interaction). */
  interact(units: readonly UnitSpan[]): Float32Array {
    const out = new Float32Array(units.length);
    this.batches(units, (from, to, tokens) => {
      const nu = to - from;
      const { cids, counts, end } = this.loadBatch(units, from, to, tokens, false);
      const rowMax = end;
      this.ensure(rowMax + nu * ROW_BYTES);
      this.interactFn(this.sT, cids, counts, nu, rowMax);
      this.sumRows(new Float32Array(this.memory.buffer, rowMax, nu * ADC_ROWS), out, from, nu);
    });
    return out;
  }

  /** Exact MaxSim of each unit over its decoded vectors, and each token's best evidence-row product. */
  exact(units: readonly UnitSpan[]): ExactResult {
    const scores = new Float32Array(units.length);
    const tokenOffsets = new Int32Array(units.length + 1);
    for (let k = 0; k < units.length; k++) tokenOffsets[k + 1] = tokenOffsets[k] + units[k].tokenCount;
    const tokenMaxima = new Float32Array(tokenOffsets[units.length]);
    const { codec } = this.store;
    this.batches(units, (from, to, tokens) => {
      const nu = to - from;
      const { cids, norms, codes, counts, end } = this.loadBatch(units, from, to, tokens, true);
      const rowMax = end;
      const tokmax = align16(rowMax + nu * ROW_BYTES);
      this.ensure(tokmax + tokens * 4);
      this.exactFn(this.sT, this.T, this.tab4, this.cg, this.cext, this.lens, this.R, this.rsq0, codec.normalize ? 1 : 0,
        cids, norms, codes, counts, nu, rowMax, tokmax, this.mask);
      this.sumRows(new Float32Array(this.memory.buffer, rowMax, nu * ADC_ROWS), scores, from, nu);
      tokenMaxima.set(new Float32Array(this.memory.buffer, tokmax, tokens), tokenOffsets[from]);
    });
    return { scores, tokenMaxima, tokenOffsets };
  }

  /**
   * Lays units [from, to) out in the batch region: their centroid ids (u16), with `withCodes`
   * their length and code bytes, and their token counts (i32), one unit after another. Returns
   * the regions' addresses and the first free (aligned) address after them.
   */
  private loadBatch(units: readonly UnitSpan[], from: number, to: number, tokens: number, withCodes: boolean): { cids: number; norms: number; codes: number; counts: number; end: number } {
    const R = this.R;
    const nu = to - from;
    const cids = this.batch;
    const norms = align16(cids + tokens * 2);
    const codes = withCodes ? align16(norms + tokens) : norms;
    const counts = withCodes ? align16(codes + tokens * R) : norms;
    const end = align16(counts + nu * 4);
    this.ensure(end);
    const buf = this.memory.buffer;
    const c16 = new Uint16Array(buf, cids, tokens);
    const n8 = new Uint8Array(buf, norms, withCodes ? tokens : 0);
    const code8 = new Uint8Array(buf, codes, withCodes ? tokens * R : 0);
    const cnt = new Int32Array(buf, counts, nu);
    const { centroidIds } = this.store;
    for (let k = from, at = 0; k < to; k++) {
      const { tokenFirst, tokenCount } = units[k];
      c16.set(centroidIds.subarray(tokenFirst, tokenFirst + tokenCount), at);
      if (withCodes) this.store.readCodes(tokenFirst, tokenCount, n8.subarray(at, at + tokenCount), code8.subarray(at * R, (at + tokenCount) * R));
      cnt[k - from] = tokenCount;
      at += tokenCount;
    }
    return { cids, norms, codes, counts, end };
  }

  /** Runs `fn` on consecutive runs of whole units of at most BATCH_TOKENS tokens (one longer unit alone). */
  private batches(units: readonly UnitSpan[], fn: (from: number, to: number, tokens: number) => void): void {
    if (this.rows === 0) throw new Error('AdcKernel: setQuery first');
    let from = 0;
    while (from < units.length) {
      let to = from;
      let tokens = 0;
      while (to < units.length && (to === from || tokens + units[to].tokenCount <= BATCH_TOKENS)) tokens += units[to++].tokenCount;
      fn(from, to, tokens);
      from = to;
    }
  }

  /** out[at + k] = Σ_{i < rows} rowMax[k, i], a row without tokens (−∞) counting 0. */
  private sumRows(rowMax: Float32Array, out: Float32Array, at: number, n: number): void {
    for (let k = 0; k < n; k++) {
      let total = 0;
      for (let i = 0; i < this.rows; i++) {
        const m = rowMax[k * ADC_ROWS + i];
        if (m !== -Infinity) total += m;
      }
      out[at + k] = total;
    }
  }
}
