// One core index per workspace folder, one shared encoder, searched together. No `vscode`
// import: the extension feeds it folders and settings, and it runs under plain Node in tests.
//
// - The encoder (ONNX model) loads on the first indexing job, not at activation.
// - Jobs run one at a time in a queue; a folder already waiting in the queue is not queued twice.
// - A folder keeps serving its previous index while a refresh runs; a failed or cancelled
//   refresh keeps it too.
// - Pause holds the running job at its next file or encoding batch (the core's pause gate) and
//   any later job before it starts encoding; searches meanwhile use the indexes there are and
//   do not wait for the queue. Cancel (and clear, dispose) ends a pause.
import fs from 'node:fs';
import path from 'node:path';
import { indexDirFor } from '../core/cache-dir';
import { WorkspaceSearch, type SearchResult } from '../core/engine';
import type { IndexProgress } from '../core/index/indexer';
import type { ExtractOptions } from '../core/extract/index';
import { Encoder } from '../core/model/encoder';
import { BackgroundEncoder } from '../core/model/worker-encoder';
import { MultiRootSearch } from '../core/multi-root';
import type { SearchOptions } from '../core/search/searcher';
import type { ScanOptions } from '../core/workspace/scan';
import type { FolderState } from './index-status';
import { indexingKey } from './settings';

export interface FolderSpec {
  /** Stable identity of the folder (its URI as a string). */
  key: string;
  name: string;
  /** Absolute path on disk. */
  root: string;
  scan: ScanOptions;
  extract: ExtractOptions;
}

export interface FolderResult extends SearchResult {
  /** MaxSim and BM25 scores behind `score` (used to merge folders). */
  dense?: number;
  lexical?: number;
  folder: { key: string; name: string; root: string };
  /**
   * The file's text as indexed: the result's offsets refer to it (for a stale result, only the
   * passage's words at their indexed offsets).
   */
  indexedText: string;
}

export type LogLevel = 'info' | 'warn' | 'error';

export interface FolderIndexesOptions {
  /** Where index folders are written (the extension's workspace storage; never the workspace). */
  storageDir: string;
  modelDir: string;
  log: (level: LogLevel, message: string) => void;
  onDidChange?: () => void;
  /** Folders whose files changed since indexing, found by a search (the caller refreshes them). */
  onStaleResults?: (keys: string[]) => void;
}

interface Entry {
  spec: FolderSpec;
  optionsKey: string;
  search?: WorkspaceSearch;
  /** The optionsKey `search` was opened with. */
  searchOptionsKey?: string;
  state: FolderState;
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

export class FolderIndexes {
  private readonly entries = new Map<string, Entry>();
  private encoderPromise: Promise<Encoder> | undefined;
  /** Encodes on one worker thread (the extension host stays responsive), stopped when idle. */
  private background: { encoder: Encoder; docs: BackgroundEncoder } | undefined;
  private modelDir: string;
  private queue: Promise<void> = Promise.resolve();
  private readonly queued = new Set<string>();
  private running: AbortController | undefined;
  private disposed = false;
  /** While paused: resolves on resume (or cancel); the core awaits it between files and batches. */
  private pauseGate: { promise: Promise<void>; open: () => void } | undefined;
  /** Searches waiting for the queue: told when indexing pauses so that they stop waiting. */
  private readonly pauseListeners = new Set<() => void>();

  constructor(private readonly o: FolderIndexesOptions) {
    this.modelDir = o.modelDir;
  }

