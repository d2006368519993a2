// The core's front door: load a model, index a workspace folder (reusing the cached index for
// unchanged files), search it. Used by the CLI and by the extension host.
import fs from 'node:fs';
import path from 'node:path';
import { Encoder, modelFingerprint } from './model/encoder';
import { BackgroundEncoder, WorkerEncoder, workerAllowed, type DocEncoder } from './model/worker-encoder';
import { formatProgress } from './index/progress-text';
import { buildIndex, contentHash, unchangedByStat, type IndexProgress, type IndexStats, type SourceFile } from './index/indexer';
import { hasIndex, loadIndex, saveIndex, writeSpillSegment } from './index/index-file';
import type { SegmentContent } from './index/segment-file';
import type { IndexedFile, WorkspaceIndex } from './index/workspace-index';
import { Searcher, type SearchHit, type SearchOptions } from './search/searcher';
import type { QueryEncoding } from './model/encoder';
import type { ExactScores, PruningOptions } from './search/candidate-ranker';
import { decodeFileText, listWorkspace, readEntry, type ScanOptions, type WorkspaceEntry } from './workspace/scan';
import type { ExtractOptions } from './extract/index';
import type { SkippedFile } from './types';
import { indexDirFor, userCacheDir } from './cache-dir';

/** The shipped model, next to the bundle (dist/../models) or the sources (src/../models). */
export function defaultModelDir(): string {
  // dist/cli.js and dist/extension.js sit one level below the package root, the sources
  // (src/core/engine.ts under tsx) two: look upwards for the shipped model.
  for (let dir = __dirname, i = 0; i < 4; i++, dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'models', 'es-colbert-small');
    if (fs.existsSync(path.join(candidate, 'model.json'))) return candidate;
  }
  return path.join(__dirname, '..', 'models', 'es-colbert-small');
}

/** realpath of the nearest existing ancestor, with the rest of the path appended (symlinks resolved). */
function realpathLenient(p: string): string {
  const abs = path.resolve(p);
  let head = abs;
  const tail: string[] = [];
  while (!fs.existsSync(head)) {
    const parent = path.dirname(head);
    if (parent === head) return abs;
    tail.unshift(path.basename(head));
    head = parent;
  }
  return path.join(fs.realpathSync(head), ...tail);
}

export interface OpenOptions {
  modelDir: string;
  /** Index folder; default: the user cache folder, keyed by root and model. */
  indexDir?: string;
  /** Save the index for the next run (default true). */
  persist?: boolean;
  scan?: ScanOptions;
  extract?: ExtractOptions;
  log?: (msg: string) => void;
  encoder?: Encoder;
  /**
   * Where passages are encoded. Default: a worker thread started for this run (and stopped
   * after it), falling back to the caller's thread; a long-lived caller passes its own.
   */
  docEncoder?: DocEncoder;
  /** Progress of indexing: files and encoder tokens done of the estimated totals, and an ETA. */
  onProgress?: (p: IndexProgress) => void;
  /** Cancels indexing between batches; the previous saved index stays as it was. */
  signal?: AbortSignal;
  /** Awaited before each encoding batch and between files: indexing pauses while it is pending. */
  pauseGate?: () => Promise<void>;
}

export interface WorkspaceReport {
  root: string;
  indexDir: string | null;
  stats: IndexStats;
  skipped: SkippedFile[];
  skippedByReason: Record<string, number>;
  invalidUtf8: string[];
  /**
   * Why the index could not be saved to indexDir (a full disk, a folder that cannot be written):
   * it is searched from memory, and the next start builds it again. Absent when it was saved.
   */
  notSaved?: string;
}

export interface SearchResult {
  path: string;
  start: number;
  end: number;
  score: number;
  /** Evidence ranges in the file; always empty for a stale result. */
  highlights: Array<[number, number]>;
  kind: string;
  language: string;
  context: string;
  /**
   * The file changed since it was indexed: the offsets may no longer point at the passage, so
   * there are no highlights (refresh the index, or search with `onStale: 'refresh'`).
   */
  stale: boolean;
  /** MaxSim and BM25 scores behind `score` (absent when that ranking was not used). */
  dense?: number;
  lexical?: number;
}

export interface WorkspaceSearchOptions extends SearchOptions {
  /**
   * A result whose file changed since indexing: 'mark' it stale, without highlights (default),
   * or 'refresh' the index (only changed files are re-read) and search again.
   */
  onStale?: 'mark' | 'refresh';
}

