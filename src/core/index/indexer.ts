// Builds or refreshes a WorkspaceIndex from a stream of files. Files whose content hash is
// unchanged keep their units and vectors from the previous index; only new or changed files
// are extracted, tokenized and encoded, in batches across files.
import crypto from 'node:crypto';
import { extractPassages, type ExtractOptions } from '../extract/index';
import { passageText } from '../extract/passage-text';
import type { Encoder, DocInput } from '../model/encoder';
import type { DocEncoder } from '../model/worker-encoder';
import type { Passage } from '../types';
import { TokenEstimate } from './token-estimate';
import { TokenStoreBuilder } from './token-store';
import type { IndexedFile, IndexedUnit, WorkspaceIndex } from './workspace-index';

export interface SourceFile {
  /** Workspace-relative, forward slashes. */
  path: string;
  /** The text, when the caller has it at hand; otherwise `read` is called if the file must be read. */
  text?: string;
  /** Reads the file now; undefined when it turns out to be left out (binary, unreadable, gone…). */
  read?: () => Promise<{ text: string; invalidUtf8?: boolean } | undefined>;
  /**
   * Bytes and modification time from stat. When both equal the previous index's, the file is
   * taken as unchanged without being read (what `git checkout` or a build leaves alone costs
   * nothing). A changed mtime with the same content hash keeps the vectors.
   */
  size?: number;
  mtimeMs?: number;
}

export interface IndexProgress {
  /** Files decided (reused, read, or queued for encoding). */
  filesDone: number;
  /** Files in all, when known (a listed folder; the caller's estimate otherwise). */
  filesTotal?: number;
  filesEncoded: number;
  /** Encoder tokens done: markers, context and body of every passage window encoded so far. */
  tokensDone: number;
  /**
   * Encoder tokens in all: exact for the files already extracted, estimated for the files still
   * to read from their size (tokens per byte seen so far). Only known when the input is a list.
   */
  tokensTotal?: number;
  /** 0…1, never decreasing; 1 only on the last event, when everything is committed. */
  fraction?: number;
  /** Seconds left at the encoding rate so far (absent until something was encoded). */
  etaSeconds?: number;
}

export interface IndexStats {
  files: number;
  filesReused: number;
  filesEncoded: number;
  /** Files whose text was read and hashed; the others were unchanged by size and mtime. */
  filesRead: number;
  units: number;
  tokens: number;
  /** Vectors stored for the files encoded in this run. */
  tokensEncoded: number;
  /** Encoder tokens run in this run (see IndexProgress.tokensDone). */
  sequenceTokens: number;
  seconds: number;
}