  /** The folders to index, in display order. Returns the keys whose index must be (re)built. */
  setFolders(specs: readonly FolderSpec[]): string[] {
    const wanted = new Set(specs.map((s) => s.key));
    for (const key of [...this.entries.keys()]) if (!wanted.has(key)) this.entries.delete(key);
    const rebuild: string[] = [];
    const next = new Map<string, Entry>();
    for (const spec of specs) {
      const optionsKey = indexingKey(spec.scan, spec.extract) + '\0' + spec.root;
      const old = this.entries.get(spec.key);
      if (old && old.optionsKey === optionsKey) {
        old.spec = spec;
        old.state.name = spec.name;
        next.set(spec.key, old);
        continue;
      }
      const entry: Entry = old ?? { spec, optionsKey, state: blankState(spec) };
      entry.spec = spec;
      entry.optionsKey = optionsKey;
      if (old) entry.state.stale = true;
      next.set(spec.key, entry);
      rebuild.push(spec.key);
    }
    this.entries.clear();
    for (const [k, e] of next) this.entries.set(k, e);
    this.changed();
    return rebuild;
  }

  /** Switches the model: every folder is rebuilt with it (searches wait for that). */
  setModelDir(dir: string): boolean {
    if (dir === this.modelDir) return false;
    this.modelDir = dir;
    const old = this.encoderPromise;
    this.encoderPromise = undefined;
    this.enqueue(async () => {
      for (const e of this.entries.values()) {
        e.search = undefined;
        e.state = { ...blankState(e.spec) };
      }
      this.changed();
      await this.background?.docs.dispose();
      this.background = undefined;
      if (old) await old.then((enc) => enc.dispose(), () => {});
    });
    return true;
  }

  get folderCount(): number {
    return this.entries.size;
  }

  states(): FolderState[] {
    return [...this.entries.values()].map((e) => ({ ...e.state }));
  }

  /** Marks folders whose files changed (the caller schedules the refresh). */
  markStale(keys: readonly string[]): void {
    let any = false;
    for (const k of keys) {
      const e = this.entries.get(k);
      if (e && e.state.status === 'ready' && !e.state.stale) {
        e.state.stale = true;
        any = true;
      }
    }
    if (any) this.changed();
  }

  /**
   * Queues (re)indexing of `keys` (default: every folder). Resolves when the queue up to these
   * jobs has run; rejects with CancelledError when `signal` aborts them.
   */
  index(keys?: readonly string[], signal?: AbortSignal): Promise<void> {
    const todo = (keys ?? [...this.entries.keys()]).filter((k) => this.entries.has(k) && !this.queued.has(k));
    for (const k of todo) this.queued.add(k);
    return this.enqueue(async () => {
      for (const k of todo) {
        this.queued.delete(k);
        if (signal?.aborted) continue;
        await this.indexOne(k, signal);
      }
      if (signal?.aborted) throw new CancelledError();
    });
  }

  /**
   * Resolves when every folder has been indexed once (queues the ones never indexed), or as soon
   * as indexing is paused: searches then use the indexes there are.
   */
  async whenReady(): Promise<void> {
    const never = [...this.entries.entries()].filter(([, e]) => !e.search && e.state.status === 'idle').map(([k]) => k);
    const job = never.length ? this.index(never).catch(() => {}) : this.queue;
    if (this.paused) return;
    let onPause: () => void = () => {};
    const paused = new Promise<void>((resolve) => {
      onPause = resolve;
      this.pauseListeners.add(onPause);
    });
    try {
      await Promise.race([job, paused]);
    } finally {
      this.pauseListeners.delete(onPause);
    }
  }

  get paused(): boolean {
    return this.pauseGate !== undefined;
  }

  /** Pauses indexing at the next file or encoding batch. Returns false when already paused. */
  pause(): boolean {
    if (this.pauseGate || this.disposed) return false;
    let open: () => void = () => {};
    const promise = new Promise<void>((resolve) => (open = resolve));
    this.pauseGate = { promise, open };
    for (const e of this.entries.values()) if (e.state.status === 'indexing') e.state.paused = true;
    this.o.log('info', 'indexing paused');
    for (const l of [...this.pauseListeners]) l();
    this.changed();
    return true;
  }

  /** Resumes paused indexing. Returns false when not paused. */
  resume(): boolean {
    const gate = this.pauseGate;
    if (!gate) return false;
    this.pauseGate = undefined;
    for (const e of this.entries.values()) e.state.paused = undefined;
    gate.open();
    this.o.log('info', 'indexing resumed');
    this.changed();
    return true;
  }

