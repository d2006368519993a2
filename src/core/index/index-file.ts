// On-disk form of a WorkspaceIndex (format v5), in a cache folder outside the workspace:
//
//   <dir>/index.json        the manifest: format, version, model fingerprint, codec parameters,
//                           the codec file and the segments (name, bytes, crc32 each), and the
//                           files (path, hash, size, mtime, and where their units are: segment
//                           number, first unit in it, unit count)
//   <dir>/codec-<id>.bin    centroids | rotation | bucket cutoffs | bucket weights, float32 (the
//                           code widths, which fix the codes' layout, are in the manifest)
//   <dir>/seg-<id>.bin      immutable segments of vectors and units (segment-file.ts)
//
// LSM-like: a save writes only what is new since the index was loaded — after editing one file,
// one small segment holding that file's units — then commits with the manifest. Units of a
// segment that no file entry names (the changed file's old units) are dead; a segment with no
// live unit left is dropped from the manifest, and compaction.ts merges segments when dead space
// or their number grows.
//
// Crash safety: new segment and codec files get fresh names (never overwritten) and are fsynced,
// then index.json is written to a temporary file, fsynced and renamed over the old one (the
// commit), then files no manifest names are removed. A crash at any point leaves either the
// previous index or the new one. A load that finds anything inconsistent (missing file, size,
// checksum, other format version, other model) returns a reason instead of an index, and the
// caller rebuilds. Older formats are rebuilt too: v4 codes are laid out per the codec's trained
// widths, so a v2 or v3 index's codes cannot be carried over without the original vectors; v5
// length bytes are 7 bits of length and each vector's word-start flag, which a v4 index lacks.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import type { IndexedFile, IndexedUnit, WorkspaceIndex } from './workspace-index';
import { CompressedTokenStore, type StorePart } from './compressed-store';
import { codeLayout, MAX_BUCKETS, MAX_CODE_BITS, residualBytes, type ResidualCodec } from './residual-codec';
import { Segment, UNIT_FIELDS, writeSegment, type SegmentContent, type SegmentRef } from './segment-file';
import { StoredUnit } from './stored-unit';

export const INDEX_FORMAT = 'evidence-search-index';
/** Bump when the extractor, the windowing or the layout changes: old caches are rebuilt. */
export const INDEX_FORMAT_VERSION = 5;

interface ManifestFile {
  path: string;
  hash: string;
  size: number;
  mtimeMs?: number;
  invalidUtf8?: boolean;
  /** Index into `segments`, -1 for a file without units. */
  segment: number;
  /** First unit in that segment, and the file's unit count. */
  unit: number;
  units: number;
}

interface Manifest {
  format: string;
  version: number;
  root: string;
  model: string;
  dim: number;
  codec: { k: number; bits: number[]; normMin: number; normMax: number; normalize: boolean; trainedOnTokens: number; file: SegmentRef };
  encodedSinceTraining: number;
  segments: SegmentRef[];
  files: ManifestFile[];
}

export type LoadResult = { index: WorkspaceIndex } | { reason: string };

/** Codec files already on disk, so that a save does not write the same codec again. */
const savedCodecs = new WeakMap<ResidualCodec, { dir: string; ref: SegmentRef }>();

const newName = (prefix: string): string => `${prefix}-${crypto.randomBytes(8).toString('hex')}.bin`;
const view = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/**
 * Saves the index into `dir` and returns it as read back from there (vectors and texts served
 * from the segment files, not memory): the caller should use the returned index from then on.
 */
