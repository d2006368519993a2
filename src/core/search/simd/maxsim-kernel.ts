// Exact MaxSim in WebAssembly SIMD (maxsim.wat): the typed API around the kernel.
//
// score[u] = Σ_i max_{j ∈ u} q_i · d_j with d_j = scale_j · code_j (int8 codes, one float scale
// per token vector: the TokenStore layout). The kernel multiplies integers exactly, so its only
// approximation is the query's quantisation: a float query is quantised per row to int16
// (step qs_i = max|q_i| / 32767), an int8 query (codes + per-row scale) is used as it is.
// Compared with the float query over the same int8 store,
//
//   |score_kernel[u] − score_exact[u]| ≤ Σ_i (qs_i / 2) · max_{j∈u} scale_j · ‖code_j‖₁
//                                      (+ float32 rounding, ~1e-7 relative per row)
//
// which `errorBound` computes from a bound on scale_j · ‖code_j‖₁ (≤ √dim · 1.01 for unit
// vectors quantised by TokenStoreBuilder). For 32 unit-norm rows at dim 128 it is ~1e-5,
// well below the gaps between passage scores.
//
// Two ways to feed tokens:
//   - scoreStore(store, units): units given as token spans of a TokenStore (codes in JS memory);
//     they are copied into wasm memory in chunks of ~CHUNK_TOKENS tokens, so the wasm memory
//     stays small however large the index is.
//   - tokenBuffer(tokens, units) + scoreTokenBuffer(units): the caller writes int8 rows (e.g.
//     decompressed residual codes) straight into wasm memory, with no copy.
//
//   const kernel = new MaxSimKernel(dim);          // once per dim (the module compiles once)
//   kernel.setQuery(queryVectors, rows);            // per query
//   const scores = kernel.scoreStore(store, units); // or:
//   const buf = kernel.tokenBuffer(totalTokens, nUnits);
//   // token j: codes at buf.codes[j * buf.stride …+dim), scale buf.scales[j]; buf.counts[k] = tokens of unit k
//   kernel.scoreTokenBuffer(nUnits, scores, offset);
//
// Speed (src/core/search/simd/bench.ts, 32 rows, dim 128, 2 shared Xeon cores, Node 20): about
// 185 ms per 10k units × 120 tokens (~26 G int MAC/s, bound by the dot + add per 8 MACs), ~5×
// onnxruntime's Gemm path and ~60× the JavaScript loop.
import { MAXSIM_WASM_BASE64 } from './maxsim-wasm';

/** Largest supported dim (after padding to 16): int16 × int8 dot products must fit in int32. */
export const MAX_DIM = 512;
/** Tokens copied into wasm memory per kernel call by scoreStore (4 MB at dim 128). */
export const CHUNK_TOKENS = 32768;
/** Tokens widened to int16 at a time inside the kernel (multiple of 4; 32 KB at dim 128). */
const BLOCK_TOKENS = 128;
const PAGE = 65536;

export interface UnitSpan {
  tokenFirst: number;
  tokenCount: number;
}

/**
 * Int8 token vectors with one scale each (the layout of the original TokenStore): vector j is
 * scales[j] · codes[j·dim, (j+1)·dim). Structural, so any store with these fields fits.
 */
export interface Int8Rows {
  dim: number;
  codes: Int8Array;
  scales: Float32Array;
}

/** An already-quantised query: rows × dim int8 codes, row i ≈ scales[i] · codes[i·dim …]. */
export interface Int8Query {
  codes: Int8Array;
  scales: Float32Array;
}

/**
 * Views into the kernel's memory for one batch of units, filled by the caller. Token j's code
 * row is codes[j·stride, j·stride + dim) (bytes past dim in a row are ignored), its scale is
 * scales[j]; counts[k] is the number of tokens of unit k, whose tokens follow unit k−1's.
 * Valid only until the next call of a method of the kernel (growing wasm memory detaches them).
 */
export interface TokenBuffer {
  codes: Int8Array;
  scales: Float32Array;
  counts: Int32Array;
  stride: number;
}

type ScoreFn = (
  q: number, qs: number, pairs: number, dp: number, tok: number, ts: number,
  counts: number, nu: number, out: number, work: number, blk: number,
) => void;

// The project's lib is ES2022 without DOM, and @types/node declares only part of the
// WebAssembly namespace: the little used here is typed locally.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

let compiled: object | undefined;

function kernelModule(): object {
  if (!compiled) {
    try {
      compiled = new wasm.Module(Buffer.from(MAXSIM_WASM_BASE64, 'base64'));
    } catch (e) {
      throw new Error(`The MaxSim kernel needs WebAssembly SIMD, which this runtime lacks: ${(e as Error).message}`);
    }
  }
  return compiled;
}

const align16 = (n: number) => (n + 15) & ~15;

