// Builds or refreshes a WorkspaceIndex from a stream of files. Files whose content hash is
// unchanged keep their units and compressed vectors from the previous index; only new or
// changed files are extracted, tokenized and encoded, in batches across files, and compressed
// with the previous index's codec. The codec (centroids, bucket tables) is trained on a sample
// of the index's vectors on a first build, and again — with every file re-encoded — once the
// index has grown or changed as much as it was when the codec was trained.
import crypto from 'node:crypto';
import { extractPassages, type ExtractOptions } from '../extract/index';
import { passageText } from '../extract/passage-text';
import type { Encoder, DocInput, DocEncoding } from '../model/encoder';
import type { Passage } from '../types';
import { OrtGemm, type MatMulT } from '../gemm';
import { mulberry32 } from '../bench/metrics';
import { CompressedStoreBuilder } from './compressed-store';
import { centroidCountFor, emptyCodec, trainCodec, type ResidualCodec } from './residual-codec';
import type { IndexedFile, IndexedUnit, WorkspaceIndex } from './workspace-index';

/** Token vectors the codec is trained on, at most (plus a few per centroid on huge indexes). */
const TRAIN_SAMPLE_TOKENS = 32768;
const KMEANS_ITERATIONS = 6;
const CODEC_SEED = 12345;

export interface SourceFile {
  /** Workspace-relative, forward slashes. */
  path: string;
  text: string;
}

export interface IndexProgress {
  filesDone: number;
  filesEncoded: number;
  tokensEncoded: number;
  /** Files expected in all, when known (the caller's estimate; filesDone may exceed it). */
  filesTotal?: number;
}

export interface IndexStats {
  files: number;
  filesReused: number;
  filesEncoded: number;
  units: number;
  tokens: number;
  tokensEncoded: number;
  /** Whether this build trained a new codec (first build, or the index outgrew the old one). */
  codecTrained: boolean;
  centroids: number;
  seconds: number;
}

export interface IndexerOptions {
  extract?: ExtractOptions;
  onProgress?: (p: IndexProgress) => void;
  /** Passages encoded per batch (bounded memory). */
  batchPassages?: number;
  signal?: AbortSignal;
  /**
   * Awaited before each encoding batch and between files: indexing waits while the promise is
   * pending (paused). An abort of `signal` ends the wait with 'indexing cancelled'.
   */
  pauseGate?: () => Promise<void>;
  /** Matrix product for centroid training and assignment (default: onnxruntime's GEMM). */
  matmul?: MatMulT;
}

export function contentHash(text: string): string {
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A passage's body tokens, windowed to what the encoder takes; each window is one unit. */
export function unitsForPassage(encoder: Encoder, p: Passage): Array<{ unit: Passage; input: DocInput }> {
  const pt = passageText(p);
  const tok = encoder.tokenizer.tokenize(pt.text);
  const contextIds = encoder.contextIds(p.context);
  const cap = encoder.bodyCapacity(contextIds.length);
  const n = tok.ids.length;
  const fileStarts = new Int32Array(n);
  const fileEnds = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    fileStarts[t] = pt.toFileOffset(tok.starts[t]);
    fileEnds[t] = Math.max(fileStarts[t], pt.toFileOffset(tok.ends[t]));
  }
  if (n <= cap) {
    return [{ unit: p, input: { contextIds, bodyIds: tok.ids, bodyStarts: fileStarts, bodyEnds: fileEnds } }];
  }
  // Windows end at a word start (a token that begins after a gap in the text), so a window
  // never splits a word and widened highlights stay inside their unit.
  const out: Array<{ unit: Passage; input: DocInput }> = [];
  for (let w = 0, e = 0; w < n; w = e) {
    e = Math.min(n, w + cap);
    if (e < n) {
      let cut = e;
      while (cut > w + 1 && fileStarts[cut] <= fileEnds[cut - 1]) cut--;
      if (cut > w + 1) e = cut;
    }
    const start = w === 0 ? p.start : fileStarts[w];
    const end = e === n ? p.end : fileStarts[e];
    const segments = p.segments
      .map((s) => {
        const a = Math.max(s.offset, start);
        const b = Math.min(s.offset + s.text.length, end);
        return b > a ? { offset: a, text: s.text.slice(a - s.offset, b - s.offset) } : null;
      })
      .filter((s): s is { offset: number; text: string } => s !== null);
    out.push({
      unit: { ...p, start, end, segments },
      input: { contextIds, bodyIds: tok.ids.slice(w, e), bodyStarts: fileStarts.slice(w, e), bodyEnds: fileEnds.slice(w, e) },
    });
  }
  return out;
}

type UnitItem = { unit: Passage; input: DocInput };
/** One file of the build, in scan order: reused from the previous index, or to be encoded. */
type PlannedFile = { file: IndexedFile; text: string; reuse?: IndexedFile; items?: UnitItem[] };

