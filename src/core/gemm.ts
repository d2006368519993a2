// One matrix product, a · bᵀ, run by onnxruntime's GEMM (MLAS): ~50× faster than a scalar
// JavaScript loop. Shared by exact MaxSim, k-means training, centroid assignment and the
// query · centroids product of candidate generation.
import type { InferenceSession, Tensor } from 'onnxruntime-node';

/** ONNX graph: s = Gemm(q [m,k], d [n,k], transB=1) — 133 bytes, built with python3-onnx. */
const GEMM_QDT_ONNX = 'CAgSD2V2aWRlbmNlLXNlYXJjaDpqCh4KAXEKAWQSAXMiBEdlbW0qDQoGdHJhbnNCGAGgAQISA3FkdFoVCgFxEhAKDggBEgoKAxIBbQoDEgFrWhUKAWQSEAoOCAESCgoDEgFuCgMSAWtiFQoBcxIQCg4IARIKCgMSAW0KAxIBbkIECgAQDQ==';

/**
 * ONNX graph: i = ArgMax(Gemm(q [m,k], d [n,k], transB=1), axis 1) — the index of each row's
 * best match (first on ties), 196 bytes, built with python3-onnx. Assigning a big index's vectors
 * to their centroids spent as long in a JavaScript argmax over each m × n product as in the
 * product itself; in onnxruntime the argmax is a small part.
 */
const GEMM_ARGMAX_ONNX = 'CAg6uQEKHgoBcQoBZBIBcyIER2VtbSoNCgZ0cmFuc0IYAaABAgpGCgFzEgFpIgZBcmdNYXgqCwoEYXhpcxgBoAECKg8KCGtlZXBkaW1zGACgAQIqGAoRc2VsZWN0X2xhc3RfaW5kZXgYAKABAhIPZXZpZGVuY2Utc2VhcmNoWhUKAXESEAoOCAESCgoDEgFtCgMSAWtaFQoBZBIQCg4IARIKCgMSAW4KAxIBa2IQCgFpEgsKCQgHEgUKAxIBbUIECgAQDQ==';

/**
 * ONNX graph: i = ArgMax(MatMulInteger(a uint8 [m,k], b int8 [k,n], a_zero_point), axis 1) — the
 * best match of each row by 8-bit products, 210 bytes, built with python3-onnx. Assigning a large
 * index's vectors to centroids costs about as much as encoding them; in 8 bits it costs ~35 %
 * less (VNNI products), and only near-ties can come out differently.
 */
const INT8_ARGMAX_ONNX = 'CAg6xwEKHQoBYQoBYgoDYXpwEgFzIg1NYXRNdWxJbnRlZ2VyCkYKAXMSAWkiBkFyZ01heCoLCgRheGlzGAGgAQIqDwoIa2VlcGRpbXMYAKABAioYChFzZWxlY3RfbGFzdF9pbmRleBgAoAECEg9ldmlkZW5jZS1zZWFyY2haFQoBYRIQCg4IAhIKCgMSAW0KAxIBa1oVCgFiEhAKDggDEgoKAxIBawoDEgFuWg0KA2F6cBIGCgQIAhIAYhAKAWkSCwoJCAcSBQoDEgFtQgQKABAN';

type Ort = typeof import('onnxruntime-node');

/** Rows of b [n × k] quantised for argmaxInt8T: transposed (k × n), one scale for all (rows of about equal norm). */
export interface Int8Columns {
  data: Int8Array;
  n: number;
  k: number;
}

/** b [n × k] as int8 columns, scaled so that its largest magnitude is 127 (argmax ignores the scale). */
export function quantiseColumns(b: Float32Array, n: number, k: number): Int8Columns {
  let max = 0;
  for (let i = 0; i < n * k; i++) max = Math.max(max, Math.abs(b[i]));
  const s = max > 0 ? 127 / max : 0;
  const data = new Int8Array(k * n);
  for (let j = 0; j < n; j++) for (let d = 0; d < k; d++) data[d * n + j] = Math.round(b[j * k + d] * s);
  return { data, n, k };
}

/** Computes a · bᵀ for row-major a [m × k] and b [n × k]; the result is row-major [m × n]. */
export interface MatMulT {
  /**
   * `into` (optional, at least m · n long): where the product may be written, the result then a
   * view of it — callers use the returned array either way — so that a caller multiplying batch
   * after batch reuses one array. The bytes of typed arrays made in JavaScript count toward V8's
   * old-generation limit until the next full collection (onnxruntime's own output arrays do not):
   * a fresh product array a batch kept the indexing thread in back-to-back full collections, whose
   * marking threads took CPU from the encoder (see indexer.ts).
   */
  multiplyT(a: Float32Array, m: number, b: Float32Array, n: number, k: number, into?: Float32Array): Promise<Float32Array>;
  /** For each row of a, the index of the row of b with the largest dot product (first on ties). */
  argmaxT?(a: Float32Array, m: number, b: Float32Array, n: number, k: number): Promise<Int32Array>;
  /** The same by 8-bit products: each row of a quantised on its own scale, b by quantiseColumns. */
  argmaxInt8T?(a: Float32Array, m: number, b: Int8Columns): Promise<Int32Array>;
}