export interface IndexerOptions {
  extract?: ExtractOptions;
  onProgress?: (p: IndexProgress) => void;
  /** Passages encoded per batch (bounded memory). */
  batchPassages?: number;
  /**
   * Where batches are encoded: a worker (BackgroundEncoder) or the encoder itself (default).
   * Up to `inFlight` batches are being encoded while the next files are read and extracted.
   */
  docEncoder?: DocEncoder;
  inFlight?: number;
  signal?: AbortSignal;
  /**
   * Awaited before each encoding batch and between files: indexing waits while the promise is
   * pending (paused). An abort of `signal` ends the wait with 'indexing cancelled'.
   */
  pauseGate?: () => Promise<void>;
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

export async function buildIndex(
  root: string,
  files: AsyncIterable<SourceFile> | Iterable<SourceFile>,
  encoder: Encoder,
  previous: WorkspaceIndex | undefined,
  options: IndexerOptions = {},
): Promise<{ index: WorkspaceIndex; stats: IndexStats }> {
  const t0 = Date.now();
  const batchPassages = options.batchPassages ?? 64;
  const inFlight = Math.max(1, options.inFlight ?? 2);
  const docEncoder = options.docEncoder ?? encoder;
  const prevFiles = new Map((previous?.files ?? []).map((f) => [f.path, f]));
  const store = new TokenStoreBuilder(encoder.dim);
  const indexedFiles: IndexedFile[] = [];
  const units: IndexedUnit[] = [];
  const stats: IndexStats = { files: 0, filesReused: 0, filesEncoded: 0, filesRead: 0, units: 0, tokens: 0, tokensEncoded: 0, sequenceTokens: 0, seconds: 0 };
  const unchangedByStat = (f: SourceFile, prev: IndexedFile | undefined): boolean =>
    !!prev && f.mtimeMs !== undefined && f.size !== undefined && prev.mtimeMs === f.mtimeMs && prev.size === f.size;

  // What the run will cost, when the input is a list: files, and bytes still to read.
  const list = Array.isArray(files) ? (files as SourceFile[]) : undefined;
  const filesTotal = list?.length;
  const estimate = new TokenEstimate();
  if (list) for (const f of list) if (!unchangedByStat(f, prevFiles.get(f.path))) estimate.plan(f.path, f.size ?? (f.text !== undefined ? Buffer.byteLength(f.text) : 0));
  let encodeStarted = 0;
  let lastFraction = 0;
  const progress = (final = false): void => {
    if (!options.onProgress) return;
    const p: IndexProgress = { filesDone: stats.files, filesEncoded: stats.filesEncoded, tokensDone: stats.sequenceTokens };
    if (filesTotal !== undefined) {
      const tokensTotal = final ? stats.sequenceTokens : estimate.total();
      const raw = tokensTotal > 0 ? stats.sequenceTokens / tokensTotal : filesTotal > 0 ? stats.files / filesTotal : 1;
      lastFraction = final ? 1 : Math.max(lastFraction, Math.min(0.99, raw));
      Object.assign(p, { filesTotal: Math.max(filesTotal, stats.files), tokensTotal, fraction: lastFraction });
      if (stats.sequenceTokens > 0) {
        const rate = stats.sequenceTokens / Math.max(0.001, (Date.now() - encodeStarted) / 1000);
        p.etaSeconds = final ? 0 : Math.max(0, (tokensTotal - stats.sequenceTokens) / rate);
      }
    }
    options.onProgress(p);
  };

  // Files whose passages wait for a batch, in file order.
  let pending: Array<{ file: IndexedFile; items: Array<{ unit: Passage; input: DocInput }> }> = [];
  let pendingCount = 0;
  // Work committed to the new index strictly in file order: copies of unchanged files (ready at
  // once) and encoding batches (ready when their vectors come back). At most `inFlight` batches
  // are out at a time, which bounds both memory and how far extraction runs ahead.
  const jobs: Array<{ encode: boolean; commit: Promise<() => void> }> = [];
  let encoding = 0;
  const settle = async (maxEncoding: number): Promise<void> => {
    while (jobs.length > 0 && (!jobs[0].encode || encoding > maxEncoding)) {
      const job = jobs.shift()!;
      if (job.encode) encoding--;
      (await job.commit)();
    }
  };
  const enqueue = async (encode: boolean, commit: Promise<() => void>): Promise<void> => {
    commit.catch(() => {}); // a batch abandoned by a cancel must not be an unhandled rejection
    jobs.push({ encode, commit });
    if (encode) encoding++;
    await settle(inFlight);
  };

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

  const flush = async (): Promise<void> => {
    await gate();
    const batch = pending;
    pending = [];
    pendingCount = 0;
    const inputs = batch.flatMap((p) => p.items.map((i) => i.input));
    const sequenceTokens = inputs.reduce((n, d) => n + encoder.sequenceLength(d), 0);
    if (inputs.length > 0 && encodeStarted === 0) encodeStarted = Date.now();
    const encoded = inputs.length > 0 ? docEncoder.encodeDocs(inputs) : Promise.resolve([]);
    await enqueue(true, encoded.then((vectors) => () => {
      let k = 0;
      for (const { file, items } of batch) {
        file.unitFirst = units.length;
        for (const item of items) {
          const e = vectors[k++];
          const first = store.addFloat(e.vectors, e.starts, e.ends);
          units.push({ ...item.unit, tokenFirst: first, tokenCount: e.count });
          stats.tokensEncoded += e.count;
        }
        file.unitCount = items.length;
        indexedFiles.push(file);
      }
      stats.sequenceTokens += sequenceTokens;
      progress();
    }));
  };

  const reuse = async (prev: IndexedFile, now: { size?: number; mtimeMs?: number; invalidUtf8?: boolean }): Promise<void> => {
    if (pending.length > 0) await flush();
    await enqueue(false, Promise.resolve(() => {
      const first = units.length;
      for (let u = prev.unitFirst; u < prev.unitFirst + prev.unitCount; u++) {
        const old = previous!.units[u];
        const at = store.addFrom(previous!.store, old.tokenFirst, old.tokenCount);
        units.push({ ...old, tokenFirst: at });
      }
      indexedFiles.push({ ...prev, ...now, unitFirst: first });
    }));
    stats.filesReused++;
  };

  progress(); // the totals, before the first file (which may wait at a closed pause gate)
  for await (const f of files) {
    await gate();
    const prev = previous ? prevFiles.get(f.path) : undefined;
    if (unchangedByStat(f, prev)) {
      // Same size and mtime as when indexed: unchanged, not even read.
      stats.files++;
      await reuse(prev!, {});
      progress();
      continue;
    }
    const read = f.text !== undefined ? { text: f.text } : await f.read?.();
    if (!read) {
      // Left out after all (the reader reported why).
      if (f.size !== undefined) estimate.skip(f.path, f.size);
      continue;
    }
    stats.files++;
    stats.filesRead++;
    const size = f.size ?? Buffer.byteLength(read.text);
    const hash = contentHash(read.text);
    const now = { size, mtimeMs: f.mtimeMs, invalidUtf8: read.invalidUtf8 || undefined }; // undefined: not saved
    if (prev && prev.hash === hash) {
      // Touched but unchanged (a branch switch back and forth): keep the vectors, note the new mtime.
      estimate.read(f.path, size, 0);
      await reuse(prev, now);
    } else {
      const passages = extractPassages(f.path, read.text, options.extract);
      const items = passages.flatMap((p) => unitsForPassage(encoder, p));
      estimate.read(f.path, size, items.reduce((n, it) => n + encoder.sequenceLength(it.input), 0));
      const file: IndexedFile = { path: f.path, hash, unitFirst: 0, unitCount: 0, ...now };
      pending.push({ file, items });
      pendingCount += items.length;
      stats.filesEncoded++;
      if (pendingCount >= batchPassages) await flush();
    }
    progress();
  }
  if (pending.length > 0) await flush();
  await settle(0);
  await gate(); // a cancel during the last batches still counts: the caller keeps its old index
  const frozen = store.freeze();
  stats.units = units.length;
  stats.tokens = frozen.count;
  stats.seconds = (Date.now() - t0) / 1000;
  progress(true);
  return { index: { root, modelFingerprint: encoder.fingerprint, files: indexedFiles, units, store: frozen }, stats };
}
