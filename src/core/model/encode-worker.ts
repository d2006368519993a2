// Entry point of the encoding worker thread (dist/encode-worker.js in the bundle): loads the
// model in this thread and encodes passage batches posted by WorkerEncoder, so that the ONNX
// work never blocks the thread that scans, extracts and answers (the extension host, the CLI).
//
//   in:  workerData { modelDir, threads, batchSize }
//   out: { type: 'ready', fingerprint } | { type: 'failed', message }
//   in:  { id, docs: DocInput[] }
//   out: { id, results: DocEncoding[] } (all vectors views of one buffer, transferred) | { id, error }
//   in:  { reuse: ArrayBuffer } (a buffer of results the caller is done with, transferred back)
//
// Why buffers go back and forth: an ArrayBuffer that arrives in the caller's thread counts toward
// its V8 old-generation limit until the next full collection, so a fresh buffer per result
// (~390 MB over the 10k speed workspace's build) kept the caller's heap in back-to-back full
// collections, whose marking threads took CPU from this thread. A buffer transferred back is
// taken off that count at once, and the next request's vectors go into it.
import { parentPort, workerData } from 'node:worker_threads';
import { Encoder, type DocInput } from './encoder';

/**
 * Buffers kept for reuse, at most this many bytes (more come back while a backlog drains). A
 * buffer that comes back counts toward this thread's limit as it did toward the caller's: dropped,
 * it would keep this thread's own heap collecting.
 */
const POOL_BYTES = 8 << 20;
/**
 * New buffers are rounded up to this, with a sixteenth's headroom, so that they fit later
 * requests (the headroom sits in every buffer the caller holds: up to BACKLOG_TOKENS of vectors).
 * On the 10k speed workspace's build 114 of 164 requests reused a buffer.
 */
const BUFFER_GRAIN = 64 << 10;

/** Returned buffers, smallest first. */
const pool: ArrayBuffer[] = [];
let pooledBytes = 0;

function keep(buffer: ArrayBuffer): void {
  if (buffer.byteLength === 0) return; // (detached: not ours to reuse)
  let at = pool.findIndex((b) => b.byteLength >= buffer.byteLength);
  if (at < 0) at = pool.length;
  pool.splice(at, 0, buffer);
  pooledBytes += buffer.byteLength;
  // (over the cap: the smallest go first, as they fit the fewest requests)
  while (pooledBytes > POOL_BYTES && pool.length > 0) pooledBytes -= pool.shift()!.byteLength;
}

function take(floats: number): Float32Array {
  if (floats === 0) return new Float32Array(0); // (nothing to hand over)
  const bytes = floats * 4;
  const at = pool.findIndex((b) => b.byteLength >= bytes);
  if (at >= 0) {
    const [buffer] = pool.splice(at, 1);
    pooledBytes -= buffer.byteLength;
    return new Float32Array(buffer, 0, floats);
  }
  const size = Math.max(BUFFER_GRAIN, Math.ceil((bytes * 1.0625) / BUFFER_GRAIN) * BUFFER_GRAIN);
  return new Float32Array(new ArrayBuffer(size), 0, floats);
}

interface Init {
  modelDir: string;
  threads: number;
  batchSize?: number;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('encode-worker must run in a worker thread');
  const init = workerData as Init;
  let encoder: Encoder;
  try {
    encoder = await Encoder.load(init.modelDir, { threads: init.threads, batchSize: init.batchSize });
  } catch (e) {
    port.postMessage({ type: 'failed', message: (e as Error).message });
    return;
  }
  // Requests are handled one at a time, in order: the session is not run concurrently.
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (msg: { id: number; docs: DocInput[] } | { reuse: ArrayBuffer }) => {
    if ('reuse' in msg) {
      keep(msg.reuse);
      return;
    }
    chain = chain.then(async () => {
      try {
        let slab: Float32Array | undefined;
        const results = await encoder.encodeDocs(msg.docs, (floats) => (slab = take(floats)));
        port.postMessage({ id: msg.id, results }, slab && slab.length > 0 ? [slab.buffer as ArrayBuffer] : []);
      } catch (e) {
        port.postMessage({ id: msg.id, error: (e as Error).message });
      }
    });
  });
  port.postMessage({ type: 'ready', fingerprint: encoder.fingerprint });
}

void main();