/**
 * Bytes of changed files up to which a run without a caller-provided encoder encodes on the
 * caller's thread instead of starting a worker: ~4k tokens, a few hundred ms of encoding.
 */
const IN_THREAD_CHANGE_BYTES = 16 * 1024;

/** Texts read for evidence, kept for the callers that show them next (snippets, the editor). */
const TEXT_CACHE_FILES = 64;

interface VerifiedText {
  text: string;
  /** stat when read: while it is the same, the text need not be read and hashed again. */
  size: number;
  mtimeMs: number;
}

export class WorkspaceSearch {
  private searcher: Searcher;
  /** Recently read file texts that match the index (verified by hash). Bounded. */
  private readonly texts = new Map<string, VerifiedText>();

  private constructor(
    readonly encoder: Encoder,
    private current: WorkspaceIndex,
    private currentReport: WorkspaceReport,
    private readonly o: OpenOptions,
    private readonly ownsEncoder: boolean,
  ) {
    this.searcher = this.newSearcher();
  }

  /** The index searched now (replaced by refresh()). */
  get index(): WorkspaceIndex {
    return this.current;
  }

  /** What the last indexing run did and left out. */
  get report(): WorkspaceReport {
    return this.currentReport;
  }

  private newSearcher(): Searcher {
    return new Searcher(this.encoder, this.current, (p) => this.fileText(p), this.o.log);
  }

  static async open(rootDir: string, o: OpenOptions): Promise<WorkspaceSearch> {
    const log = o.log ?? (() => {});
    const root = fs.realpathSync(path.resolve(rootDir));
    const early = o.encoder || o.docEncoder ? undefined : startWorkerForFirstBuild(root, o);
    let encoder: Encoder | undefined;
    try {
      encoder = o.encoder ?? (await Encoder.load(path.resolve(o.modelDir)));
      const indexDir = indexDirOf(root, o, encoder.fingerprint);
      if (indexDir && (indexDir === root || indexDir.startsWith(root + path.sep))) {
        throw new Error(`the index folder ${indexDir} is inside the searched folder ${root}; choose one outside it (nothing is written into the workspace)`);
      }
      let previous: WorkspaceIndex | undefined;
      if (indexDir) {
        const loaded = loadIndex(indexDir, { root, model: encoder.fingerprint, dim: encoder.dim });
        if ('index' in loaded) previous = loaded.index;
        else if (loaded.reason !== 'no index yet') log(`index: ${loaded.reason}`);
      }
      const { index, report } = await indexFolder(root, indexDir, encoder, previous, o, early);
      return new WorkspaceSearch(encoder, index, report, o, !o.encoder);
    } catch (e) {
      void early?.then((w) => w.dispose(), () => {}); // (a no-op once indexFolder disposed it)
      if (!o.encoder) await encoder?.dispose();
      throw e;
    }
  }

  /**
   * Brings the index up to date with the folder: files with an unchanged size and mtime are not
   * read, changed ones are re-encoded, deleted ones dropped; saved when anything changed. The
   * previous index keeps answering until the new one is complete (and if this fails).
   */
  async refresh(options: Pick<OpenOptions, 'signal' | 'pauseGate' | 'onProgress'> = {}): Promise<WorkspaceReport> {
    // The open's own signal, pause gate and progress belonged to that run, not to this one.
    const o: OpenOptions = { ...this.o, scan: { ...this.o.scan, signal: undefined }, signal: undefined, pauseGate: undefined, onProgress: undefined, ...options };
    const { index, report } = await indexFolder(this.current.root, this.currentReport.indexDir, this.encoder, this.current, o);
    this.current = index;
    this.currentReport = report;
    this.texts.clear();
    const old = this.searcher;
    this.searcher = this.newSearcher();
    await old.dispose();
    return report;
  }

  /**
   * A file's text: as verified by the latest searches (the offsets of their results that are not
   * stale refer to it), else as read from disk now. The index keeps no file texts.
   */
  fileText(p: string): string {
    const cached = this.texts.get(p);
    if (cached !== undefined) return cached.text;
    if (!this.fileByPath().has(p)) throw new Error(`file not in the index: ${p}`);
    return readText(path.join(this.current.root, ...p.split('/')));
  }