  /** Resolves when no job is queued or running. */
  async idle(): Promise<void> {
    let q: Promise<void>;
    do {
      q = this.queue;
      await q;
    } while (q !== this.queue);
  }

  /** Cancels the running job (the folder keeps its previous index) and ends a pause. */
  cancel(): void {
    this.running?.abort();
    this.resume();
  }

  /** Searches every indexed folder and merges the results by score. */
  async search(query: string, options: SearchOptions = {}): Promise<FolderResult[]> {
    await this.whenReady();
    const ready = [...this.entries.values()].filter((e) => e.search);
    if (ready.length === 0) {
      const failed = [...this.entries.values()].find((e) => e.state.status === 'error');
      if (failed) throw new Error(failed.state.error ?? 'indexing failed');
      return [];
    }
    const merged = await new MultiRootSearch(ready.map((e) => ({ key: e.spec.key, name: e.spec.name, root: e.spec.root, search: e.search! }))).search(query, options);
    const stale = [...new Set(merged.filter((r) => r.stale).map((r) => r.folder.key))];
    if (stale.length) this.o.onStaleResults?.(stale);
    return merged.map(({ text, ...r }) => ({ ...r, indexedText: text }));
  }

  /** Cancels indexing, forgets every index and deletes the saved ones. */
  async clear(): Promise<void> {
    this.cancel();
    await this.queue;
    for (const e of this.entries.values()) {
      e.search = undefined;
      e.state = blankState(e.spec);
    }
    fs.rmSync(path.join(this.o.storageDir, 'indexes'), { recursive: true, force: true });
    this.o.log('info', `deleted the saved indexes under ${this.o.storageDir}`);
    this.changed();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.cancel();
    await this.queue;
    this.entries.clear();
    const enc = this.encoderPromise;
    this.encoderPromise = undefined;
    await this.background?.docs.dispose();
    this.background = undefined;
    if (enc) await enc.then((e) => e.dispose(), () => {});
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.queue.then(job);
    this.queue = run.catch(() => {});
    return run;
  }

  private docEncoder(encoder: Encoder): BackgroundEncoder {
    if (this.background?.encoder !== encoder) {
      void this.background?.docs.dispose();
      this.background = { encoder, docs: new BackgroundEncoder(encoder, { log: (m) => this.o.log('warn', m) }) };
    }
    return this.background.docs;
  }

  private encoder(): Promise<Encoder> {
    if (!this.encoderPromise) {
      const dir = this.modelDir;
      this.o.log('info', `loading the model from ${dir}`);
      const started = Date.now();
      this.encoderPromise = Encoder.load(dir).then(
        (enc) => {
          this.o.log('info', `model ${enc.manifest.name} loaded in ${Date.now() - started} ms`);
          return enc;
        },
        (e: unknown) => {
          this.encoderPromise = undefined; // try again next time (the folder may be fixed)
          throw e;
        },
      );
    }
    return this.encoderPromise;
  }

