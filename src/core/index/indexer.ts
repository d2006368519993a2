// Builds or refreshes a WorkspaceIndex from a list of files, streaming: files are listed by
// stat, read only when their size or mtime changed, extracted, encoded (on a worker, with up to
// `inFlight` batches out) and committed in file order into a compressed token store, so that no
// file's text is kept once its passages are queued. Files whose content is unchanged keep their
// units and compressed vectors from the previous index, bit for bit.
//
// The compression codec (centroids, bucket tables) is the previous index's as long as the index
// has not outgrown it. Otherwise (first build, or retraining) every file is encoded again: a
// sampling phase first reads files in a seeded random order and encodes a random share of their
// units until about TRAIN_SAMPLE_TOKENS vectors (at most a quarter of the workspace) are in
// hand, and starts training the codec on them; meanwhile the streaming loop goes on encoding,
// and commits, once the codec is trained, those files (their sampled units from the kept
// encodings, not encoded twice; the rest encoded then) and the other files as they come.
// Memory stays bounded: the sample's vectors and the extracted units of the files it visited
// (about TRAIN_SAMPLE_TOKENS / SAMPLE_UNIT_SHARE tokens' worth), plus the batches in flight
// (up to BACKLOG_TOKENS of them encoded and not yet committed, as while the codec trains).
import crypto from 'node:crypto';
import { extractPassages, type ExtractOptions } from '../extract/index';
import { passageText } from '../extract/passage-text';
import type { Encoder, DocInput, DocEncoding } from '../model/encoder';
import { encodeEach, type DocEncoder } from '../model/worker-encoder';
import type { Passage } from '../types';
import { indexText, TermCounter } from '../search/bm25-analysis';
import { OrtGemm, type MatMulT } from '../gemm';
import { mulberry32 } from '../bench/metrics';
import { CompressedStoreBuilder } from './compressed-store';
import { compact, compactionStart } from './compaction';
import { packSpans } from './span-code';
import { StoredUnit, relocateUnit } from './stored-unit';
import type { Segment, SegmentContent } from './segment-file';
import { centroidCountForSample, emptyCodec, fittedPoints, trainCodec, type ResidualCodec } from './residual-codec';
import { TokenEstimate } from './token-estimate';
import { CentroidShortlist, nearestNeighbours, SHORTLIST_NEIGHBOURS } from './centroid-shortlist';
import type { IndexedFile, IndexedUnit, WorkspaceIndex } from './workspace-index';

/**
 * Encoder tokens the codec is trained on, at most (about 8 vectors a centroid at
 * MAX_INDEX_CENTROIDS, 4/5 of them for k-means). Twice the 32768 before: on fastify the decoded
 * vectors' mean squared error fell from 0.00927 to 0.00702 and the hybrid ranking's top-10
 * agreement with exact float32 rose from 0.950 to 0.956 (dense nprobe 4 / 256: 0.940 → 0.949);
 * the 10k speed workspace's build took as long either way (k-means overlaps encoding).
 */
const TRAIN_SAMPLE_TOKENS = 65536;
/**
 * Share of the workspace's encoder tokens the sample takes at most, so that the codec trains
 * (on this thread) while the encoder works through the rest; a sample of the whole workspace
 * left the encoder idle during training (the 1k speed-bench workspace was sampled whole).
 */
const MAX_SAMPLE_OF_WORKSPACE = 0.25;
/** Smallest sample worth leaving the rest for: a workspace this small is sampled whole. */
const MIN_TRAIN_SAMPLE_TOKENS = 4096;
/**
 * At most this many centroids, whatever the index's size (centroidCountFor, 32·√tokens, asks for
 * 16384 from 262k vectors on). A vector searched exactly is compared with every centroid (8192 ×
 * 128 multiply-adds: ~19 µs in 8 bits, nearestCentroidsFast, about as much CPU as encoding it
 * here), the others with their token's shortlist (centroid-shortlist.ts); fewer centroids cost
 * agreement (−0.004 at 4096 on fastify), and the sample (TRAIN_SAMPLE_TOKENS) still gives each
 * centroid ~8 training points.
 */
const MAX_INDEX_CENTROIDS = 8192;
/**
 * Share of a visited file's units that go into the training sample (more where the workspace is
 * small). Whole files made a sample of fewer, correlated files: fastify's top-10 agreement of
 * compressed with exact MaxSim was 0.906 (0.896 pruned) with whole files, 0.919 (0.909) with a
 * quarter of the units of 4× as many files (0.920 / 0.917 sampling units across all files).
 */
const SAMPLE_UNIT_SHARE = 0.25;
/**
 * Passes of k-means. With a few sample points a centroid (about 5 on fastify: 4096 centroids,
 * 26k sample vectors) more passes fit the centroids to the sample rather than to the index:
 * fastify's top-10 agreement of compressed with exact MaxSim was 0.930 after 2 or 4 passes,
 * 0.920 after 6; and each pass costs sample × centroids multiply-adds, which the encoder waits for.
 */
const KMEANS_ITERATIONS = 2;
/** New vectors held in memory before a build writes them out as a segment (~40 MB of 40-byte records). */
const SPILL_VECTORS = 1 << 20;
/**
 * Encoder tokens of the batches out at a time, encoded or being encoded, not yet committed: what
 * waits for the codec while it trains, and what a backlog then drains from. 288k tokens: up to
 * ~150 MB of float vectors. (64k left the encoder idle while the codec trained; 192k still left
 * it idle ~0.3–1 s at 10k and 100k passages, where training and the centroids' neighbour graph
 * take 5–7 s: the peak RSS of the 10k build stayed 500–590 MB either way.)
 */