  /** How a file on disk compares with its indexed version; the text when it matches. */
  private async checkFile(p: string): Promise<{ state: 'fresh'; text: VerifiedText } | { state: 'changed' | 'deleted' }> {
    const file = this.fileByPath().get(p);
    if (!file) return { state: 'deleted' };
    const abs = path.join(this.current.root, ...p.split('/'));
    try {
      const st = await fs.promises.stat(abs);
      const cached = this.texts.get(p);
      if (cached && cached.size === st.size && cached.mtimeMs === st.mtimeMs) return { state: 'fresh', text: cached };
      const text = decodeFileText(await fs.promises.readFile(abs));
      return contentHash(text) === file.hash ? { state: 'fresh', text: { text, size: st.size, mtimeMs: st.mtimeMs } } : { state: 'changed' };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      return { state: code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' ? 'deleted' : 'changed' };
    }
  }

  private filesByPath: { index: WorkspaceIndex; map: Map<string, IndexedFile> } | undefined;
  private fileByPath(): Map<string, IndexedFile> {
    if (this.filesByPath?.index !== this.current) this.filesByPath = { index: this.current, map: new Map(this.current.files.map((f) => [f.path, f])) };
    return this.filesByPath.map;
  }

  /** Keeps the texts of the latest search (all of them) and of earlier ones up to the bound. */
  private remember(fresh: ReadonlyMap<string, VerifiedText>): void {
    for (const [p, t] of fresh) {
      this.texts.delete(p);
      this.texts.set(p, t);
    }
    const keep = Math.max(TEXT_CACHE_FILES, fresh.size);
    for (const p of this.texts.keys()) {
      if (this.texts.size <= keep) break;
      this.texts.delete(p);
    }
  }

  /**
   * Ranked hits with evidence, checked against the files on disk first: evidence is computed only
   * on a file whose content hash still matches the index (never at old offsets); a changed file's
   * hits are marked stale, a deleted file's dropped.
   */
  async searchHits(query: string, options: WorkspaceSearchOptions = {}): Promise<Array<SearchHit & { stale: boolean }>> {
    const { onStale, ...searchOptions } = options;
    const top = options.top ?? 10;
    const states = new Map<string, Awaited<ReturnType<WorkspaceSearch['checkFile']>>>();
    let hits: SearchHit[] = [];
    // Deleted files' hits are dropped: ask for as many more as were dropped (a few rounds at most).
    for (let want = top, round = 0; ; round++) {
      hits = await this.searcher.search(query, { ...searchOptions, top: want, evidence: false });
      // In parallel: one after another, the ~10 results' stat and read round trips through the
      // thread pool took ~3 ms of a 25–30 ms query at 10k passages (paired, in parallel: 3–10 %
      // less a query; synchronous reads would save a little more, but block the extension host
      // on a slow or remote file system).
      const unchecked = [...new Set(hits.map((h) => h.unit.path))].filter((p) => !states.has(p));
      const checked = Promise.all(unchecked.map((p) => this.checkFile(p)));
      // While the thread pool stats and reads the files, the shown passages' token spans are read
      // from their segments for their evidence. (Little of it overlaps: each check's steps — stat,
      // open, read, close — wait for this thread in between. When the spans were recovered from
      // the passages' texts here, ~0.5–0.6 ms a question at 10k, the wait for the checks grew by
      // about as much.)
      if (options.evidence !== false && round === 0) this.searcher.warmSpans(hits.slice(0, top).map((h) => h.unit));
      (await checked).forEach((s, k) => states.set(unchecked[k], s));
      const dropped = hits.filter((h) => states.get(h.unit.path)!.state === 'deleted').length;
      if (dropped === 0 || hits.length < want || round === 3) break;
      want = top + dropped;
    }
    const outdated = [...states.values()].some((s) => s.state !== 'fresh');
    if (outdated && onStale === 'refresh') {
      await this.refresh();
      return this.searchHits(query, { ...options, onStale: 'mark' });
    }
    const fresh = new Map<string, VerifiedText>();
    for (const [p, s] of states) if (s.state === 'fresh') fresh.set(p, s.text);
    this.remember(fresh);
    const out: Array<SearchHit & { stale: boolean }> = [];
    const q = options.evidence === false ? undefined : await this.searcher.encodeQuery(query);
    if (q) await this.searcher.prepareEvidence(q, hits.filter((h) => states.get(h.unit.path)!.state === 'fresh').slice(0, top).map((h) => h.unit));
    for (const h of hits) {
      const s = states.get(h.unit.path)!;
      if (s.state === 'deleted' || out.length === top) continue;
      const stale = s.state === 'changed';
      const highlights = q && !stale ? await this.searcher.evidence(q, h.unit, options.threshold, options.granularity) : [];
      out.push({ ...h, highlights, stale });
    }
    return out;
  }

  /** Builds the search structures the first query would build (call when idle after open). */
  async prepare(): Promise<void> {
    await this.searcher.prepare();
  }

  /** Evidence ranges of one unit for a query (used by tuning and by callers that rank elsewhere). */
  async evidenceFor(query: string, unit: SearchHit['unit'], threshold?: number, granularity?: 'token' | 'sentence'): Promise<Array<[number, number]>> {
    return this.searcher.evidence(await this.searcher.encodeQuery(query), unit, threshold, granularity);
  }

  async encodeQuery(query: string): Promise<QueryEncoding> {
    return this.searcher.encodeQuery(query);
  }

  /** Exact dense scores of the units that can rank for a query (all, or the pruned candidates). */
  async denseScores(q: QueryEncoding, pruning: PruningOptions): Promise<ExactScores> {
    return this.searcher.denseScores(q, pruning);
  }

  async search(query: string, options: WorkspaceSearchOptions = {}): Promise<SearchResult[]> {
    const hits = await this.searchHits(query, options);
    return hits.map((h) => ({
      path: h.unit.path, start: h.unit.start, end: h.unit.end, score: h.score, highlights: h.highlights,
      kind: h.unit.kind, language: h.unit.language, context: h.unit.context, stale: h.stale,
      ...(h.dense !== undefined ? { dense: h.dense } : {}), ...(h.lexical !== undefined ? { lexical: h.lexical } : {}),
    }));
  }

  async dispose(): Promise<void> {
    await this.searcher.dispose();
    this.texts.clear();
    if (this.ownsEncoder) await this.encoder.dispose();
  }
}

/** The index folder of `root` for a model (null when the index is not persisted). */
function indexDirOf(root: string, o: OpenOptions, fingerprint: string): string | null {
  return (o.persist ?? true) ? realpathLenient(o.indexDir ?? indexDirFor(userCacheDir(), root, fingerprint)) : null;
}

/**
 * A folder with no index yet is encoded whole: its encoding worker starts loading the model now,
 * beside this thread's own load of it (about half a second each), instead of after it. Undefined
 * when the folder has an index (an open that finds it up to date loads no second model), when
 * workers are turned off, or when the model cannot be read (Encoder.load then says why).
 */
function startWorkerForFirstBuild(root: string, o: OpenOptions): Promise<WorkerEncoder> | undefined {
  if (!workerAllowed()) return undefined;
  try {
    const modelDir = path.resolve(o.modelDir);
    const fingerprint = modelFingerprint(modelDir);
    const indexDir = indexDirOf(root, o, fingerprint);
    if (indexDir && hasIndex(indexDir)) return undefined;
    const starting = WorkerEncoder.start({ modelDir, fingerprint });
    starting.catch(() => {}); // the BackgroundEncoder that takes it reports a failure
    return starting;
  } catch {
    return undefined;
  }
}

/** A file's text decoded as the scan decodes it, so that indexed offsets apply to it. */
function readText(abs: string): string {
  return decodeFileText(fs.readFileSync(abs));
}

/**
 * One indexing run over a folder: list it (stat only), then stream the files through reading,
 * extraction and encoding — only the files whose size or mtime changed are read, and no file's
 * text is kept once its passages are queued. Saves the index when anything changed.
 */
async function indexFolder(
  root: string,
  indexDir: string | null,
  encoder: Encoder,
  previous: WorkspaceIndex | undefined,
  o: OpenOptions,
  /** A worker open() started for a first build (startWorkerForFirstBuild): this run's to use and dispose. */
  early?: Promise<WorkerEncoder>,
): Promise<{ index: WorkspaceIndex; report: WorkspaceReport }> {
  const log = o.log ?? (() => {});
  const skipped: SkippedFile[] = [];
  const invalidUtf8: string[] = [];
  const signal = o.signal ?? o.scan?.signal;
  const scanOptions: ScanOptions = { ...o.scan, signal, onSkip: (s: SkippedFile) => skipped.push(s) };
  const entries: WorkspaceEntry[] = [];
  for await (const e of listWorkspace(root, scanOptions)) entries.push(e);
  const files: SourceFile[] = entries.map((e) => ({
    path: e.path, size: e.size, mtimeMs: e.mtimeMs,
    read: async () => {
      const f = await readEntry(e, scanOptions);
      if (f?.invalidUtf8) invalidUtf8.push(f.path);
      return f && { text: f.text, invalidUtf8: f.invalidUtf8 };
    },
  }));
  // Starting the encoding worker loads a second copy of the model (1–2 s on a busy machine): for
  // a few changed files, encoding them here is faster than that. Callers that keep their own
  // (warm) worker pass it as o.docEncoder and are not affected.
  const prevFiles = new Map((previous?.files ?? []).map((f) => [f.path, f]));
  const changedBytes = previous
    ? entries.reduce((n, e) => (unchangedByStat(e, prevFiles.get(e.path)) ? n : n + e.size), 0)
    : Infinity;
  const ownDocEncoder = o.docEncoder ? undefined : new BackgroundEncoder(encoder, { log, worker: early, ...(changedBytes <= IN_THREAD_CHANGE_BYTES ? { useWorker: false } : {}) });
  // Changed files to encode: the worker loads its model while the first files are read (the
  // extension's and the CLI watcher's own encoders too: their workers stop when idle).
  if (changedBytes > 0) (o.docEncoder ?? ownDocEncoder)?.prepare?.();
  let lastLog = Date.now();
  let result: { index: WorkspaceIndex; stats: IndexStats };
  try {
    result = await buildIndex(root, files, encoder, previous, {
      extract: o.extract,
      // A large build writes its vectors out as it goes (segments no manifest names until the save).
      ...(indexDir ? { spill: (content: SegmentContent) => writeSpillSegment(indexDir, content) } : {}),
      signal,
      pauseGate: o.pauseGate,
      docEncoder: o.docEncoder ?? ownDocEncoder,
      onProgress: (p) => {
        o.onProgress?.(p);
        const now = Date.now();
        if (now - lastLog > 2000 && !o.onProgress) {
          lastLog = now;
          log(`indexing: ${formatProgress(p)}`);
        }
      },
    });
  } finally {
    await ownDocEncoder?.dispose();
  }
  if (signal?.aborted) throw new Error('indexing cancelled');
  const { stats } = result;
  let { index } = result;
  // Files not read this run keep their flag from the run that read them.
  for (const f of index.files) if (f.invalidUtf8 && !invalidUtf8.includes(f.path)) invalidUtf8.push(f.path);
  invalidUtf8.sort();
  const skippedByReason: Record<string, number> = {};
  for (const s of skipped) skippedByReason[s.reason] = (skippedByReason[s.reason] ?? 0) + 1;
  const report: WorkspaceReport = { root, indexDir, stats, skipped, skippedByReason, invalidUtf8 };
  const skippedNote = skipped.length ? `; skipped ${skipped.length} (${Object.entries(skippedByReason).map(([k, v]) => `${v} ${k}`).join(', ')})` : '';
  const utf8Note = invalidUtf8.length ? `; ${invalidUtf8.length} with invalid UTF-8 (decoded with U+FFFD)` : '';
  log(`indexed ${stats.files} files (${stats.filesReused} unchanged, ${stats.filesEncoded} encoded), ${stats.units} passages, ${stats.tokens} token vectors in ${stats.seconds.toFixed(1)} s; ${stats.filesRead} file${stats.filesRead === 1 ? '' : 's'} read${stats.codecTrained ? `; compression trained: ${stats.centroids} centroids on ${stats.sampleVectors} sample vectors` : ''}${skippedNote}${utf8Note}`);
  if (stats.files === 0) log(`no Markdown or source files with comments found under ${root}`);
  const changed = stats.filesEncoded > 0 || !previous || previous.units.length !== index.units.length || previous.files.length !== index.files.length
    || index.files.some((f, i) => f.mtimeMs !== previous.files[i]?.mtimeMs || f.path !== previous.files[i]?.path);
  if (indexDir && changed) {
    try {
      // From now on the saved index: vectors and texts served from its files, not memory.
      index = saveIndex(indexDir, index);
    } catch (e) {
      report.notSaved = (e as Error).message ?? String(e);
      log(`index: could not save to ${indexDir}: ${report.notSaved} (searching from memory; the next start indexes again)`);
    }
  }
  return { index, report };
}
