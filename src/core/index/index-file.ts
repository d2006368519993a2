// On-disk form of a WorkspaceIndex, in a cache folder outside the workspace.
//
//   <dir>/tokens-<id>.bin  codes | scales | starts | ends, as raw little-endian typed arrays
//   <dir>/index.json       format, version, model fingerprint, files and units, the token
//                          file's name, byte length and sha256
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

export const INDEX_FORMAT = 'evidence-search-index';
/** Bump when the extractor, the windowing or the layout changes: old caches are rebuilt. */
export const INDEX_FORMAT_VERSION = 1;

interface IndexJson {
  format: string;
  version: number;
  root: string;
  model: string;
  dim: number;
  tokenCount: number;
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
  const parts = [s.codes, s.scales, s.starts, s.ends].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  const body = Buffer.concat(parts);
  const sha = crypto.createHash('sha256').update(body).digest('hex');
  const tokensFile = `tokens-${sha.slice(0, 16)}.bin`;
  const tokensPath = path.join(dir, tokensFile);
  writeDurably(tokensPath, body);
  const meta: IndexJson = {
    format: INDEX_FORMAT, version: INDEX_FORMAT_VERSION, root: index.root, model: index.modelFingerprint,
    dim: s.dim, tokenCount: s.count, tokensFile, tokensBytes: body.length, tokensSha256: sha,
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
    || !Number.isInteger(meta.tokenCount) || typeof meta.tokensSha256 !== 'string') {
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
  if (body.length !== n * D + n * 12) return { reason: 'index token file has the wrong size; rebuilding' };
  // Copy into fresh, aligned buffers (a Buffer's byteOffset need not be 4-aligned).
  const ab = new Uint8Array(body).buffer;
  const codes = new Int8Array(ab, 0, n * D);
  let off = n * D;
  const scales = new Float32Array(ab.slice(off, off + 4 * n)); off += 4 * n;
  const starts = new Int32Array(ab.slice(off, off + 4 * n)); off += 4 * n;
  const ends = new Int32Array(ab.slice(off, off + 4 * n));
  return {
    index: {
      root: meta.root, modelFingerprint: meta.model, files: meta.files, units: meta.units,
      store: { dim: D, count: n, codes, scales, starts, ends },
    },
  };
}
