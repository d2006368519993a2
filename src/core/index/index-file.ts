// On-disk form of a WorkspaceIndex, in a cache folder outside the workspace.
//
//   <dir>/tokens-<id>.bin  the codec (centroids | rotation | bucket cutoffs | bucket weights, float32), then
//                          the vectors (starts int32 | centroid ids uint16 | residual lengths
//                          uint8 | span lengths uint8 | 2-bit residuals), raw little-endian
//   <dir>/index.json       format, version, model fingerprint, codec parameters, files and units,
//                          the token file's name, byte length and sha256
//
// A save writes a new tokens file first, then index.json through a temporary file and an
// atomic rename, then removes older tokens files: a crash at any point leaves either the
// previous index or the new one. A load that finds anything inconsistent (missing file,
// checksum, other format version, other model) returns a reason instead of an index, and the
// caller rebuilds.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { IndexedFile, IndexedUnit, WorkspaceIndex } from './workspace-index';
import { CompressedTokenStore } from './compressed-store';
import { residualBytes, type ResidualCodec } from './residual-codec';

export const INDEX_FORMAT = 'evidence-search-index';
/** Bump when the extractor, the windowing or the layout changes: old caches are rebuilt. */
export const INDEX_FORMAT_VERSION = 2;

interface IndexJson {
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

export type LoadResult = { index: WorkspaceIndex } | { reason: string };

export function saveIndex(dir: string, index: WorkspaceIndex): void {
  fs.mkdirSync(dir, { recursive: true });
  const s = index.store;
  const c = s.codec;
  const parts = [c.centroids, c.rotation, c.cutoffs, c.weights, s.starts, s.centroidIds, s.norms, s.lengths, s.residuals].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  const body = Buffer.concat(parts);
  const sha = crypto.createHash('sha256').update(body).digest('hex');
  const tokensFile = `tokens-${sha.slice(0, 16)}.bin`;
  const tokensPath = path.join(dir, tokensFile);
  writeDurably(tokensPath, body);
  const meta: IndexJson = {
    format: INDEX_FORMAT, version: INDEX_FORMAT_VERSION, root: index.root, model: index.modelFingerprint,
    dim: s.dim, tokenCount: s.count, codec: { k: c.k, wideDims: c.wideDims, narrowDims: c.narrowDims, normMin: c.normMin, normMax: c.normMax, normalize: c.normalize, trainedOnTokens: c.trainedOnTokens },
    encodedSinceTraining: index.encodedSinceTraining, tokensFile, tokensBytes: body.length, tokensSha256: sha,
    files: index.files, units: index.units,
  };
  const tmp = path.join(dir, `index.json.${process.pid}.tmp`);
  writeDurably(tmp, Buffer.from(JSON.stringify(meta)));
  fs.renameSync(tmp, path.join(dir, 'index.json'));
  // Older tokens files and temporaries left by crashed saves are no longer referenced.
  for (const f of fs.readdirSync(dir)) {
    if ((f !== tokensFile && /^tokens-[0-9a-f]+\.bin$/.test(f)) || /^index\.json\.\d+\.tmp$/.test(f)) fs.rmSync(path.join(dir, f), { force: true });
  }
}

function writeDurably(file: string, data: Buffer): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function loadIndex(dir: string, expect: { root: string; model: string; dim: number }): LoadResult {
  const metaPath = path.join(dir, 'index.json');
  if (!fs.existsSync(metaPath)) return { reason: 'no index yet' };
  let meta: IndexJson;
  try {
    meta = JSON.parse(fs.readFileSync(metaPath, 'utf8'));
  } catch (e) {
    return { reason: `index file is corrupt (${(e as Error).message}); rebuilding` };
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return { reason: 'index file is not an index object; rebuilding' };
  if (meta.format !== INDEX_FORMAT || meta.version !== INDEX_FORMAT_VERSION) return { reason: `index format ${meta.format} v${meta.version} is not v${INDEX_FORMAT_VERSION}; rebuilding` };
  if (meta.model !== expect.model || meta.dim !== expect.dim) return { reason: 'index was built with another model; rebuilding' };
  if (meta.root !== expect.root) return { reason: 'index belongs to another folder; rebuilding' };
  if (typeof meta.tokensFile !== 'string' || !/^tokens-[0-9a-f]+\.bin$/.test(meta.tokensFile) || !Array.isArray(meta.files) || !Array.isArray(meta.units)
    || !Number.isInteger(meta.tokenCount) || typeof meta.tokensSha256 !== 'string' || typeof meta.codec !== 'object' || meta.codec === null
    || !Number.isInteger(meta.codec.k) || meta.codec.k < 0 || meta.codec.k > 65536 || !Number.isInteger(meta.codec.trainedOnTokens)
    || !Number.isInteger(meta.encodedSinceTraining) || !(meta.codec.normMin > 0) || !(meta.codec.normMax >= meta.codec.normMin)
    || !Number.isInteger(meta.codec.wideDims) || !Number.isInteger(meta.codec.narrowDims) || meta.codec.wideDims < 0 || meta.codec.narrowDims < 0
    || meta.codec.wideDims % 2 !== 0 || meta.codec.wideDims + meta.codec.narrowDims > meta.dim || meta.codec.wideDims / 2 + Math.ceil(meta.codec.narrowDims / 4) > residualBytes(meta.dim)) {
    return { reason: 'index file is incomplete; rebuilding' };
  }
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
      store: new CompressedTokenStore(codec, n, centroidIds, norms, residuals, starts, lengths),
    },
  };
}