/** One kernel instance per dim; holds one query at a time. Not re-entrant (one wasm memory). */
export class MaxSimKernel {
  /** Row stride of token codes in wasm memory: dim rounded up to a multiple of 16. */
  readonly stride: number;
  private readonly memory: WasmMemory;
  private readonly scoreFn: ScoreFn;
  private rows = 0;
  private pairs = 0;
  private qsOff = 0;
  private workOff = 0;
  private ioOff = 0;
  /** Half the quantisation step of each query row (0 for an int8 query). */
  private halfStep = new Float64Array(0);
  // the batch reserved by the last tokenBuffer call
  private bufTokens = -1;
  private bufUnits = 0;

  constructor(readonly dim: number) {
    if (!Number.isInteger(dim) || dim < 1) throw new RangeError(`MaxSimKernel: dim must be a positive integer, got ${dim}`);
    this.stride = align16(dim);
    if (this.stride > MAX_DIM) throw new RangeError(`MaxSimKernel: dim ${dim} is above ${MAX_DIM} (int32 accumulators could overflow)`);
    const instance = new wasm.Instance(kernelModule(), {});
    this.memory = instance.exports.memory as WasmMemory;
    this.scoreFn = instance.exports.score as ScoreFn;
  }

  /** Query rows set by the last setQuery. */
  get queryRows(): number {
    return this.rows;
  }

  /**
   * Sets the query: a Float32Array of rows × dim (quantised here to int16 per row), or an
   * Int8Query (used exactly; its scales must be ≥ 0, as the kernel applies a row's scale after
   * the max; token scales are applied before it and may have any sign). Rows must be ≥ 1.
   */
  setQuery(query: Float32Array | Int8Query, rows: number): void {
    const D = this.dim;
    const dp = this.stride;
    if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`MaxSimKernel.setQuery: rows must be a positive integer, got ${rows}`);
    const isF32 = query instanceof Float32Array;
    const codesLen = isF32 ? query.length : query.codes.length;
    if (codesLen < rows * D) throw new RangeError(`MaxSimKernel.setQuery: query has ${codesLen} values, needs rows × dim = ${rows * D}`);
    if (!isF32 && query.scales.length < rows) throw new RangeError(`MaxSimKernel.setQuery: ${query.scales.length} scales for ${rows} rows`);
    const pairs = (rows + 1) >> 1;
    const qOff = 64;
    this.qsOff = align16(qOff + pairs * dp * 4);
    this.workOff = align16(this.qsOff + pairs * 2 * 4);
    this.ioOff = align16(this.workOff + BLOCK_TOKENS * dp * 2 + BLOCK_TOKENS * 4 + pairs * 32);
    this.ensure(this.ioOff);
    this.rows = rows;
    this.pairs = pairs;
    this.bufTokens = -1;
    this.halfStep = new Float64Array(rows);

