// Exact MaxSim for a list of units: their token vectors are decoded into float blocks (from
// whatever encoding the store keeps) and the dot products of all query rows with a block are
// one matrix product (onnxruntime's GEMM by default).
import { OrtGemm, type MatMulT } from '../gemm';
import type { TokenStore } from '../index/token-store';

/** Tokens per matrix product: big enough to amortise the call, small enough to bound memory (~8 MB). */
const BLOCK_TOKENS = 16384;

export interface UnitSpan {
  tokenFirst: number;
  tokenCount: number;
}

export class DenseScorer {
  constructor(readonly matmul: MatMulT, private readonly owned?: OrtGemm) {}

  static async create(threads = 1): Promise<DenseScorer> {
    const gemm = await OrtGemm.create(threads);
    return new DenseScorer(gemm, gemm);
  }

  /** score[k] = Σ_i max_{j ∈ units[k]} q_i · d_j, for units anywhere in the store, in any order. */
  async scoreAll(query: Float32Array, rows: number, store: TokenStore, units: readonly UnitSpan[]): Promise<Float32Array> {
    const D = store.dim;
    const q = store.toStoreSpace(query, rows);
    const scores = new Float32Array(units.length);
    let block = new Float32Array(0);
    let u = 0;
    while (u < units.length) {
      // A block is a run of whole units (one unit alone when it is longer than a block).
      let end = u;
      let n = 0;
      while (end < units.length && (end === u || n + units[end].tokenCount <= BLOCK_TOKENS)) n += units[end++].tokenCount;
      if (n === 0) {
        u = end;
        continue;
      }
      if (block.length < n * D) block = new Float32Array(Math.max(n, BLOCK_TOKENS) * D);
      for (let k = u, at = 0; k < end; at += units[k++].tokenCount) store.decode(units[k].tokenFirst, units[k].tokenCount, block, at * D);
      const s = await this.matmul.multiplyT(q, rows, block, n, D); // rows × n
      for (let k = u, a = 0; k < end; a += units[k++].tokenCount) {
        const b = a + units[k].tokenCount;
        let total = 0;
        for (let i = 0; i < rows; i++) {
          let m = -Infinity;
          const row = i * n;
          for (let j = a; j < b; j++) if (s[row + j] > m) m = s[row + j];
          if (m !== -Infinity) total += m;
        }
        scores[k] = total;
      }
      u = end;
    }
    return scores;
  }

  async dispose(): Promise<void> {
    await this.owned?.dispose();
  }
}
