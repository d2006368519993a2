// Encoding on the worker thread gives the vectors of in-thread encoding one passage at a time
// (encodeEach, what indexing uses), bit for bit, in input order; a worker that cannot load its model falls back to the caller's thread with a logged
// reason (and still gives the same vectors). Shipped model, passages of the fixture README.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultModelDir } from '../../src/core/engine';
import { extractPassages } from '../../src/core/extract/index';
import { unitsForPassage } from '../../src/core/index/indexer';
import { Encoder, type DocEncoding, type DocInput } from '../../src/core/model/encoder';
import { BackgroundEncoder, WorkerEncoder, encodeEach } from '../../src/core/model/worker-encoder';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'workspace');

function sameEncodings(a: DocEncoding[], b: DocEncoding[]): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    assert.equal(a[i].count, b[i].count, `passage ${i}: vector count`);
    assert.deepEqual(a[i].starts, b[i].starts, `passage ${i}: starts`);
    assert.deepEqual(a[i].ends, b[i].ends, `passage ${i}: ends`);
    assert.deepEqual(a[i].vectors, b[i].vectors, `passage ${i}: vectors`);
  }
}

describe('encoding on a worker thread', () => {
  let encoder: Encoder;
  let inputs: DocInput[];
  before(async () => {
    encoder = await Encoder.load(defaultModelDir());
    inputs = [];
    for (const rel of ['README.md', 'docs/routing.md', 'src/server.ts']) {
      const text = fs.readFileSync(path.join(FIXTURE, rel), 'utf8');
      for (const p of extractPassages(rel, text)) for (const u of unitsForPassage(encoder, p)) inputs.push(u.input);
    }
    assert.ok(inputs.length >= 5, `enough passages (${inputs.length})`);
  });
  after(async () => {
    await encoder.dispose();
  });

  it('gives the same vectors as in-thread encoding, in input order, for concurrent requests', async () => {
    const expected = await encodeEach(encoder, inputs);
    const worker = await WorkerEncoder.start(encoder);
    try {
      // Two requests in flight at once, the second a reversed copy: answers keep their own order.
      const reversed = [...inputs].reverse();
      const [a, b] = await Promise.all([worker.encodeDocs(inputs), worker.encodeDocs(reversed)]);
      sameEncodings(a, expected);
      sameEncodings(b, [...expected].reverse());
      assert.deepEqual(await worker.encodeDocs([]), []);
    } finally {
      await worker.dispose();
    }
    await assert.rejects(worker.encodeDocs(inputs), /disposed/);
  });

  it('a request\'s vectors share one buffer, handed back to the worker once all are released, and reused with the same vectors', async () => {
    const expected = await encodeEach(encoder, inputs);
    const worker = await WorkerEncoder.start(encoder);
    try {
      const first = await worker.encodeDocs(inputs);
      sameEncodings(first, expected);
      const buffer = first[0].vectors.buffer;
      assert.ok(first.every((e) => e.vectors.buffer === buffer), 'one buffer a request');
      const size = buffer.byteLength;
      // All but one released (one twice): the buffer stays here, every vector still readable.
      worker.release(first.slice(1));
      worker.release(first.slice(1));
      assert.equal(buffer.byteLength, size);
      sameEncodings(first, expected);
      // The last one: the buffer goes back to the worker (detached here).
      worker.release(first.slice(0, 1));
      assert.equal(buffer.byteLength, 0);
      worker.release(first); // (again: ignored)
      // The next requests' vectors are right, in the reused buffer or a new one.
      for (let round = 0; round < 3; round++) {
        const again = await worker.encodeDocs(inputs);
        sameEncodings(again, expected);
        worker.release(again);
      }
      // Encodings it did not make are ignored.
      const own = await encodeEach(encoder, inputs.slice(0, 2));
      worker.release(own);
      assert.ok(own[0].vectors.buffer.byteLength > 0);
    } finally {
      await worker.dispose();
    }
  });

  it('Encoder.encodeDocs puts all vectors in one slab when asked, as consecutive views in input order', async () => {
    const expected = await encoder.encodeDocs(inputs);
    let asked = -1;
    const got = await encoder.encodeDocs(inputs, (floats) => new Float32Array((asked = floats) + 7).subarray(3, 3 + floats));
    sameEncodings(got, expected);
    assert.equal(asked, expected.reduce((n, e) => n + e.count * encoder.dim, 0));
    let at = 3;
    for (const e of got) {
      assert.equal(e.vectors.byteOffset, at * 4);
      at += e.count * encoder.dim;
    }
    await assert.rejects(encoder.encodeDocs(inputs, (floats) => new Float32Array(floats - 1)), /slab of/);
  });

  it('a worker started with a model batch of 32 gives the vectors of one encodeDocs call', async () => {
    const worker = await WorkerEncoder.start(encoder, { batchSize: 32 });
    try {
      sameEncodings(await worker.encodeDocs(inputs), await encoder.encodeDocs(inputs));
    } finally {
      await worker.dispose();
    }
  });

  it('BackgroundEncoder: a worker that cannot load the model falls back to this thread, with a reason', async () => {
    const logs: string[] = [];
    // The same encoder, but pointing the worker at a folder with no model in it.
    const broken = Object.create(encoder, { modelDir: { value: path.join(FIXTURE, 'no-model-here') } }) as Encoder;
    const bg = new BackgroundEncoder(broken, { log: (m) => logs.push(m), useWorker: true });
    try {
      assert.equal(bg.mode, 'worker');
      sameEncodings(await bg.encodeDocs(inputs), await encodeEach(encoder, inputs));
      assert.equal(bg.mode, 'in-thread');
      assert.equal(logs.length, 1, logs.join('\n'));
      assert.match(logs[0], /encoding worker could not start .*; encoding on the main thread instead/);
    } finally {
      await bg.dispose();
    }
  });

  it('BackgroundEncoder.prepare loads the worker before the first batch (and does nothing in-thread)', async () => {
    const logs: string[] = [];
    // A worker that cannot load its model: the fallback's log line shows that prepare started it.
    const broken = Object.create(encoder, { modelDir: { value: path.join(FIXTURE, 'no-model-here') } }) as Encoder;
    const bg = new BackgroundEncoder(broken, { log: (m) => logs.push(m), useWorker: true });
    const inThread = new BackgroundEncoder(broken, { log: (m) => logs.push(m), useWorker: false });
    try {
      bg.prepare();
      inThread.prepare();
      for (let waited = 0; logs.length === 0 && waited < 20_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(bg.mode, 'in-thread', 'fell back before any batch was asked for');
      assert.equal(logs.length, 1, logs.join('\n'));
      assert.match(logs[0], /encoding worker could not start/);
      sameEncodings(await inThread.encodeDocs(inputs.slice(0, 2)), await encodeEach(encoder, inputs.slice(0, 2)));
    } finally {
      await bg.dispose();
      await inThread.dispose();
    }
  });

  it('BackgroundEncoder takes a worker started for it: uses it and disposes it, or disposes it at once in-thread, or falls back when it failed', async () => {
    const given = WorkerEncoder.start(encoder);
    const bg = new BackgroundEncoder(encoder, { worker: given, useWorker: true });
    sameEncodings(await bg.encodeDocs(inputs.slice(0, 2)), await encodeEach(encoder, inputs.slice(0, 2)));
    assert.equal(bg.mode, 'worker');
    await bg.dispose();
    await assert.rejects((await given).encodeDocs(inputs.slice(0, 1)), /disposed/, 'disposed with its BackgroundEncoder');

    const unused = WorkerEncoder.start(encoder);
    const inThread = new BackgroundEncoder(encoder, { worker: unused, useWorker: false });
    const w = await unused;
    for (let waited = 0; waited < 5000; waited += 20) {
      if (await w.encodeDocs([]).then(() => false, () => true)) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await assert.rejects(w.encodeDocs(inputs.slice(0, 1)), /disposed/, 'an in-thread encoder disposes the worker it does not use');
    await inThread.dispose();

    const logs: string[] = [];
    const failed = new BackgroundEncoder(encoder, { worker: Promise.reject(new Error('no model there')), useWorker: true, log: (m) => logs.push(m) });
    sameEncodings(await failed.encodeDocs(inputs.slice(0, 2)), await encodeEach(encoder, inputs.slice(0, 2)));
    assert.equal(failed.mode, 'in-thread');
    assert.match(logs.join('\n'), /encoding worker could not start \(no model there\); encoding on the main thread instead/);
    await failed.dispose();
  });

  it('BackgroundEncoder with a working worker: same vectors, worker mode kept', async () => {
    const logs: string[] = [];
    const bg = new BackgroundEncoder(encoder, { log: (m) => logs.push(m), useWorker: true });
    try {
      sameEncodings(await bg.encodeDocs(inputs.slice(0, 3)), await encodeEach(encoder, inputs.slice(0, 3)));
      assert.equal(bg.mode, 'worker');
      assert.deepEqual(logs, []);
    } finally {
      await bg.dispose();
    }
  });
});
