// Reader of the previous on-disk format (v2), kept so that an index written by an older version
// is converted to v3 without encoding anything again (index-file.ts saves it as v3 right away):
//
//   <dir>/tokens-<id>.bin  the codec (centroids | rotation | bucket cutoffs | bucket weights, float32), then
//                          the vectors (starts int32 | centroid ids uint16 | residual lengths
//                          uint8 | span lengths uint8 | 2-bit residuals), raw little-endian
//   <dir>/index.json       format, version 2, model fingerprint, codec parameters, files and units,
//                          the token file's name, byte length and sha256
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { IndexedFile, IndexedUnit, WorkspaceIndex } from './workspace-index';
import { CompressedTokenStore } from './compressed-store';
import { residualBytes, type ResidualCodec } from './residual-codec';

export interface IndexJsonV2 {
  format: string;
  version: number;
  root: string;
  model: string;
  dim: number;
  tokenCount: number;
  codec: { k: number; wideDims: number; narrowDims: number; normMin: number; normMax: number; normalize: boolean; trainedOnTokens: number };
  encodedSinceTraining: number;
  tokensFile: string;
  tokensBytes: number;
  tokensSha256: string;
  files: IndexedFile[];
  units: IndexedUnit[];
}

/** A v2 index.json already checked for format, model, root; the whole index in memory, or why not. */
export function loadIndexV2(dir: string, meta: IndexJsonV2): { index: WorkspaceIndex } | { reason: string } {
  const tokensPath = path.join(dir, meta.tokensFile);
  let body: Buffer;
  try {
    body = fs.readFileSync(tokensPath);
  } catch {
    return { reason: `index token file ${meta.tokensFile} is missing; rebuilding` };
  }
  if (body.length !== meta.tokensBytes || crypto.createHash('sha256').update(body).digest('hex') !== meta.tokensSha256) {
    return { reason: 'index token file fails its checksum; rebuilding' };
  }
  const n = meta.tokenCount;
  const D = meta.dim;
  const K = meta.codec.k;
  const R = residualBytes(D);
  if (body.length !== 4 * (K * D + D * D + 31 * D) + n * (4 + 2 + 1 + 1 + R)) return { reason: 'index token file has the wrong size; rebuilding' };
  // Copy into fresh, aligned buffers (a Buffer's byteOffset need not be 4-aligned).
  let off = 0;
  const take = <T>(C: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }, count: number): T => {
    const bytes = count * C.BYTES_PER_ELEMENT;
    const out = new C(new Uint8Array(body.subarray(off, off + bytes)).buffer);
    off += bytes;
    return out;
  };
  const centroids = take(Float32Array, K * D);
  const rotation = take(Float32Array, D * D);
  const cutoffs = take(Float32Array, 15 * D);
  const weights = take(Float32Array, 16 * D);
  const starts = take(Int32Array, n);
  const centroidIds = take(Uint16Array, n);
  const norms = take(Uint8Array, n);
  const lengths = take(Uint8Array, n);
  const residuals = take(Uint8Array, n * R);
  for (let j = 0; j < n; j++) if (centroidIds[j] >= K) return { reason: 'index token file names a centroid it does not have; rebuilding' };
  const codec: ResidualCodec = {
    dim: D, k: K, centroids, rotation, wideDims: meta.codec.wideDims, narrowDims: meta.codec.narrowDims, cutoffs, weights, normMin: meta.codec.normMin, normMax: meta.codec.normMax,
    normalize: meta.codec.normalize === true, trainedOnTokens: meta.codec.trainedOnTokens,
  };
  return {
    index: {
      root: meta.root, modelFingerprint: meta.model, files: meta.files, units: meta.units, encodedSinceTraining: meta.encodedSinceTraining,
      store: CompressedTokenStore.inMemory(codec, n, centroidIds, norms, residuals, starts, lengths),
    },
  };
}