export function saveIndex(dir: string, index: WorkspaceIndex): WorkspaceIndex {
  fs.mkdirSync(dir, { recursive: true });
  const absDir = path.resolve(dir);
  const s = index.store;
  const c = s.codec;
  const R = residualBytes(s.dim);

  let codecRef = savedCodecs.get(c)?.dir === absDir ? savedCodecs.get(c)!.ref : undefined;
  if (codecRef && !fs.existsSync(path.join(absDir, codecRef.name))) codecRef = undefined;
  if (!codecRef) {
    const name = newName('codec');
    const body = Buffer.concat([c.centroids, c.rotation, c.cutoffs, c.weights].map(view));
    writeDurably(path.join(absDir, name), body);
    codecRef = { name, bytes: body.length, crc32: zlib.crc32(body) >>> 0 };
    savedCodecs.set(c, { dir: absDir, ref: codecRef });
  }

  // Units by part, in token order (a file's units are consecutive there).
  const byPart: IndexedUnit[][] = s.parts.map(() => []);
  for (const u of index.units) if (u.tokenCount > 0) byPart[s.partOf(u.tokenFirst)].push(u);
  const segments: SegmentRef[] = [];
  const opened: Segment[] = [];
  /** Where each unit is on disk: segment number in the manifest, unit number in it. */
  const where = new Map<IndexedUnit, { segment: number; local: number }>();
  // Units without vectors (none are made today, but the format allows them) go with the first new segment.
  const empty = index.units.filter((u) => u.tokenCount === 0);
  s.parts.forEach((part, p) => {
    const units = byPart[p];
    if (units.length === 0 && !(empty.length > 0 && part.kind === 'memory')) return; // all dead: dropped
    units.sort((a, b) => a.tokenFirst - b.tokenFirst);
    // A kept segment is named again as it is (unless its file went away meanwhile: then
    // rewritten from its vectors and texts).
    if (part.kind === 'segment' && path.resolve(part.segment.dir) === absDir && fs.existsSync(path.join(absDir, part.segment.ref.name)) && units.every((u) => u instanceof StoredUnit && u.segment === part.segment)) {
      const k = segments.push(part.segment.ref) - 1;
      opened.push(part.segment);
      for (const u of units) where.set(u, { segment: k, local: (u as StoredUnit).local });
      return;
    }
    const base = s.baseOf(p);
    const content = segmentContent(s, base, part, units, R);
    if (empty.length > 0 && part.kind === 'memory') {
      for (const u of empty) content.units.push({ unit: u, tokenFirst: 0, tokenCount: 0 });
      empty.length = 0;
    }
    // Units already in a segment (compaction, a rewrite) copy their terms from there.
    for (const x of content.units) if (x.unit instanceof StoredUnit) x.from = { segment: x.unit.segment, local: x.unit.local };
    const name = newName('seg');
    const ref = writeSegment(path.join(absDir, name), content);
    const k = segments.push(ref) - 1;
    content.units.forEach((x, local) => where.set(x.unit as IndexedUnit, { segment: k, local }));
  });
  if (empty.length > 0) {
    // Only units without vectors and no new part: a segment of their own.
    const content: SegmentContent = { residualBytes: R, tokens: 0, centroidIds: new Uint16Array(0), norms: new Uint8Array(0), residuals: new Uint8Array(0), units: empty.map((u) => ({ unit: u, tokenFirst: 0, tokenCount: 0 })) };
    const ref = writeSegment(path.join(absDir, newName('seg')), content);
    const k = segments.push(ref) - 1;
    empty.forEach((u, local) => where.set(u, { segment: k, local }));
  }

  const files: ManifestFile[] = index.files.map((f) => {
    const { path: p, hash, size, mtimeMs, invalidUtf8 } = f;
    if (f.unitCount === 0) return { path: p, hash, size, mtimeMs, invalidUtf8, segment: -1, unit: 0, units: 0 };
    const first = where.get(index.units[f.unitFirst])!;
    for (let k = 0; k < f.unitCount; k++) {
      const w = where.get(index.units[f.unitFirst + k]);
      if (!w || w.segment !== first.segment || w.local !== first.local + k) throw new Error(`the units of ${p} are not stored together`);
    }
    return { path: p, hash, size, mtimeMs, invalidUtf8, segment: first.segment, unit: first.local, units: f.unitCount };
  });
  const manifest: Manifest = {
    format: INDEX_FORMAT, version: INDEX_FORMAT_VERSION, root: index.root, model: index.modelFingerprint, dim: s.dim,
    codec: { k: c.k, bits: Array.from(c.bits), normMin: c.normMin, normMax: c.normMax, normalize: c.normalize, trainedOnTokens: c.trainedOnTokens, file: codecRef },
    encodedSinceTraining: index.encodedSinceTraining, segments, files,
  };
  const tmp = path.join(absDir, `index.json.${process.pid}.tmp`);
  writeDurably(tmp, Buffer.from(JSON.stringify(manifest)));
  fs.renameSync(tmp, path.join(absDir, 'index.json'));
  syncDir(absDir);
  // Files no manifest names any more: older segments and codecs, a v2 index's token files, and
  // temporaries left by crashed saves. Removal may fail where a file is still open (Windows): the
  // next save tries again.
  const keep = new Set([codecRef.name, ...segments.map((r) => r.name)]);
  for (const f of fs.readdirSync(absDir)) {
    if ((/^(seg|codec)-[0-9a-f]+\.bin$/.test(f) && !keep.has(f)) || /^tokens-[0-9a-f]+\.bin$/.test(f) || /^index\.json\.\d+\.tmp$/.test(f)) {
      try {
        fs.rmSync(path.join(absDir, f), { force: true });
      } catch {
        // still in use
      }
    }
  }
  // The saved index, read back: new segments are opened (and verified) once, kept ones reused.
  const reopened = new Map(opened.map((g) => [g.ref.name, g]));
  const loaded = fromManifest(absDir, manifest, c, reopened);
  if ('reason' in loaded) throw new Error(`the index just saved does not read back: ${loaded.reason}`);
  return loaded.index;
}