const BACKLOG_TOKENS = 294912;
const CODEC_SEED = 12345;
/** Files read ahead of the loop that extracts them, and their bytes at most (their texts wait in memory). */
const READ_AHEAD = 8;
const READ_AHEAD_BYTES = 4 << 20;
/**
 * Rows of a product between turns of the event loop (256 × 8192 centroids: ~7 ms in 8 bits, ~10
 * in float32). Each product repacks its right-hand matrix: at 64 rows the repacking made k-means
 * and exact assignment ~25 % slower a row, and the 10k speed workspace's build took 30.5–34.8 s
 * against 27.7–31.8 s at 256, run for run.
 */
const CHUNK_ROWS = 256;

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
  /** Files in all (the list's length). */
  filesTotal?: number;
  filesEncoded: number;
  /** Encoder tokens done: markers, context and body of every passage window encoded so far. */
  tokensDone: number;
  /**
   * Encoder tokens in all: exact for the files already extracted, estimated for the files still
   * to read from their size (tokens per byte seen so far).
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
  /** Whether this build trained a new codec (first build, or the index outgrew the old one). */
  codecTrained: boolean;
  centroids: number;
  /** Vectors the codec was trained on, when it was (0 otherwise). */
  sampleVectors: number;
  /** Vectors of this run assigned a centroid from their token's shortlist (centroid-shortlist.ts), not by exact search. */
  shortlisted: number;
  seconds: number;
}

export interface IndexerOptions {
  extract?: ExtractOptions;
  onProgress?: (p: IndexProgress) => void;
  /** Passages encoded per batch (bounded memory). */
  batchPassages?: number;
  /**
   * Where batches are encoded: a worker (BackgroundEncoder) or the encoder itself, one passage a
   * model run (default).
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
  /** Matrix product for centroid training and assignment (default: onnxruntime's GEMM). */
  matmul?: MatMulT;
  /** Encoder tokens of the codec's training sample (default TRAIN_SAMPLE_TOKENS; tests use less). */
  trainSampleTokens?: number;
  /** Fewest sample vectors a centroid (default MIN_POINTS_PER_CENTROID; 0 sizes the centroids by the index alone). */
  minPointsPerCentroid?: number;
  /**
   * Writes a segment of the build in progress (index-file.ts writeSpillSegment): given, the new
   * vectors are written out at a file boundary once SPILL_VECTORS (or `spillVectors`) of them,
   * and at least as many as were written before, are in memory, so that a large first build
   * holds at most about half its codes and texts at a time, in a few segments.
   */
  spill?: (content: SegmentContent) => Segment;
  spillVectors?: number;
}

