// Passage encoding on a worker thread. Indexing a folder is mostly ONNX inference; run on the
// caller's thread it blocks that thread (the VS Code extension host, where every extension
// lives) for seconds at a time. Here the model runs in one worker (its own session, one intra-op
// thread) fed bounded batches, while the caller keeps scanning, extracting and answering.
//
// Indexing runs the model on one passage at a time (INDEX_MODEL_BATCH), with no padding. On one
// CPU thread batching buys nothing for this small model and padding costs a lot: on the 1k
// speed-bench workspace (57k vectors, passages of 37–180 tokens) the encoder gave 9.6k vectors/s
// in requests of 64 passages cut into model batches of 32, 21k/s with the whole workspace
// length-sorted in one request, and 29.5k/s one passage at a time, whatever the request size.
//
// The worker entry is dist/encode-worker.js next to the bundle, or src/core/model/encode-worker.ts
// under tsx (loaded through tsx's require hook). When the worker cannot start or dies, encoding
// falls back to the caller's thread with a logged reason: slower to live with, never wrong.
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { DocEncoding, DocInput, Encoder } from './encoder';

/** What the indexer needs to turn passages into vectors (an Encoder itself, or a worker). */
export interface DocEncoder {
  encodeDocs(docs: readonly DocInput[]): Promise<DocEncoding[]>;
  /** Told that encoding is about to start (a worker may start loading its model now). */
  prepare?(): void;
  /**
   * Told that the caller is done with these encodings (it keeps no view of their vectors): their
   * memory may be reused — a worker's buffers go back to it (see encode-worker.ts). Optional;
   * encodings it did not make are ignored.
   */
  release?(encodings: readonly DocEncoding[]): void;
}

/** Set to 0 to encode on the caller's thread (comparisons, debugging). */
export const WORKER_ENV = 'EVIDENCE_SEARCH_ENCODE_WORKER';

/** Passages a model run takes when indexing: one, so that nothing is padded (see above). */
export const INDEX_MODEL_BATCH = 1;

class WorkerFailed extends Error {}

/**
 * Encodes on the caller's thread exactly as the worker does (one passage a model run): a worker
 * that fails mid-index must not leave vectors of two slightly different numerics in one index.
 */
export async function encodeEach(encoder: Encoder, docs: readonly DocInput[]): Promise<DocEncoding[]> {
  const out: DocEncoding[] = [];
  for (let i = 0; i < docs.length; i += INDEX_MODEL_BATCH) out.push(...(await encoder.encodeDocs(docs.slice(i, i + INDEX_MODEL_BATCH))));
  return out;
}

function workerSource(): { code: string; eval: boolean } {
  const bundled = path.join(__dirname, 'encode-worker.js');
  if (fs.existsSync(bundled)) return { code: bundled, eval: false };
  const source = path.join(__dirname, 'encode-worker.ts');
  if (fs.existsSync(source)) {
    // Running from the sources (tsx): the worker needs tsx's CommonJS hook to load TypeScript.
    const hookName = 'tsx/cjs'; // a variable, so that the bundler leaves this lookup alone
    const hook = require.resolve(hookName);
    return { code: `require(${JSON.stringify(hook)}); require(${JSON.stringify(source)});`, eval: true };
  }
  throw new Error(`no encode-worker.js next to ${__dirname}`);
}

/** The model a worker loads: its folder, and the fingerprint the worker's copy must have. */
export interface ModelRef {
  modelDir: string;
  fingerprint: string;
}

/** Whether encoding may use a worker thread at all (EVIDENCE_SEARCH_ENCODE_WORKER=0 turns it off). */
export function workerAllowed(): boolean {
  return process.env[WORKER_ENV] !== '0';
}

