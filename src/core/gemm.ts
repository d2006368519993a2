// One matrix product, a · bᵀ, run by onnxruntime's GEMM (MLAS): ~50× faster than a scalar
// JavaScript loop. Shared by exact MaxSim, k-means training, centroid assignment and the
// query · centroids product of candidate generation.
import type { InferenceSession, Tensor } from 'onnxruntime-node';

/** ONNX graph: s = Gemm(q [m,k], d [n,k], transB=1) — 133 bytes, built with python3-onnx. */
const GEMM_QDT_ONNX = 'CAgSD2V2aWRlbmNlLXNlYXJjaDpqCh4KAXEKAWQSAXMiBEdlbW0qDQoGdHJhbnNCGAGgAQISA3FkdFoVCgFxEhAKDggBEgoKAxIBbQoDEgFrWhUKAWQSEAoOCAESCgoDEgFuCgMSAWtiFQoBcxIQCg4IARIKCgMSAW0KAxIBbkIECgAQDQ==';

type Ort = typeof import('onnxruntime-node');

/** Computes a · bᵀ for row-major a [m × k] and b [n × k]; the result is row-major [m × n]. */
export interface MatMulT {
  multiplyT(a: Float32Array, m: number, b: Float32Array, n: number, k: number): Promise<Float32Array>;
}

export class OrtGemm implements MatMulT {
  private constructor(private readonly ort: Ort, private readonly session: InferenceSession) {}

  static async create(threads = 1): Promise<OrtGemm> {
    const ort: Ort = require('onnxruntime-node');
    const session = await ort.InferenceSession.create(Buffer.from(GEMM_QDT_ONNX, 'base64'), {
      intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    });
    return new OrtGemm(ort, session);
  }

  async multiplyT(a: Float32Array, m: number, b: Float32Array, n: number, k: number): Promise<Float32Array> {
    if (m === 0 || n === 0) return new Float32Array(m * n);
    const qt: Tensor = new this.ort.Tensor('float32', a.subarray(0, m * k), [m, k]);
    const dt: Tensor = new this.ort.Tensor('float32', b.subarray(0, n * k), [n, k]);
    const out = await this.session.run({ q: qt, d: dt });
    return out.s.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/** The same product in plain JavaScript: for tests and tiny inputs. */
export const jsMatMulT: MatMulT = {
  async multiplyT(a, m, b, n, k) {
    const out = new Float32Array(m * n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let d = 0; d < k; d++) dot += a[i * k + d] * b[j * k + d];
        out[i * n + j] = dot;
      }
    }
    return out;
  },
};