/**
 * Writes one segment of a build still in progress into `dir` and opens it: no manifest names it
 * until the build's save, so a crash or a cancel leaves the previous index as it was (the next
 * save deletes the file, as it does any file no manifest names).
 */
export function writeSpillSegment(dir: string, content: SegmentContent): Segment {
  fs.mkdirSync(dir, { recursive: true });
  const absDir = path.resolve(dir);
  const ref = writeSegment(path.join(absDir, newName('seg')), content);
  const g = Segment.open(absDir, ref, content.residualBytes);
  if ('reason' in g) throw new Error(`a segment just written does not read back: ${g.reason}`);
  return g;
}

/** A new segment's content: the part's vectors that units use (all of them, in place, when the units cover the part). */
function segmentContent(s: CompressedTokenStore, base: number, part: StorePart, units: IndexedUnit[], R: number): SegmentContent {
  let covers = part.kind === 'memory';
  for (let k = 0, at = base; covers && k < units.length; at += units[k++].tokenCount) covers = units[k].tokenFirst === at;
  if (covers && units.reduce((n, u) => n + u.tokenCount, 0) === part.count && part.kind === 'memory') {
    return {
      residualBytes: R, tokens: part.count, centroidIds: s.centroidIds.subarray(base, base + part.count), norms: s.norms.subarray(base, base + part.count),
      residuals: part.residuals,
      units: units.map((u) => ({ unit: u, tokenFirst: u.tokenFirst - base, tokenCount: u.tokenCount })),
    };
  }
  // Gather the live vectors (a part with dead space, or a segment of another folder).
  const n = units.reduce((a, u) => a + u.tokenCount, 0);
  const out: SegmentContent = { residualBytes: R, tokens: n, centroidIds: new Uint16Array(n), norms: new Uint8Array(n), residuals: new Uint8Array(n * R), units: [] };
  let at = 0;
  for (const u of units) {
    const raw = s.raw(u.tokenFirst, u.tokenCount);
    out.centroidIds.set(raw.centroidIds, at);
    out.norms.set(raw.norms, at);
    out.residuals.set(raw.residuals, at * R);
    out.units.push({ unit: u, tokenFirst: at, tokenCount: u.tokenCount });
    at += u.tokenCount;
  }
  return out;
}

function writeDurably(file: string, data: Buffer): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off, data.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** The rename is durable only once the folder is synced (not possible everywhere: best effort). */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Windows cannot open a folder this way
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

const isRef = (r: unknown): r is SegmentRef => {
  const x = r as SegmentRef;
  return typeof x === 'object' && x !== null && typeof x.name === 'string' && /^(seg|codec)-[0-9a-f]+\.bin$/.test(x.name)
    && Number.isInteger(x.bytes) && x.bytes >= 0 && Number.isInteger(x.crc32) && x.crc32 >= 0;
};

/** Whether `dir` holds an index (its manifest), whatever its state. */
export function hasIndex(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'index.json'));
}