/** Upper bound of the vectors a unit yields (markers + context + body; punctuation is dropped later). */
function tokenEstimate(items: readonly UnitItem[]): number {
  return items.reduce((n, i) => n + 3 + i.input.contextIds.length + i.input.bodyIds.length, 0);
}

export async function buildIndex(
  root: string,
  files: AsyncIterable<SourceFile> | Iterable<SourceFile>,
  encoder: Encoder,
  previous: WorkspaceIndex | undefined,
  options: IndexerOptions = {},
): Promise<{ index: WorkspaceIndex; stats: IndexStats }> {
  const t0 = Date.now();
  const batchPassages = options.batchPassages ?? 64;
  const prevFiles = new Map((previous?.files ?? []).map((f) => [f.path, f]));
  const stats: IndexStats = { files: 0, filesReused: 0, filesEncoded: 0, units: 0, tokens: 0, tokensEncoded: 0, codecTrained: false, centroids: 0, seconds: 0 };
  const progress = (): void => options.onProgress?.({ filesDone: stats.files, filesEncoded: stats.filesEncoded, tokensEncoded: stats.tokensEncoded });

  const gate = async (): Promise<void> => {
    const { pauseGate, signal } = options;
    if (signal?.aborted) throw new Error('indexing cancelled');
    if (!pauseGate) return;
    if (!signal) return pauseGate();
    let onAbort: () => void = () => {};
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([pauseGate(), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (signal.aborted) throw new Error('indexing cancelled');
  };

  // 1. Scan: which files keep their vectors, which are extracted for encoding.
  const plan: PlannedFile[] = [];
  const prevCodec = previous?.store.codec;
  const reusable = previous !== undefined && prevCodec !== undefined && prevCodec.k > 0 && prevCodec.dim === encoder.dim;
  const extract = (f: SourceFile): UnitItem[] => extractPassages(f.path, f.text, options.extract).flatMap((p) => unitsForPassage(encoder, p));
  for await (const f of files) {
    await gate();
    stats.files++;
    const hash = contentHash(f.text);
    const prev = prevFiles.get(f.path);
    const file: IndexedFile = { path: f.path, hash, size: f.text.length, unitFirst: 0, unitCount: 0 };
    if (reusable && prev && prev.hash === hash) plan.push({ file, text: f.text, reuse: prev });
    else plan.push({ file, text: f.text, items: extract(f) });
    progress();
  }

  // 2. The codec: the previous one, unless the index has outgrown it.
  const tokensOf = (p: PlannedFile): number => {
    if (p.items) return tokenEstimate(p.items);
    let n = 0;
    for (let u = p.reuse!.unitFirst; u < p.reuse!.unitFirst + p.reuse!.unitCount; u++) n += previous!.units[u].tokenCount;
    return n;
  };
  const newTokens = plan.reduce((n, p) => n + (p.items ? tokensOf(p) : 0), 0);
  const totalTokens = plan.reduce((n, p) => n + tokensOf(p), 0);
  let codec: ResidualCodec | undefined = reusable ? prevCodec : undefined;
  let encodedSinceTraining = reusable ? previous!.encodedSinceTraining : 0;
  if (codec && (totalTokens > 2 * codec.trainedOnTokens || encodedSinceTraining + newTokens > codec.trainedOnTokens)) codec = undefined;
  if (!codec) {
    // (Re)training: every file is encoded again, with the new codec.
    for (const p of plan) {
      if (p.reuse) {
        p.items = extract({ path: p.file.path, text: p.text });
        p.reuse = undefined;
      }
    }
    encodedSinceTraining = 0;
  }
  for (const p of plan) if (p.items) stats.filesEncoded++;

  const ownGemm = options.matmul ? undefined : await OrtGemm.create();
  const matmul = options.matmul ?? ownGemm!;
  try {
    const encodeBatch = async (inputs: DocInput[]): Promise<DocEncoding[]> => {
      await gate();
      const out = inputs.length > 0 ? await encoder.encodeDocs(inputs) : [];
      return out;
    };
    // Encodings of the training sample, kept so that those units are not encoded twice.
    const sampled = new Map<UnitItem, DocEncoding>();
    if (!codec) {
      const all = plan.flatMap((p) => p.items ?? []);
      const chosen = sampleItems(all, Math.max(TRAIN_SAMPLE_TOKENS, 4 * centroidCountFor(totalTokens)));
      for (let b = 0; b < chosen.length; b += batchPassages) {
        const batch = chosen.slice(b, b + batchPassages);
        const enc = await encodeBatch(batch.map((i) => i.input));
        batch.forEach((item, k) => sampled.set(item, enc[k]));
      }
      const encs = [...sampled.values()];
      const n = encs.reduce((a, e) => a + e.count, 0);
      const sample = new Float32Array(n * encoder.dim);
      let at = 0;
      for (const e of encs) {
        sample.set(e.vectors.subarray(0, e.count * encoder.dim), at);
        at += e.count * encoder.dim;
      }
      // The estimate counts punctuation the encoder drops: correct it by the sample's ratio.
      const vectorsExpected = Math.round(totalTokens * (n / Math.max(1, tokenEstimate(chosen))));
      codec = n > 0
        ? await trainCodec(sample, n, encoder.dim, { k: centroidCountFor(vectorsExpected), iterations: KMEANS_ITERATIONS, seed: CODEC_SEED, matmul, trainedOnTokens: 0 })
        : emptyCodec(encoder.dim);
      stats.codecTrained = true;
    }
    const store = new CompressedStoreBuilder(codec);
    const indexedFiles: IndexedFile[] = [];
    const units: IndexedUnit[] = [];

    // 3. In scan order: copy reused files' vectors, encode and compress the others in batches.
    let pending: PlannedFile[] = [];
    const flush = async (): Promise<void> => {
      const items = pending.flatMap((p) => p.items!);
      const todo = items.filter((i) => !sampled.has(i));
      const fresh = await encodeBatch(todo.map((i) => i.input));
      const byItem = new Map(todo.map((item, k) => [item, fresh[k]]));
      // The whole batch is compressed at once (one centroid-assignment product).
      const encs = items.map((item) => sampled.get(item) ?? byItem.get(item)!);
      const n = encs.reduce((a, e) => a + e.count, 0);
      const vectors = new Float32Array(n * encoder.dim);
      const starts = new Int32Array(n);
      const ends = new Int32Array(n);
      for (let k = 0, at = 0; k < encs.length; at += encs[k++].count) {
        vectors.set(encs[k].vectors.subarray(0, encs[k].count * encoder.dim), at * encoder.dim);
        starts.set(encs[k].starts.subarray(0, encs[k].count), at);
        ends.set(encs[k].ends.subarray(0, encs[k].count), at);
      }
      let tokenFirst = await store.addFloat(vectors, starts, ends, matmul);
      let k = 0;
      for (const p of pending) {
        p.file.unitFirst = units.length;
        for (const item of p.items!) {
          const e = encs[k++];
          units.push({ ...item.unit, tokenFirst, tokenCount: e.count });
          tokenFirst += e.count;
          stats.tokensEncoded += e.count;
          sampled.delete(item);
        }
        p.file.unitCount = p.items!.length;
        indexedFiles.push(p.file);
      }
      pending = [];
      progress();
    };
    let pendingCount = 0;
    for (const p of plan) {
      if (p.reuse) {
        if (pending.length > 0) await flush();
        pendingCount = 0;
        const prev = p.reuse;
        const first = units.length;
        for (let u = prev.unitFirst; u < prev.unitFirst + prev.unitCount; u++) {
          const old = previous!.units[u];
          const at = store.addFrom(previous!.store, old.tokenFirst, old.tokenCount);
          units.push({ ...old, tokenFirst: at });
        }
        indexedFiles.push({ ...prev, unitFirst: first });
        stats.filesReused++;
      } else {
        pending.push(p);
        pendingCount += p.items!.length;
        if (pendingCount >= batchPassages) {
          await flush();
          pendingCount = 0;
        }
      }
    }
    if (pending.length > 0) await flush();
    const frozen = store.freeze();
    if (stats.codecTrained) codec.trainedOnTokens = frozen.count;
    encodedSinceTraining += stats.codecTrained ? 0 : stats.tokensEncoded;
    stats.units = units.length;
    stats.tokens = frozen.count;
    stats.centroids = codec.k;
    stats.seconds = (Date.now() - t0) / 1000;
    return { index: { root, modelFingerprint: encoder.fingerprint, files: indexedFiles, units, store: frozen, encodedSinceTraining }, stats };
  } finally {
    await ownGemm?.dispose();
  }
}

/**
 * Units whose vectors train the codec: a seeded random choice across the whole workspace (not
 * the first files scanned), about `tokens` vectors in all.
 */
function sampleItems(items: readonly UnitItem[], tokens: number): UnitItem[] {
  const rand = mulberry32(CODEC_SEED);
  const order = Array.from(items.keys());
  let k = 0;
  for (let n = 0; k < order.length && n < tokens; k++) {
    const j = k + Math.floor(rand() * (order.length - k));
    [order[k], order[j]] = [order[j], order[k]];
    n += tokenEstimate([items[order[k]]]);
  }
  // Scan order, so that batches hold neighbouring passages as the encoder usually sees them.
  return order.slice(0, k).sort((a, b) => a - b).map((i) => items[i]);
}