    // Row pairs interleaved per 8 dims (see maxsim.wat); padding dims and the padding row are 0.
    const q16 = new Int16Array(this.memory.buffer, qOff, pairs * dp * 2);
    q16.fill(0);
    const qs = new Float32Array(this.memory.buffer, this.qsOff, pairs * 2);
    qs.fill(0);
    for (let i = 0; i < rows; i++) {
      const base = (i >> 1) * dp * 2 + (i & 1) * 8;
      let scale: number;
      if (isF32) {
        let maxAbs = 0;
        for (let d = 0; d < D; d++) maxAbs = Math.max(maxAbs, Math.abs(query[i * D + d]));
        scale = maxAbs / 32767;
        const inv = maxAbs > 0 ? 32767 / maxAbs : 0;
        for (let d = 0; d < D; d++) {
          q16[base + (d >> 3) * 16 + (d & 7)] = Math.max(-32767, Math.min(32767, Math.round(query[i * D + d] * inv)));
        }
        this.halfStep[i] = scale / 2;
      } else {
        scale = query.scales[i];
        // max_j(scale · x_j) = scale · max_j x_j only for scale ≥ 0
        if (!(scale >= 0 && scale < Infinity)) throw new RangeError(`MaxSimKernel.setQuery: row ${i} has scale ${scale}; scales must be finite and ≥ 0`);
        for (let d = 0; d < D; d++) q16[base + (d >> 3) * 16 + (d & 7)] = query.codes[i * D + d];
      }
      qs[i] = scale;
    }
  }

  /**
   * Bound on |kernel − exact| for any unit, where exact uses the float query given to setQuery,
   * given tokenL1 ≥ max_j scale_j · ‖code_j‖₁ over the scored tokens (√dim for unit vectors).
   * Float32 rounding is not included.
   */
  errorBound(tokenL1: number): number {
    let s = 0;
    for (const h of this.halfStep) s += h;
    return s * tokenL1;
  }

  /**
   * Reserves wasm memory for `tokens` token rows of `units` units and returns views to fill;
   * then call scoreTokenBuffer(units).
   */
  tokenBuffer(tokens: number, units: number): TokenBuffer {
    if (this.rows === 0) throw new Error('MaxSimKernel: setQuery first');
    if (!Number.isInteger(tokens) || tokens < 0 || !Number.isInteger(units) || units < 0) {
      throw new RangeError(`MaxSimKernel.tokenBuffer: bad sizes (${tokens} tokens, ${units} units)`);
    }
    const L = this.layout(tokens, units);
    this.ensure(L.end);
    this.bufTokens = tokens;
    this.bufUnits = units;
    const buf = this.memory.buffer;
    return {
      codes: new Int8Array(buf, L.tok, tokens * this.stride),
      scales: new Float32Array(buf, L.ts, tokens),
      counts: new Int32Array(buf, L.counts, units),
      stride: this.stride,
    };
  }

  /**
   * Scores the first `units` units of the last tokenBuffer into out[outOffset + k] (a new array
   * when out is omitted) and returns out. Units with no tokens score 0.
   */
  scoreTokenBuffer(units: number, out?: Float32Array, outOffset = 0): Float32Array {
    if (this.bufTokens < 0) throw new Error('MaxSimKernel.scoreTokenBuffer: call tokenBuffer first (after setQuery)');
    if (units > this.bufUnits) throw new RangeError(`MaxSimKernel.scoreTokenBuffer: ${units} units, ${this.bufUnits} reserved`);
    const result = out ?? new Float32Array(units);
    if (outOffset + units > result.length) throw new RangeError('MaxSimKernel.scoreTokenBuffer: out is too short');
    const L = this.layout(this.bufTokens, this.bufUnits);
    const counts = new Int32Array(this.memory.buffer, L.counts, units);
    let total = 0;
    for (let k = 0; k < units; k++) {
      if (counts[k] < 0) throw new RangeError(`MaxSimKernel.scoreTokenBuffer: unit ${k} has ${counts[k]} tokens`);
      total += counts[k];
    }
    if (total > this.bufTokens) throw new RangeError(`MaxSimKernel.scoreTokenBuffer: units hold ${total} tokens, ${this.bufTokens} reserved`);
    this.scoreFn(64, this.qsOff, this.pairs, this.stride, L.tok, L.ts, L.counts, units, L.out, this.workOff, BLOCK_TOKENS);
    result.set(new Float32Array(this.memory.buffer, L.out, units), outOffset);
    return result;
  }

  /**
   * score[k] for units[k], token spans of `store` (any order; adjacent spans are copied in one
   * go). Returns out (a new array when omitted).
   */
  scoreStore(store: Int8Rows, units: readonly UnitSpan[], out?: Float32Array): Float32Array {
    const D = this.dim;
    if (store.dim !== D) throw new RangeError(`MaxSimKernel.scoreStore: store dim ${store.dim}, kernel dim ${D}`);
    const result = out ?? new Float32Array(units.length);
    if (result.length < units.length) throw new RangeError('MaxSimKernel.scoreStore: out is too short');
    const nTokens = store.scales.length;
    for (const s of units) {
      if (!(s.tokenFirst >= 0 && s.tokenCount >= 0 && s.tokenFirst + s.tokenCount <= nTokens) || !Number.isInteger(s.tokenFirst) || !Number.isInteger(s.tokenCount)) {
        throw new RangeError(`MaxSimKernel.scoreStore: unit span [${s.tokenFirst}, +${s.tokenCount}) outside the store's ${nTokens} tokens`);
      }
    }
    const dp = this.stride;
    let u = 0;
    while (u < units.length) {
      // a chunk of whole units, at least one unit however long
      let tokens = 0;
      let end = u;
      while (end < units.length && (end === u || tokens + units[end].tokenCount <= CHUNK_TOKENS)) tokens += units[end++].tokenCount;
      const buf = this.tokenBuffer(tokens, end - u);
      let at = 0;
      let k = u;
      while (k < end) {
        const first = units[k].tokenFirst;
        let n = 0;
        // a run of units whose spans follow each other in the store: one copy
        while (k < end && units[k].tokenFirst === first + n) {
          buf.counts[k - u] = units[k].tokenCount;
          n += units[k].tokenCount;
          k++;
        }
        if (dp === D) {
          buf.codes.set(store.codes.subarray(first * D, (first + n) * D), at * D);
        } else {
          for (let j = 0; j < n; j++) buf.codes.set(store.codes.subarray((first + j) * D, (first + j + 1) * D), (at + j) * dp);
        }
        buf.scales.set(store.scales.subarray(first, first + n), at);
        at += n;
      }
      this.scoreTokenBuffer(end - u, result, u);
      u = end;
    }
    return result;
  }

  private layout(tokens: number, units: number) {
    const counts = this.ioOff;
    const outOff = align16(counts + units * 4);
    const tok = align16(outOff + units * 4);
    const ts = align16(tok + tokens * this.stride);
    // + 16 bytes: the kernel reads token rows with 16-byte loads
    return { counts, out: outOff, tok, ts, end: align16(ts + tokens * 4) + 16 };
  }

  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
  }
}
