// A compressed store of synthetic units for the search-kernel tests: a codec trained on the
// vectors themselves, every vector compressed, and each unit's span of them. About a third of
// the vectors are flagged as word starts, as an index's are: the kernels must ignore the flags.
import { jsMatMulT } from '../src/core/gemm';
import { trainCodec } from '../src/core/index/residual-codec';
import { CompressedStoreBuilder, type CompressedTokenStore } from '../src/core/index/compressed-store';
import type { UnitSpan } from '../src/core/search/dense-scorer';

/** Units of `sizes` tokens (0 allowed) over the rows of `vectors` in order, with `k` centroids. */
export async function compressedUnits(vectors: Float32Array, sizes: readonly number[], dim: number, o: { k: number; seed: number }): Promise<{ store: CompressedTokenStore; units: UnitSpan[] }> {
  const total = sizes.reduce((a, b) => a + b, 0);
  const codec = await trainCodec(vectors, total, dim, { k: o.k, iterations: 4, seed: o.seed, matmul: jsMatMulT, trainedOnTokens: total });
  const b = new CompressedStoreBuilder(codec);
  const wordStarts = Uint8Array.from({ length: total }, (_, j) => (Math.imul(j, 0x9e3779b1) >>> 0) % 3 === 0 ? 1 : 0);
  await b.addFloat(vectors, total, jsMatMulT, undefined, wordStarts);
  const units: UnitSpan[] = [];
  let at = 0;
  for (const n of sizes) {
    units.push({ tokenFirst: at, tokenCount: n });
    at += n;
  }
  return { store: b.freeze(), units };
}
