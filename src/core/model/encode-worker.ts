// Entry point of the encoding worker thread (dist/encode-worker.js in the bundle): loads the
// model in this thread and encodes passage batches posted by WorkerEncoder, so that the ONNX
// work never blocks the thread that scans, extracts and answers (the extension host, the CLI).
//
//   in:  workerData { modelDir, threads, batchSize }
//   out: { type: 'ready', fingerprint } | { type: 'failed', message }
//   in:  { id, docs: DocInput[] }
//   out: { id, results: DocEncoding[] } (vector buffers transferred) | { id, error }
import { parentPort, workerData } from 'node:worker_threads';
import { Encoder, type DocInput } from './encoder';

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
  port.on('message', (msg: { id: number; docs: DocInput[] }) => {
    chain = chain.then(async () => {
      try {
        const results = await encoder.encodeDocs(msg.docs);
        port.postMessage({ id: msg.id, results }, results.map((r) => r.vectors.buffer as ArrayBuffer));
      } catch (e) {
        port.postMessage({ id: msg.id, error: (e as Error).message });
      }
    });
  });
  port.postMessage({ type: 'ready', fingerprint: encoder.fingerprint });
}

void main();