/** Same size and mtime as when indexed: taken as unchanged, without reading the file. */
export function unchangedByStat(f: { size?: number; mtimeMs?: number }, prev: IndexedFile | undefined): boolean {
  return !!prev && f.mtimeMs !== undefined && f.size !== undefined && prev.mtimeMs === f.mtimeMs && prev.size === f.size;
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
  // Windows end at a word start (a token that begins after a gap in the text and is no `##`
  // continuation: characters the tokenizer drops, like a zero-width space, leave gaps inside a
  // word), so a window never splits a word and widened highlights stay inside their unit. In a
  // run without gaps longer than a window (a URL, minified code) any word start will do, so that
  // a window tokenises alone as it does in its passage: evidence recovers the token spans of a
  // unit without stored ones from its own text alone (unit-spans.ts).
  const startsWord = (t: number): boolean => !encoder.tokenizer.continuesWord(tok.ids[t]);
  const out: Array<{ unit: Passage; input: DocInput }> = [];
  for (let w = 0, e = 0; w < n; w = e) {
    e = Math.min(n, w + cap);
    if (e < n) {
      let cut = e;
      while (cut > w + 1 && (fileStarts[cut] <= fileEnds[cut - 1] || !startsWord(cut))) cut--;
      if (cut === w + 1) for (cut = e; cut > w + 1 && !startsWord(cut); ) cut--;
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

/**
 * The token ids and word-start flags of the units' vectors (Encoder.keptTokens), concatenated in
 * unit order, and each unit's vectors' file spans as its encoding gives them (Encoder.keptSpans),
 * packed for its segment (span-code.ts). A unit
 * whose encoding is not one vector a kept token (a stand-in encoder's) gets no flags and no
 * spans — its evidence then tokenises its text again (unit-spans.ts) — and the batch no token
 * ids, which only means exact centroid assignment.
 */
function keptTokensOf(encoder: Encoder, items: readonly UnitItem[], encodings: readonly DocEncoding[], n: number): { tokenIds: Int32Array | undefined; wordStarts: Uint8Array; spans: Array<Uint8Array | undefined> } {
  let tokenIds: Int32Array | undefined = new Int32Array(n);
  const wordStarts = new Uint8Array(n);
  const spans: Array<Uint8Array | undefined> = [];
  for (let k = 0, at = 0; k < items.length; at += encodings[k++].count) {
    const kept = encoder.keptTokens(items[k].input);
    if (kept.ids.length === encodings[k].count) {
      tokenIds?.set(kept.ids, at);
      wordStarts.set(kept.wordStarts, at);
      spans.push(packSpans(encodings[k], items[k].unit.start));
    } else {
      tokenIds = undefined;
      spans.push(undefined);
    }
  }
  return { tokenIds, wordStarts, spans };
}
/**
 * A file read and extracted for encoding; each item's encoding once encoded (the training
 * sample's early: `inSample` marks the items sent to the encoder for the sample).
 */
type Extracted = { file: IndexedFile; items: UnitItem[]; sequenceTokens: number; encodings: Array<DocEncoding | undefined>; inSample?: Uint8Array };

export async function buildIndex(
  root: string,
  files: AsyncIterable<SourceFile> | Iterable<SourceFile>,
  encoder: Encoder,
  previous: WorkspaceIndex | undefined,
  options: IndexerOptions = {},
): Promise<{ index: WorkspaceIndex; stats: IndexStats }> {
  const t0 = Date.now();
  // 64 passages a batch, a large file's units split over several. Passages are encoded one a
  // model run (worker-encoder.ts), so a bigger request no longer pads less; the hostile-workspace
  // test's peak RSS was 600–635 MB with 256-passage requests (onnxruntime's arena sized for model
  // batches of 32 padded passages), ~530–640 MB while a file's units went into one batch, and
  // ~350–390 MB with both bounded.
  const batchPassages = options.batchPassages ?? 64;
  const inFlight = Math.max(1, options.inFlight ?? 2);
  // In-thread, passages are encoded one a model run as on the worker (worker-encoder.ts): the
  // vectors then do not depend on where or in which batch a passage was encoded.
  const docEncoder: DocEncoder = options.docEncoder ?? { encodeDocs: (docs) => encodeEach(encoder, docs) };
  const stats: IndexStats = {
    files: 0, filesReused: 0, filesEncoded: 0, filesRead: 0, units: 0, tokens: 0, tokensEncoded: 0, sequenceTokens: 0,
    codecTrained: false, centroids: 0, sampleVectors: 0, shortlisted: 0, seconds: 0,
  };
  const bytesOf = (f: SourceFile): number => f.size ?? (f.text !== undefined ? Buffer.byteLength(f.text) : 0);

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

  // The sampling phase picks files from the whole list, so an iterable is listed first (callers
  // that stream, tests mostly, pass small inputs; the engine passes a stat-only list).
  let list: SourceFile[];
  if (Array.isArray(files)) list = files as SourceFile[];
  else {
    list = [];
    for await (const f of files) {
      await gate();
      list.push(f);
    }
  }

  // 1. The codec: the previous one, unless the index has outgrown it — more than twice the
  // vectors it was trained on, or more encoded with it since than it was trained on. The new
  // vectors are not known before the files are read: the previous index's vectors per byte
  // stand in for them (a file whose text is at hand and unchanged counts as unchanged).
  const prevCodec = previous?.store.codec;
  let codec: ResidualCodec | undefined;
  let encodedSinceTraining = 0;
  if (previous && prevCodec && prevCodec.k > 0 && prevCodec.dim === encoder.dim) {
    const prevByPath = new Map(previous.files.map((f) => [f.path, f]));
    const vectorsOf = (f: IndexedFile): number => {
      let n = 0;
      for (let u = f.unitFirst; u < f.unitFirst + f.unitCount; u++) n += previous.units[u].tokenCount;
      return n;
    };
    const prevBytes = previous.files.reduce((n, f) => n + f.size, 0);
    // Live vectors only: the store also counts the dead ones of replaced files until compaction,
    // which made the estimate for new text, and so a retrain, come early.
    const prevVectors = previous.files.reduce((n, f) => n + vectorsOf(f), 0);
    const perByte = prevBytes > 0 ? prevVectors / prevBytes : 0;
    let total = 0;
    let fresh = 0;
    for (const f of list) {
      const prev = prevByPath.get(f.path);
      if (prev && (unchangedByStat(f, prev) || (f.text !== undefined && contentHash(f.text) === prev.hash))) total += vectorsOf(prev);
      else {
        const n = bytesOf(f) * perByte;
        total += n;
        fresh += n;
      }
    }
    if (!(total > 2 * prevCodec.trainedOnTokens || previous.encodedSinceTraining + fresh > prevCodec.trainedOnTokens)) {
      codec = prevCodec;
      encodedSinceTraining = previous.encodedSinceTraining;
    }
  }
  // Retraining re-encodes every file: old vectors are coded against other centroids.
  const reusing = codec !== undefined ? previous : undefined;
  const prevFiles = new Map((reusing?.files ?? []).map((f) => [f.path, f]));

  // What the run will cost: files, and bytes still to read.
  const filesTotal = list.length;
  const estimate = new TokenEstimate();
  for (const f of list) if (!unchangedByStat(f, prevFiles.get(f.path))) estimate.plan(f.path, bytesOf(f));
  let encodeStarted = 0;
  let lastFraction = 0;
  const progress = (final = false): void => {
    if (!options.onProgress) return;
    const p: IndexProgress = { filesDone: stats.files, filesEncoded: stats.filesEncoded, tokensDone: stats.sequenceTokens };
    const tokensTotal = final ? stats.sequenceTokens : estimate.total();
    const raw = tokensTotal > 0 ? stats.sequenceTokens / tokensTotal : filesTotal > 0 ? stats.files / filesTotal : 1;
    lastFraction = final ? 1 : Math.max(lastFraction, Math.min(0.99, raw));
    Object.assign(p, { filesTotal: Math.max(filesTotal, stats.files), tokensTotal, fraction: lastFraction });
    if (stats.sequenceTokens > 0) {
      const rate = stats.sequenceTokens / Math.max(0.001, (Date.now() - encodeStarted) / 1000);
      p.etaSeconds = final ? 0 : Math.max(0, (tokensTotal - stats.sequenceTokens) / rate);
    }
    options.onProgress(p);
  };

  // Files the loop will read next, read ahead of it (up to READ_AHEAD files, READ_AHEAD_BYTES by
  // their stat sizes): one read is several turns of the event loop (open, read, close), and while
  // the codec trains its products leave the loop a turn every few milliseconds, so reading one
  // file after another fed the encoder too slowly and it sat idle through much of the training.
  const readsAhead = new Map<SourceFile, Promise<{ text: string; invalidUtf8?: boolean } | undefined>>();
  let readAheadTo = 0;
  let bytesAhead = 0;
  const readAhead = (from: number, wanted: (f: SourceFile) => boolean): void => {
    for (readAheadTo = Math.max(readAheadTo, from); readAheadTo < Math.min(list.length, from + READ_AHEAD); readAheadTo++) {
      const f = list[readAheadTo];
      if (f.text !== undefined || !f.read || !wanted(f)) continue;
      if (bytesAhead + bytesOf(f) > READ_AHEAD_BYTES) break; // (read when the loop gets there)
      const reading = f.read();
      reading.catch(() => {}); // (awaited when the loop gets there; a cancel may leave it unread)
      readsAhead.set(f, reading);
      bytesAhead += bytesOf(f);
    }
  };
  /** Reads and extracts a file to encode; undefined when it is left out after all. */
  const extractFile = async (f: SourceFile, prev: IndexedFile | undefined): Promise<Extracted | { reuse: IndexedFile; now: Partial<IndexedFile> } | undefined> => {
    const ahead = readsAhead.get(f);
    if (ahead) bytesAhead -= bytesOf(f);
    readsAhead.delete(f);
    const read = f.text !== undefined ? { text: f.text } : await (ahead ?? f.read?.());
    if (!read) {
      // Left out after all (the reader reported why).
      if (f.size !== undefined) estimate.skip(f.path, f.size);
      return undefined;
    }
    const size = f.size ?? Buffer.byteLength(read.text);
    const hash = contentHash(read.text);
    const now = { size, mtimeMs: f.mtimeMs, invalidUtf8: read.invalidUtf8 || undefined }; // undefined: not saved
    if (prev && prev.hash === hash) {
      // Touched but unchanged (a branch switch back and forth): keep the vectors, note the new mtime.
      estimate.read(f.path, size, 0);
      return { reuse: prev, now };
    }
    const items = extractPassages(f.path, read.text, options.extract).flatMap((p) => unitsForPassage(encoder, p));
    const sequenceTokens = items.reduce((n, it) => n + encoder.sequenceLength(it.input), 0);
    estimate.read(f.path, size, sequenceTokens);
    return { file: { path: f.path, hash, unitFirst: 0, unitCount: 0, ...now }, items, sequenceTokens, encodings: new Array(items.length).fill(undefined) };
  };

  const ownGemm = options.matmul ? undefined : await OrtGemm.create();
  const matmul = options.matmul ?? ownGemm!;
  // Training runs beside the loop: when the build ends early (cancelled, failed) its next
  // product fails instead of reaching a disposed session, and the build waits for it to stop.
  let ended = false;
  const stopped = (): Promise<never> => Promise.reject(new Error('indexing ended'));
  // The build's products (the codec's training and neighbour graph, the commits' rotation and
  // exact assignment) run CHUNK_ROWS rows at a time, each followed by a turn of the event loop:
  // onnxruntime runs a product on this thread and resolves at once, so a chain of them ran as one
  // long microtask, and the loop could neither read files nor hand the encoder its next batches —
  // the encoder sat idle through most of the training (3 to 8 s of the 10k speed workspace's
  // build, by a CPU profile of both threads).
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  // A product of one chunk comes back as onnxruntime made it: copied into an array of our own it
  // counted toward V8's limit (see MatMulT.multiplyT), as the neighbour graph's 512-row blocks
  // did, 256 MB of them at 8192 centroids.
  const inChunks = async <T extends Int32Array | Float32Array>(a: Float32Array, m: number, k: number, perRow: number, make: (n: number) => T, run: (rows: Float32Array, n: number) => Promise<T>, into?: T): Promise<T> => {
    if (!into && m <= CHUNK_ROWS) {
      if (ended) return stopped();
      const out = await run(a.subarray(0, m * k), m);
      await turn();
      return out;
    }
    if (into && into.length < m * perRow) throw new RangeError(`an output array of ${into.length} for a product of ${m * perRow}`);
    const out = into ? (into.subarray(0, m * perRow) as T) : make(m * perRow);
    for (let r = 0; r < m; r += CHUNK_ROWS) {
      if (ended) return stopped();
      const rows = Math.min(CHUNK_ROWS, m - r);
      out.set(await run(a.subarray(r * k, (r + rows) * k), rows), r * perRow);
      await turn();
    }
    return out;
  };
  const yieldingMatmul: MatMulT = {
    multiplyT: (a, m, b, n, k, into) => inChunks(a, m, k, n, (len) => new Float32Array(len), (rows, r) => matmul.multiplyT(rows, r, b, n, k), into),
    argmaxT: matmul.argmaxT && ((a, m, b, n, k) => inChunks(a, m, k, 1, (len) => new Int32Array(len), (rows, r) => matmul.argmaxT!(rows, r, b, n, k))),
    argmaxInt8T: matmul.argmaxInt8T && ((a, m, b) => inChunks(a, m, b.k, 1, (len) => new Int32Array(len), (rows, r) => matmul.argmaxInt8T!(rows, r, b))),
  };
  let training: Promise<{ codec: ResidualCodec; neighbours?: Int32Array }> | undefined;
  try {
    progress(); // the totals, before the first file (which may wait at a closed pause gate)

    /** Trains the codec on the sample's encodings (`tokens`: their encoder tokens, punctuation included). */
    const train = async (encs: DocEncoding[], tokens: number): Promise<{ codec: ResidualCodec; neighbours?: Int32Array }> => {
      const n = encs.reduce((a, e) => a + e.count, 0);
      stats.sampleVectors = n;
      const sample = new Float32Array(n * encoder.dim);
      let at = 0;
      for (const e of encs) {
        sample.set(e.vectors.subarray(0, e.count * encoder.dim), at);
        at += e.count * encoder.dim;
      }
      // The estimate counts encoder tokens, punctuation included: vectors by the sample's ratio.
      const vectorsExpected = Math.round(estimate.total() * (n / Math.max(1, tokens)));
      const k = Math.min(MAX_INDEX_CENTROIDS, centroidCountForSample(vectorsExpected, fittedPoints(n), options.minPointsPerCentroid));
      // The centroids' neighbour graph (the shortlists' climb) is part of the training: computed
      // here, while the encoder still runs ahead, its k × k product and top-8 scan (~1 s at 8192
      // centroids) no longer stall the commits that follow, and lists start with the first vector.
      if (n === 0) return { codec: emptyCodec(encoder.dim) };
      const c = await trainCodec(sample, n, encoder.dim, { k, iterations: KMEANS_ITERATIONS, seed: CODEC_SEED, matmul: yieldingMatmul, trainedOnTokens: 0 });
      return { codec: c, neighbours: CentroidShortlist.usesLists(c.k, c.dim) ? await nearestNeighbours(c.centroids, c.k, c.dim, SHORTLIST_NEIGHBOURS, yieldingMatmul) : undefined };
    };

    // 2. Training: a seeded random sample of the files, encoded now and kept for the commit.
    const sampled = new Map<SourceFile, Extracted | undefined>();
    if (!codec) {
      const rand = mulberry32(CODEC_SEED);
      const order = Array.from(list.keys());
      // Units, not whole files: a share of each file's units, from files in a random order, so
      // that the sample spans SAMPLE_UNIT_SHARE⁻¹ times as many files (centroids fitted to a few
      // files' vocabulary code the rest worse). The files' other units are encoded in the loop.
      let batch: Array<{ x: Extracted; chosen: number[] }> = [];
      let batchCount = 0;
      const out: Array<Promise<void>> = [];
      const encodeSample = async (): Promise<void> => {
        await gate();
        const b = batch;
        for (const { x, chosen } of b) {
          x.inSample ??= new Uint8Array(x.items.length);
          for (const k of chosen) x.inSample[k] = 1;
        }
        batch = [];
        batchCount = 0;
        const inputs = b.flatMap(({ x, chosen }) => chosen.map((i) => x.items[i].input));
        if (inputs.length > 0 && encodeStarted === 0) encodeStarted = Date.now();
        const sequenceTokens = inputs.reduce((n, d) => n + encoder.sequenceLength(d), 0);
        const done = docEncoder.encodeDocs(inputs).then((encs) => {
          let k = 0;
          for (const { x, chosen } of b) for (const i of chosen) x.encodings[i] = encs[k++];
          stats.sequenceTokens += sequenceTokens;
          progress();
        });
        done.catch(() => {}); // one abandoned by a cancel must not be an unhandled rejection
        out.push(done);
        while (out.length >= inFlight) await out.shift();
      };
      /** Adds a file's chosen units to the sample's batches, at most a batch's worth at a time (as the loop below adds a file). */
      const addToSample = async (x: Extracted, chosen: number[]): Promise<void> => {
        for (let c = 0; c < chosen.length; ) {
          const piece = chosen.slice(c, c + batchPassages);
          batch.push({ x, chosen: piece });
          batchCount += piece.length;
          c += piece.length;
          if (batchCount >= batchPassages) await encodeSample();
        }
      };
      // At most a quarter of the workspace (the codec trains while the rest is encoded), at
      // least MIN_TRAIN_SAMPLE_TOKENS: a workspace that small or smaller is sampled whole.
      // Re-read after each file: the estimate starts from stat sizes, and a file that turns out
      // to be left out (a 50 MB minified bundle) or code with fewer comments than the prior
      // brings it down; a target fixed at the start sampled most of such a workspace (60k of
      // the hostile test's 115k vectors, all of them then waiting for the codec in memory).
      const target = (): number => options.trainSampleTokens
        ?? Math.max(MIN_TRAIN_SAMPLE_TOKENS, Math.min(TRAIN_SAMPLE_TOKENS, Math.round(MAX_SAMPLE_OF_WORKSPACE * estimate.total())));
      let tokens = 0;
      let visited = 0;
      for (let i = 0; i < order.length && tokens < target(); i++, visited++) {
        const j = i + Math.floor(rand() * (order.length - i));
        [order[i], order[j]] = [order[j], order[i]];
        await gate();
        const f = list[order[i]];
        const x = (await extractFile(f, undefined)) as Extracted | undefined;
        sampled.set(f, x);
        if (!x) continue;
        // Decided now (read, to be encoded), though committed in file order later.
        stats.files++;
        stats.filesRead++;
        stats.filesEncoded++;
        const share = Math.min(1, Math.max(SAMPLE_UNIT_SHARE, target() / Math.max(1, estimate.total())));
        const chosen = x.items.flatMap((item, k) => (share >= 1 || rand() < share ? [k] : []));
        tokens += chosen.reduce((n, k) => n + encoder.sequenceLength(x.items[k].input), 0);
        await addToSample(x, chosen);
        progress();
      }
      const goal = target();
      if (visited === order.length && tokens < goal) {
        // Every file seen and still short (the size estimate was high, or the draw of units was
        // thin): more of the same files' units, up to the target — not the whole workspace,
        // which would leave nothing to encode while the codec trains.
        if (batch.length > 0) await encodeSample();
        while (out.length > 0) await out.shift();
        for (const x of sampled.values()) {
          if (!x || tokens >= goal) continue;
          const rest: number[] = [];
          for (let k = 0; k < x.items.length && tokens < goal; k++) {
            if (x.inSample?.[k]) continue;
            rest.push(k);
            tokens += encoder.sequenceLength(x.items[k].input);
          }
          // (Counted in `tokens`, so that the vectors-per-token ratio below is the sample's: they were
          // not, which doubled the centroids of a workspace sampled whole, 4096 instead of 2048 at 57k vectors.)
          await addToSample(x, rest);
        }
      }
      if (batch.length > 0) await encodeSample();
      // The last sample batches are still with the encoder. The loop below goes on meanwhile (its
      // batches queue behind them, and their commits wait for the codec, so for them), and the
      // training starts once they are back: waiting for them here left the encoder idle.
      const samplesDone = Promise.all(out);
      // In list order, so that the sample does not depend on how batches came back (taken now:
      // the loop below drops files from `sampled` as it reaches them).
      const sampleFiles = list.flatMap((f) => sampled.get(f) ?? []);
      // Not awaited: the codec trains on this thread between its matrix products while the loop
      // below goes on reading files and feeding the encoder; their batches wait for it to commit.
      training = samplesDone.then(() => train(sampleFiles.flatMap((x) => x.encodings.filter((e): e is DocEncoding => e !== undefined)), tokens));
      training.catch(() => {}); // awaited by the first commit; a cancel before it must not be unhandled
      stats.codecTrained = true;
    }
    // 3. In file order: keep reused files' compressed vectors where they are in the previous
    // store (the new store is the previous one's parts plus one new part), encode and compress
    // the others into the new part. The store exists once the codec does (at once when it is the
    // previous index's; a retrained codec reuses nothing).
    let store = codec && new CompressedStoreBuilder(codec, 4096, reusing?.store);
    const storeReady: Promise<CompressedStoreBuilder> = store
      ? Promise.resolve(store)
      : training!.then((t) => (codec = t.codec, store = new CompressedStoreBuilder(t.codec, 4096, undefined, t.neighbours)));
    storeReady.catch(() => {}); // as `training`
    const indexedFiles: IndexedFile[] = [];
    const units: IndexedUnit[] = [];
    // Files' units that wait for a batch, in file order: a file with more units than a batch
    // takes is split over several, batchPassages units at a time (one 400 KB Markdown file in
    // one batch held ~100k float vectors several times over in its commit: ~150 MB of the
    // hostile-workspace test's peak RSS). A batch ends after the file that fills it, so it
    // holds fewer than 2 × batchPassages units, and smaller files are never split.
    let pending: Array<{ x: Extracted; from: number; to: number }> = [];
    let pendingCount = 0;
    // Whether the last commit ended inside a file (its next units are in the next batch): no
    // spill then, as a file's units are stored together, in one segment.
    let midFile = false;
    // Work committed to the new index strictly in file order: copies of unchanged files (ready at
    // once) and encoding batches (ready when their vectors come back). At most `inFlight` batches
    // are with the encoder at a time, and encoded batches not yet committed hold at most
    // BACKLOG_TOKENS: that bounds both memory and how far extraction runs ahead. While the codec
    // trains, encoded batches wait for it (the encoder keeps working up to BACKLOG_TOKENS); once
    // it is trained, encoded batches are committed between new ones while the encoder has a full
    // queue, so that it is fed while a backlog drains (draining it at once left the encoder idle
    // for ~2 s of the 10k speed workspace's build).
    /** `encoded`: an encoding batch's vectors (none for a copy of unchanged files); `done` once they are back. */
    type Job = { tokens: number; commit: Promise<() => Promise<void> | void>; encoded?: Promise<unknown>; done: boolean };
    const jobs: Job[] = [];
    let encodingTokens = 0;
    const settle = async (maxEncoding: number): Promise<void> => {
      while (jobs.length > 0) {
        const job = jobs[0];
        if (job.encoded && maxEncoding > 0) {
          const running = jobs.filter((j) => !j.done);
          if (running.length > maxEncoding) {
            await running[0].encoded; // (the encoder has enough to do)
            continue;
          }
          // An encoded batch is committed early (before the backlog is full) only while the
          // encoder has a full queue: a commit takes 50–200 ms (more while the shortlists are
          // young), about what a batch takes to encode, and two in a row between new batches
          // left the encoder idle for ~1 s in all while a backlog drained (10k speed workspace).
          const full = encodingTokens > BACKLOG_TOKENS;
          if (!full && !(store !== undefined && job.done && running.length >= maxEncoding)) break;
        }
        jobs.shift();
        encodingTokens -= job.tokens;
        await (await job.commit)();
        spillIfFull();
      }
    };
    // Units before this one are no longer in the in-memory part (spilled, or the base's).
    let spillFrom = 0;
    // A build whose index is written (it spills, then saves) counts each new unit's BM25 terms
    // as it commits it, while the encoder runs, for the segment write to copy (IndexedUnit.terms):
    // counted in the writes instead, they took ~0.35 s of the 10k speed workspace's final save,
    // with the encoder done, and stalled the loop in each spill.
    let termCounter = options.spill ? new TermCounter() : undefined;
    let spillFailed = false;
    const spillIfFull = (): void => {
      // Parts grow with the build (each at least as large as all before it together), so that a
      // build of any size is a few segments, which compaction's size tiers leave alone.
      if (!options.spill || spillFailed || !store || midFile || store.inMemory < Math.max(options.spillVectors ?? SPILL_VECTORS, store.spilledVectors)) return;
      const partBase = store.count - store.inMemory;
      const at: number[] = [];
      for (let k = spillFrom; k < units.length; k++) if (units[k].tokenFirst >= partBase) at.push(k);
      let done: ReturnType<CompressedStoreBuilder['spill']>;
      try {
        done = store.spill(at.map((k) => units[k]), options.spill);
      } catch {
        // (an index folder that cannot be written: the build goes on in memory, and its save
        // reports the folder's problem)
        spillFailed = true;
        return;
      }
      if (done) at.forEach((k, i) => (units[k] = new StoredUnit(units[k].path, units[k].tokenFirst, done.segment, done.local[i])));
      spillFrom = units.length;
      if (termCounter) termCounter = new TermCounter(); // (its word cache: bounded by a part too)
    };
    const enqueue = async (commit: Promise<() => Promise<void> | void>, encoded?: Promise<unknown>, tokens = 0): Promise<void> => {
      commit.catch(() => {}); // a batch abandoned by a cancel must not be an unhandled rejection
      const job: Job = { tokens, commit, encoded, done: encoded === undefined };
      encoded?.then(() => (job.done = true), () => (job.done = true));
      jobs.push(job);
      encodingTokens += tokens;
      await settle(inFlight);
    };

    // Arrays made batch after batch on this thread slow the encoder. The bytes of typed arrays
    // made in JavaScript (and of buffers arriving from the worker) count toward V8's
    // old-generation limit until the next full collection, and this thread's heap is small, so
    // every ~10–20 MB of them set off one; their marking runs on V8's helper threads, which took
    // CPU from the encoder's thread on this 2-core machine. On the 10k speed workspace's build:
    // 1.41 GB of typed arrays made here (each batch's rows, their rotation, the rows searched
    // exactly, the neighbour graph's blocks) and 0.39 GB of encodings from the worker; 76–87 full
    // collections. Now the batch's rows, rotation and gathered rows are arrays kept from batch
    // to batch, single-chunk products are onnxruntime's own arrays (which do not count), and the
    // worker's buffers go back to it (DocEncoder.release): 0.28 GB, 38–46 collections, and the
    // encoder ran 15–25 % faster in the build (three runs of each, paired: 33.0 / 31.2 / 34.8k
    // vectors a second before, 37.8 / 38.4 / 43.6k after). With V8's helper threads off
    // (--single-threaded-gc) the encoder had run as fast in the build as alone.
    // The batches' float rows: one array, grown as needed (commits run one at a time, and
    // addFloat keeps nothing of its input).
    let batchRows = new Float32Array(0);
    const flush = async (): Promise<void> => {
      await gate();
      const batch = pending;
      pending = [];
      pendingCount = 0;
      // The training sample's units come with their encodings (some may still be on their way:
      // the commit waits for the codec, which waits for them).
      const todo: Array<{ x: Extracted; i: number }> = [];
      for (const { x, from, to } of batch) for (let i = from; i < to; i++) if (!x.inSample?.[i]) todo.push({ x, i });
      const inputs = todo.map(({ x, i }) => x.items[i].input);
      const sequenceTokens = inputs.reduce((n, d) => n + encoder.sequenceLength(d), 0);
      if (inputs.length > 0 && encodeStarted === 0) encodeStarted = Date.now();
      const encoded = inputs.length > 0 ? docEncoder.encodeDocs(inputs) : Promise.resolve([]);
      await enqueue(Promise.all([encoded, storeReady]).then(([vectors, store]) => async () => {
        let k = 0;
        for (const { x, i } of todo) x.encodings[i] = vectors[k++];
        // The whole batch is compressed at once (one centroid-assignment product).
        const encs = batch.flatMap(({ x, from, to }) => x.encodings.slice(from, to) as DocEncoding[]); // all filled by now
        const D = encoder.dim;
        const n = encs.reduce((a, e) => a + e.count, 0);
        if (batchRows.length < n * D) batchRows = new Float32Array(Math.max(n * D, 2 * batchRows.length));
        const rows = batchRows.subarray(0, n * D);
        for (let e = 0, at = 0; e < encs.length; at += encs[e++].count) rows.set(encs[e].vectors.subarray(0, encs[e].count * D), at * D);
        // Each vector's token id (for the centroid shortlists) and word-start flag, and each
        // unit's spans (for evidence, stored with the unit's text).
        const kept = keptTokensOf(encoder, batch.flatMap(({ x, from, to }) => x.items.slice(from, to)), encs, n);
        let tokenFirst = n > 0 ? await store.addFloat(rows, n, yieldingMatmul, kept.tokenIds, kept.wordStarts) : store.count;
        let u = 0;
        for (const { x, from, to } of batch) {
          if (from === 0) x.file.unitFirst = units.length;
          for (let i = from; i < to; i++) {
            const item = x.items[i];
            const count = x.encodings[i]!.count;
            const terms = termCounter && (termCounter.add(indexText(item.unit.context, item.unit.segments)), termCounter.counted());
            const spans = kept.spans[u++];
            units.push({ ...item.unit, tokenFirst, tokenCount: count, ...(terms ? { terms } : {}), ...(spans ? { spans } : {}) });
            tokenFirst += count;
            stats.tokensEncoded += count;
            x.encodings[i] = undefined; // (released as committed, also where a file spans batches)
          }
          midFile = to < x.items.length;
          if (midFile) continue; // (its next units are in the next batch)
          x.file.unitCount = x.items.length;
          indexedFiles.push(x.file);
        }
        // Their vectors are in the store now (and `rows`): the worker may reuse their buffers.
        docEncoder.release?.(encs);
        stats.sequenceTokens += sequenceTokens;
        progress();
      }), encoded, sequenceTokens);
    };

    const reuse = async (prev: IndexedFile, now: Partial<IndexedFile>): Promise<void> => {
      if (pending.length > 0) await flush();
      await enqueue(Promise.resolve(() => {
        const first = units.length;
        for (let u = prev.unitFirst; u < prev.unitFirst + prev.unitCount; u++) {
          const old = reusing!.units[u];
          const at = store!.addFrom(reusing!.store, old.tokenFirst, old.tokenCount);
          units.push(relocateUnit(old, at));
        }
        indexedFiles.push({ ...prev, ...now, unitFirst: first });
      }));
      stats.filesReused++;
    };

    for (let i = 0; i < list.length; i++) {
      const f = list[i];
      readAhead(i, (g) => !sampled.has(g) && !unchangedByStat(g, prevFiles.get(g.path)));
      await gate();
      const prev = prevFiles.get(f.path);
      if (unchangedByStat(f, prev)) {
        // Same size and mtime as when indexed: unchanged, not even read.
        stats.files++;
        await reuse(prev!, {});
        progress();
        continue;
      }
      const inSample = sampled.has(f);
      const x = inSample ? sampled.get(f) : await extractFile(f, prev);
      sampled.delete(f);
      if (!x) continue;
      if (!inSample) {
        stats.files++;
        stats.filesRead++;
      }
      if ('reuse' in x) await reuse(x.reuse, x.now);
      else {
        if (!inSample) stats.filesEncoded++;
        // (a file without units is still committed, in its place)
        let from = 0;
        do {
          const to = Math.min(x.items.length, from + batchPassages);
          pending.push({ x, from, to });
          pendingCount += to - from;
          from = to;
          if (pendingCount >= batchPassages) await flush();
        } while (from < x.items.length);
      }
      progress();
    }
    if (pending.length > 0) await flush();
    await settle(0);
    await gate(); // a cancel during the last batches still counts: the caller keeps its old index
    const builder = await storeReady;
    stats.shortlisted = builder.shortlist?.stats.listed ?? 0;
    let frozen = builder.freeze();
    codec = frozen.codec;
    let liveUnits: IndexedUnit[] = units;
    // The previous vectors of changed and deleted files are dead space in the kept parts.
    const from = compactionStart(frozen, liveUnits);
    if (from >= 0) ({ store: frozen, units: liveUnits } = compact(frozen, liveUnits, from));
    const liveTokens = liveUnits.reduce((n, u) => n + u.tokenCount, 0);
    if (stats.codecTrained) codec.trainedOnTokens = liveTokens;
    else encodedSinceTraining += stats.tokensEncoded;
    stats.units = liveUnits.length;
    stats.tokens = liveTokens;
    stats.centroids = codec.k;
    stats.seconds = (Date.now() - t0) / 1000;
    progress(true);
    return { index: { root, modelFingerprint: encoder.fingerprint, files: indexedFiles, units: liveUnits, store: frozen, encodedSinceTraining }, stats };
  } finally {
    ended = true;
    await training?.catch(() => {});
    await ownGemm?.dispose();
  }
}