export function loadIndex(dir: string, expect: { root: string; model: string; dim: number }): LoadResult {
  const metaPath = path.join(dir, 'index.json');
  if (!hasIndex(dir)) return { reason: 'no index yet' };
  let meta: Manifest;
  try {
    meta = JSON.parse(fs.readFileSync(metaPath, 'utf8'));
  } catch (e) {
    return { reason: `index file is corrupt (${(e as Error).message}); rebuilding` };
  }
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return { reason: 'index file is not an index object; rebuilding' };
  if (meta.format !== INDEX_FORMAT || meta.version !== INDEX_FORMAT_VERSION) return { reason: `index format ${meta.format} v${meta.version} is not v${INDEX_FORMAT_VERSION}; rebuilding` };
  if (meta.model !== expect.model || meta.dim !== expect.dim) return { reason: 'index was built with another model; rebuilding' };
  if (meta.root !== expect.root) return { reason: 'index belongs to another folder; rebuilding' };
  const cm = meta.codec;
  if (!Array.isArray(meta.files) || !Array.isArray(meta.segments) || !meta.segments.every(isRef)
    || typeof cm !== 'object' || cm === null || !isRef(cm.file)
    || !Number.isInteger(cm.k) || cm.k < 0 || cm.k > 65536 || !Number.isInteger(cm.trainedOnTokens)
    || !Number.isInteger(meta.encodedSinceTraining) || !(cm.normMin > 0) || !(cm.normMax >= cm.normMin)
    || !Array.isArray(cm.bits) || cm.bits.length !== meta.dim || !cm.bits.every((b) => Number.isInteger(b) && b >= 0 && b <= MAX_CODE_BITS)
    || !codeLayout(cm.bits, residualBytes(meta.dim))) {
    return { reason: 'index file is incomplete; rebuilding' };
  }
  const D = meta.dim;
  const K = cm.k;
  let body: Buffer;
  try {
    body = fs.readFileSync(path.join(dir, cm.file.name));
  } catch {
    return { reason: `index codec file ${cm.file.name} is missing; rebuilding` };
  }
  if (body.length !== cm.file.bytes || (zlib.crc32(body) >>> 0) !== cm.file.crc32 || body.length !== 4 * (K * D + D * D + (2 * MAX_BUCKETS - 1) * D)) {
    return { reason: 'index codec file fails its checksum; rebuilding' };
  }
  let off = 0;
  const floats = (count: number): Float32Array => {
    const out = new Float32Array(new Uint8Array(body.subarray(off, off + 4 * count)).buffer); // aligned copy
    off += 4 * count;
    return out;
  };
  const codec: ResidualCodec = {
    dim: D, k: K, centroids: floats(K * D), rotation: floats(D * D), bits: Uint8Array.from(cm.bits), cutoffs: floats((MAX_BUCKETS - 1) * D), weights: floats(MAX_BUCKETS * D),
    normMin: cm.normMin, normMax: cm.normMax, normalize: cm.normalize === true, trainedOnTokens: cm.trainedOnTokens,
  };
  savedCodecs.set(codec, { dir: path.resolve(dir), ref: cm.file });
  const r = fromManifest(path.resolve(dir), meta, codec, new Map());
  if ('reason' in r) return { reason: `${r.reason}; rebuilding` };
  return r;
}

/** The index a manifest describes; segments in `opened` are taken as they are, the others opened and verified. */
function fromManifest(dir: string, meta: Manifest, codec: ResidualCodec, opened: Map<string, Segment>): { index: WorkspaceIndex } | { reason: string } {
  const R = residualBytes(meta.dim);
  const segs: Segment[] = [];
  for (const ref of meta.segments) {
    const known = opened.get(ref.name);
    const g = known && known.ref.bytes === ref.bytes && known.ref.crc32 === ref.crc32 ? known : Segment.open(dir, ref, R);
    if (!(g instanceof Segment)) return g;
    if (g.maxCentroidId >= codec.k) return { reason: `index segment ${ref.name} names a centroid the codec does not have` };
    segs.push(g);
  }
  const bases: number[] = [];
  let total = 0;
  for (const g of segs) {
    bases.push(total);
    total += g.tokens;
  }
  const centroidIds = new Uint16Array(total);
  const norms = new Uint8Array(total);
  segs.forEach((g, k) => {
    centroidIds.set(g.centroidIds, bases[k]);
    norms.set(g.norms, bases[k]);
  });
  const files: IndexedFile[] = [];
  const units: IndexedUnit[] = [];
  const used = segs.map(() => new Uint8Array(0));
  for (const f of meta.files) {
    if (typeof f !== 'object' || f === null || typeof f.path !== 'string' || typeof f.hash !== 'string' || !Number.isInteger(f.size)
      || !Number.isInteger(f.segment) || !Number.isInteger(f.unit) || !Number.isInteger(f.units) || f.units < 0 || f.unit < 0
      || (f.units > 0 && (f.segment < 0 || f.segment >= segs.length || f.unit + f.units > segs[f.segment].units))) {
      return { reason: 'index file lists a file it does not store' };
    }
    const file: IndexedFile = { path: f.path, hash: f.hash, size: f.size, unitFirst: units.length, unitCount: f.units };
    if (f.mtimeMs !== undefined) file.mtimeMs = f.mtimeMs;
    if (f.invalidUtf8) file.invalidUtf8 = true;
    if (f.units > 0) {
      const g = segs[f.segment];
      if (used[f.segment].length === 0) used[f.segment] = new Uint8Array(g.units);
      for (let k = f.unit; k < f.unit + f.units; k++) {
        if (used[f.segment][k]) return { reason: 'index file lists a unit twice' };
        used[f.segment][k] = 1;
        units.push(new StoredUnit(f.path, bases[f.segment] + g.unitTable[k * UNIT_FIELDS + 2], g, k));
      }
    }
    files.push(file);
  }
  const parts: StorePart[] = segs.map((segment) => ({ kind: 'segment', count: segment.tokens, segment }));
  return {
    index: {
      root: meta.root, modelFingerprint: meta.model, files, units, encodedSinceTraining: meta.encodedSinceTraining,
      store: new CompressedTokenStore(codec, centroidIds, norms, parts),
    },
  };
}