  private async indexOne(key: string, outer?: AbortSignal): Promise<void> {
    const entry = this.entries.get(key);
    if (!entry || this.disposed) return;
    const { spec } = entry;
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    outer?.addEventListener('abort', onAbort);
    this.running = ac;
    entry.state = { ...entry.state, status: 'indexing', filesScanned: 0, filesTotal: undefined, percent: undefined, etaSeconds: undefined, paused: this.paused || undefined, error: undefined };
    this.changed();
    const prefix = this.entries.size > 1 ? `[${spec.name}] ` : '';
    try {
      const encoder = await this.encoder();
      if (ac.signal.aborted) throw new CancelledError();
      const onProgress = (p: IndexProgress): void => {
        if (entry.state.status !== 'indexing') return;
        // On a new whole percent, a new total, or every 20 files: enough for the status bar,
        // few enough events.
        const percent = p.fraction !== undefined ? Math.floor(p.fraction * 100) : undefined;
        const st = entry.state;
        if (p.filesTotal !== st.filesTotal || percent !== st.percent || p.filesDone - (st.filesScanned ?? 0) >= 20) {
          entry.state = { ...st, filesScanned: p.filesDone, filesTotal: p.filesTotal, percent, etaSeconds: p.etaSeconds };
          this.changed();
        }
      };
      const pauseGate = (): Promise<void> => this.pauseGate?.promise ?? Promise.resolve();
      const optionsKey = entry.optionsKey;
      // After a save that failed, the folder's index is in memory only, and what is on disk (if
      // anything) is older: opening that again would encode every file changed since — after a
      // first build, all of them — at each change until a save succeeds. The index in memory is
      // brought up to date instead (only what changed is encoded), and its save tried again.
      const inMemory = entry.search && entry.state.notSaved !== undefined && entry.searchOptionsKey === optionsKey && entry.search.encoder === encoder ? entry.search : undefined;
      const search = inMemory ?? await WorkspaceSearch.open(spec.root, {
        modelDir: this.modelDir,
        encoder,
        indexDir: indexDirFor(this.o.storageDir, spec.root, encoder.fingerprint),
        docEncoder: this.docEncoder(encoder),
        persist: true,
        scan: spec.scan,
        signal: ac.signal,
        pauseGate,
        extract: spec.extract,
        onProgress,
        log: (msg) => this.o.log('info', prefix + msg),
      });
      if (inMemory) await inMemory.refresh({ signal: ac.signal, pauseGate, onProgress });
      if (this.entries.get(key) !== entry || this.disposed) return;
      const r = search.report;
      entry.search = search;
      entry.searchOptionsKey = optionsKey;
      // The first question would otherwise pay for the keyword tables and the candidate lists.
      void search.prepare().catch((e: unknown) => this.o.log('warn', `${prefix}search set-up failed: ${(e as Error).message ?? String(e)}`));
      entry.state = {
        ...entry.state, status: 'ready', stale: false, files: r.stats.files, passages: r.stats.units,
        skipped: r.skipped.length, filesScanned: r.stats.files, filesTotal: undefined, percent: undefined, etaSeconds: undefined, paused: undefined, error: undefined,
        notSaved: r.notSaved,
      };
      if (r.notSaved !== undefined) this.o.log('warn', `${prefix}the index could not be saved (${r.notSaved}): searching from memory (changes are indexed into it, and saved once the folder can be written), and the next start indexes this folder again`);
      for (const s of r.skipped.slice(0, 50)) this.o.log('info', `${prefix}skipped ${s.path}: ${s.reason}${s.detail ? ` (${s.detail})` : ''}`);
      if (r.skipped.length > 50) this.o.log('info', `${prefix}… and ${r.skipped.length - 50} more skipped files`);
    } catch (e) {
      if (ac.signal.aborted) {
        this.o.log('info', `${prefix}indexing cancelled`);
        entry.state = { ...entry.state, status: entry.search ? 'ready' : 'idle', filesTotal: undefined, percent: undefined, etaSeconds: undefined, paused: undefined };
      } else {
        const message = (e as Error).message ?? String(e);
        this.o.log('error', `${prefix}indexing failed: ${message}`);
        entry.state = { ...entry.state, status: 'error', error: message, filesTotal: undefined, percent: undefined, etaSeconds: undefined, paused: undefined };
      }
    } finally {
      outer?.removeEventListener('abort', onAbort);
      if (this.running === ac) this.running = undefined;
      this.changed();
    }
  }

  private changed(): void {
    if (!this.disposed) this.o.onDidChange?.();
  }
}

function blankState(spec: FolderSpec): FolderState {
  return { key: spec.key, name: spec.name, status: 'idle', stale: false, filesScanned: 0, files: 0, passages: 0, skipped: 0 };
}