export class OrtGemm implements MatMulT {
  private constructor(
    private readonly ort: Ort,
    private readonly session: InferenceSession,
    private readonly argmaxSession: InferenceSession,
    private readonly int8ArgmaxSession: InferenceSession,
  ) {}
  /** The int8 tensor of the last columns used (the centroids of one codec, reused batch after batch). */
  private columns?: { of: Int8Columns; tensor: Tensor };
  /** argmaxInt8T's quantised rows, kept from call to call (see MatMulT.multiplyT's `into`), and whether a call is using them. */
  private quantised?: Uint8Array;
  private quantisedBusy = false;

  static async create(threads = 1): Promise<OrtGemm> {
    const ort: Ort = require('onnxruntime-node');
    const options = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' as const };
    const session = await ort.InferenceSession.create(Buffer.from(GEMM_QDT_ONNX, 'base64'), options);
    const argmaxSession = await ort.InferenceSession.create(Buffer.from(GEMM_ARGMAX_ONNX, 'base64'), options);
    const int8ArgmaxSession = await ort.InferenceSession.create(Buffer.from(INT8_ARGMAX_ONNX, 'base64'), options);
    return new OrtGemm(ort, session, argmaxSession, int8ArgmaxSession);
  }

  async argmaxInt8T(a: Float32Array, m: number, b: Int8Columns): Promise<Int32Array> {
    if (m === 0) return new Int32Array(0);
    if (b.n === 0) throw new RangeError('argmaxInt8T: no rows to choose from');
    const { k } = b;
    // Each row on its own scale (its argmax does not depend on it), offset by 128 into uint8:
    // round(x) + 128 as (x + 128.5) | 0 (x + 128.5 > 0), ~3× faster than Math.round and Math.max
    // here (on the main thread, for every vector searched exactly).
    const own = !this.quantisedBusy;
    if (own && (this.quantised?.length ?? 0) < m * k) this.quantised = new Uint8Array(m * k);
    const q = own ? this.quantised!.subarray(0, m * k) : new Uint8Array(m * k);
    if (own) this.quantisedBusy = true;
    for (let i = 0, o = 0; i < m; i++, o += k) {
      let max = 0;
      for (let d = o; d < o + k; d++) {
        const v = a[d];
        if (v > max) max = v;
        else if (-v > max) max = -v;
      }
      const s = max > 0 ? 127 / max : 0;
      for (let d = o; d < o + k; d++) q[d] = (a[d] * s + 128.5) | 0;
    }
    if (this.columns?.of !== b) this.columns = { of: b, tensor: new this.ort.Tensor('int8', b.data, [k, b.n]) };
    let out;
    try {
      out = await this.int8ArgmaxSession.run({
        a: new this.ort.Tensor('uint8', q, [m, k]), b: this.columns.tensor, azp: new this.ort.Tensor('uint8', Uint8Array.of(128), []),
      });
    } finally {
      if (own) this.quantisedBusy = false;
    }
    return Int32Array.from(out.i.data as BigInt64Array, (v) => Number(v));
  }

  async argmaxT(a: Float32Array, m: number, b: Float32Array, n: number, k: number): Promise<Int32Array> {
    if (m === 0) return new Int32Array(0);
    if (n === 0) throw new RangeError('argmaxT: no rows to choose from');
    const qt: Tensor = new this.ort.Tensor('float32', a.subarray(0, m * k), [m, k]);
    const dt: Tensor = new this.ort.Tensor('float32', b.subarray(0, n * k), [n, k]);
    const out = await this.argmaxSession.run({ q: qt, d: dt });
    return Int32Array.from(out.i.data as BigInt64Array, (v) => Number(v));
  }

  async multiplyT(a: Float32Array, m: number, b: Float32Array, n: number, k: number, into?: Float32Array): Promise<Float32Array> {
    if (m === 0 || n === 0) return into ? into.subarray(0, 0) : new Float32Array(0);
    const qt: Tensor = new this.ort.Tensor('float32', a.subarray(0, m * k), [m, k]);
    const dt: Tensor = new this.ort.Tensor('float32', b.subarray(0, n * k), [n, k]);
    const out = await this.session.run({ q: qt, d: dt });
    // (onnxruntime's own output array does not count toward V8's limit: copied into `into`, or handed over)
    return copyInto(out.s.data as Float32Array, into);
  }

  async dispose(): Promise<void> {
    await this.session.release();
    await this.argmaxSession.release();
    await this.int8ArgmaxSession.release();
    this.columns = undefined;
  }
}

/** a · bᵀ in plain JavaScript, synchronously: for tests, tiny inputs and small fixed products. */
export function multiplyTSync(a: Float32Array, m: number, b: Float32Array, n: number, k: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let d = 0; d < k; d++) dot += a[i * k + d] * b[j * k + d];
      out[i * n + j] = dot;
    }
  }
  return out;
}

/** `product` itself, or copied into `into` (which must be long enough) and returned as a view of it. */
export function copyInto(product: Float32Array, into?: Float32Array): Float32Array {
  if (!into) return product;
  if (into.length < product.length) throw new RangeError(`multiplyT: an output array of ${into.length} for a product of ${product.length}`);
  into.set(product);
  return into.subarray(0, product.length);
}

/** The same product in plain JavaScript: for tests and tiny inputs. */
export const jsMatMulT: MatMulT = {
  async multiplyT(a, m, b, n, k, into) {
    return copyInto(multiplyTSync(a, m, b, n, k), into);
  },
};