/** One worker thread with its own copy of the model. Requests are answered in order. */
export class WorkerEncoder implements DocEncoder {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: DocEncoding[]) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  /**
   * The worker's buffers that results came in, with how many of their encodings are not yet
   * released. Weak: the encodings of a build that was cancelled are never released, and must not
   * be kept alive here (the extension's worker serves build after build).
   */
  private buffers = new WeakMap<ArrayBufferLike, number>();
  /** Encodings released already (a second release must not hand a buffer back early). */
  private readonly released = new WeakSet<DocEncoding>();

  private constructor(private readonly worker: Worker) {
    worker.on('message', (msg: { id: number; results?: DocEncoding[]; error?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return; // a request abandoned by terminate()
      this.pending.delete(msg.id);
      if (msg.error !== undefined) p.reject(new Error(msg.error));
      else {
        for (const r of msg.results!) this.buffers.set(r.vectors.buffer, (this.buffers.get(r.vectors.buffer) ?? 0) + 1);
        p.resolve(msg.results!);
      }
      this.updateRef();
    });
    const fail = (e: Error): void => {
      this.failure ??= new WorkerFailed(`encoding worker stopped: ${e.message}`);
      for (const p of this.pending.values()) p.reject(this.failure);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exit code ${code}`)));
  }

  /**
   * Starts the worker and waits until its model is loaded; rejects when it cannot. The worker's
   * model runs take `batchSize` passages (default INDEX_MODEL_BATCH, as encodeEach).
   */
  static async start(model: ModelRef, options: { threads?: number; batchSize?: number } = {}): Promise<WorkerEncoder> {
    const src = workerSource();
    const worker = new Worker(src.code, {
      eval: src.eval,
      workerData: { modelDir: model.modelDir, threads: options.threads ?? 1, batchSize: options.batchSize ?? INDEX_MODEL_BATCH },
      stdout: false,
      stderr: false,
    });
    const ready = await new Promise<{ type: string; fingerprint?: string; message?: string }>((resolve, reject) => {
      const onError = (e: Error): void => reject(e);
      const onExit = (code: number): void => reject(new Error(`exited with code ${code} while loading the model`));
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.once('message', (m) => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(m);
      });
    }).catch(async (e: Error) => {
      await worker.terminate();
      throw e;
    });
    if (ready.type !== 'ready' || ready.fingerprint !== model.fingerprint) {
      await worker.terminate();
      throw new Error(ready.type === 'failed' ? ready.message! : `the worker loaded another model (${ready.fingerprint})`);
    }
    const w = new WorkerEncoder(worker);
    w.updateRef();
    return w;
  }

  encodeDocs(docs: readonly DocInput[]): Promise<DocEncoding[]> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<DocEncoding[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.updateRef();
      this.worker.postMessage({ id, docs });
    });
  }

  /** Hands each buffer back to the worker once all its encodings are released (DocEncoder.release). */
  release(encodings: readonly DocEncoding[]): void {
    for (const e of encodings) {
      const buffer = e.vectors.buffer;
      const left = this.buffers.get(buffer);
      if (left === undefined || this.released.has(e)) continue;
      this.released.add(e);
      if (left > 1) {
        this.buffers.set(buffer, left - 1);
        continue;
      }
      this.buffers.delete(buffer);
      if (!this.failure) this.worker.postMessage({ reuse: buffer }, [buffer as ArrayBuffer]);
    }
  }

  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** An idle worker must not keep the process alive; one with work must (its answer is awaited). */
  private updateRef(): void {
    if (this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  async dispose(): Promise<void> {
    this.failure ??= new WorkerFailed('encoding worker disposed');
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
    this.buffers = new WeakMap();
    await this.worker.terminate();
  }
}

export interface BackgroundEncoderOptions {
  log?: (msg: string) => void;
  /** Stop the worker after this long without work (its model copy is freed); default 60 s. */
  idleMs?: number;
  /** false: always encode on the caller's thread. Default: true unless EVIDENCE_SEARCH_ENCODE_WORKER=0. */
  useWorker?: boolean;
  /**
   * A worker already loading the encoder's model (WorkspaceSearch.open starts one beside its own
   * load of the model when the folder has no index yet): used instead of starting another, and
   * disposed with this encoder (at once, when this encoder works in-thread).
   */
  worker?: Promise<WorkerEncoder>;
}

/**
 * The DocEncoder the indexer uses: a worker started on first use (so an index that is already
 * up to date costs no model load), stopped when idle, and the caller's thread as the fallback.
 */
export class BackgroundEncoder implements DocEncoder {
  private worker: Promise<WorkerEncoder | undefined> | undefined;
  /** The worker that encoded the last batch: its encodings are released to it (a stopped one's are not). */
  private encodedBy: WorkerEncoder | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private inThread: boolean;
  private disposed = false;

  constructor(private readonly encoder: Encoder, private readonly o: BackgroundEncoderOptions = {}) {
    this.inThread = !(o.useWorker ?? workerAllowed());
    if (o.worker && this.inThread) void o.worker.then((w) => w.dispose(), () => {});
    else if (o.worker) this.worker = this.withFallback(o.worker);
  }

  /**
   * Starts loading the worker's model now, when the caller knows that it will encode (the load
   * then overlaps its reading and extracting of the first files, instead of delaying the first
   * batch by about half a second). Does nothing in-thread.
   */
  prepare(): void {
    if (!this.inThread && !this.disposed) {
      void this.startWorker();
      this.armIdle();
    }
  }

  /** 'worker' or 'in-thread': where the next batch will be encoded (after a fallback, in-thread). */
  get mode(): 'worker' | 'in-thread' {
    return this.inThread ? 'in-thread' : 'worker';
  }

  async encodeDocs(docs: readonly DocInput[]): Promise<DocEncoding[]> {
    const w = this.inThread ? undefined : await this.startWorker();
    if (!w) return encodeEach(this.encoder, docs);
    this.clearIdle();
    try {
      this.encodedBy = w;
      return await w.encodeDocs(docs);
    } catch (e) {
      if (!(e instanceof WorkerFailed) || this.disposed) throw e;
      this.fallBack(e.message);
      return encodeEach(this.encoder, docs);
    } finally {
      if (!w.busy) this.armIdle();
    }
  }

  release(encodings: readonly DocEncoding[]): void {
    this.encodedBy?.release(encodings);
  }

  private startWorker(): Promise<WorkerEncoder | undefined> {
    this.worker ??= this.withFallback(WorkerEncoder.start(this.encoder));
    return this.worker;
  }

  private withFallback(starting: Promise<WorkerEncoder>): Promise<WorkerEncoder | undefined> {
    return starting.catch((e: Error) => {
      this.fallBack(`the encoding worker could not start (${e.message.split('\n')[0]})`);
      return undefined;
    });
  }

  private fallBack(reason: string): void {
    if (this.inThread) return;
    this.inThread = true;
    this.o.log?.(`${reason}; encoding on the main thread instead`);
  }

  private clearIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private armIdle(): void {
    this.clearIdle();
    this.idleTimer = setTimeout(() => void this.stopWorker(), this.o.idleMs ?? 60_000);
    this.idleTimer.unref();
  }

  private async stopWorker(): Promise<void> {
    this.clearIdle();
    const w = this.worker;
    this.worker = undefined;
    const stopped = await w;
    if (stopped === this.encodedBy) this.encodedBy = undefined;
    await stopped?.dispose();
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.stopWorker();
  }
}
