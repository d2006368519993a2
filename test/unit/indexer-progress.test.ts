// The indexer's progress events and its size+mtime shortcut, over files in memory (read through
// a counting reader) with the shipped model: events are monotone and end at exactly 100%; files
// whose size and mtime match the previous index are not read; a new mtime with the same content
// keeps the vectors; only changed content is encoded. Encoding on the worker gives the index
// in-thread encoding gives.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultModelDir } from '../../src/core/engine';
import { buildIndex, type IndexProgress, type SourceFile } from '../../src/core/index/indexer';
import { formatProgress } from '../../src/core/index/progress-text';
import { Encoder, type DocEncoding } from '../../src/core/model/encoder';
import { BackgroundEncoder, type DocEncoder } from '../../src/core/model/worker-encoder';

const page = (i: number, extra = ''): string =>
  `# Page ${i}\n\nThe server drains open connections before it stops, so requests are not dropped (${i}).${extra}\n\n## Caching ${i}\n\nResponses are cached for ten minutes unless the header says otherwise.\n`;

interface Disk {
  files: Map<string, { text: string; mtimeMs: number }>;
  reads: string[];
}

function disk(n: number): Disk {
  const files = new Map<string, { text: string; mtimeMs: number }>();
  for (let i = 0; i < n; i++) files.set(`docs/page-${String(i).padStart(2, '0')}.md`, { text: page(i), mtimeMs: 1000 + i });
  return { files, reads: [] };
}

/** The folder as the engine lists it: stat first, text only when read() is called. */
function listing(d: Disk): SourceFile[] {
  return [...d.files].map(([p, f]) => ({
    path: p,
    size: Buffer.byteLength(f.text),
    mtimeMs: f.mtimeMs,
    read: async () => {
      d.reads.push(p);
      return { text: f.text };
    },
  }));
}

describe('buildIndex progress and the size+mtime shortcut', () => {
  let encoder: Encoder;
  before(async () => {
    encoder = await Encoder.load(defaultModelDir());
  });
  after(async () => {
    await encoder.dispose();
  });

  it('progress: files and tokens never go back, the fraction never decreases, the last event is exactly 100%', async () => {
    const d = disk(12);
    const events: IndexProgress[] = [];
    const { stats } = await buildIndex('/virtual', listing(d), encoder, undefined, { batchPassages: 4, onProgress: (p) => events.push({ ...p }) });
    assert.ok(events.length > 12, `one event at least per file (${events.length})`);
    for (let i = 1; i < events.length; i++) {
      const [a, b] = [events[i - 1], events[i]];
      assert.ok(b.filesDone >= a.filesDone && b.tokensDone >= a.tokensDone, `event ${i} counts go forward`);
      assert.ok(b.fraction! >= a.fraction!, `event ${i}: fraction ${b.fraction} after ${a.fraction}`);
      assert.equal(b.filesTotal, 12);
      assert.ok(b.tokensTotal! >= b.tokensDone, `event ${i}: done ≤ total`);
    }
    const first = events[0];
    assert.deepEqual([first.filesDone, first.tokensDone, first.fraction], [0, 0, 0]);
    assert.ok(first.tokensTotal! > 0, 'a token estimate before anything is read (from the files\' sizes)');
    const last = events[events.length - 1];
    assert.equal(last.fraction, 1);
    assert.equal(last.etaSeconds, 0);
    assert.equal(last.tokensDone, stats.sequenceTokens);
    assert.equal(last.tokensTotal, stats.sequenceTokens);
    assert.ok(events.slice(0, -1).every((e) => e.fraction! < 1), 'only the last event says 100%');
    assert.ok(events.some((e) => e.etaSeconds !== undefined && e.fraction! < 1), 'an ETA once something was encoded');
    assert.match(formatProgress(last), /^12\/12 files, \d+\/\d+ tokens 100%$/);
  });

  it('unchanged size and mtime: not read; new mtime, same text: read, vectors kept; new text: encoded', async () => {
    const d = disk(6);
    const a = await buildIndex('/virtual', listing(d), encoder, undefined, { batchPassages: 4 });
    assert.equal(a.stats.filesRead, 6);
    assert.equal(d.reads.length, 6);
    assert.ok(a.index.files.every((f) => f.mtimeMs !== undefined && f.size > 0));

    d.reads.length = 0;
    const b = await buildIndex('/virtual', listing(d), encoder, a.index, { batchPassages: 4 });
    assert.deepEqual(d.reads, [], 'nothing read');
    assert.deepEqual([b.stats.filesRead, b.stats.filesReused, b.stats.filesEncoded], [0, 6, 0]);
    assert.equal(b.index.store.codec, a.index.store.codec, 'the codec kept');
    assert.deepEqual(b.index.store, a.index.store, 'the compressed vectors copied bit for bit');

    // Touched (a branch switch back and forth): read and hashed once, vectors kept, new mtime noted.
    d.files.get('docs/page-01.md')!.mtimeMs = 5000;
    // Edited: same size is not enough to be taken as unchanged when the mtime moved.
    const edited = d.files.get('docs/page-04.md')!;
    edited.text = edited.text.replace('ten minutes', 'six minutes'); // same size
    edited.mtimeMs = 6000;
    d.reads.length = 0;
    const c = await buildIndex('/virtual', listing(d), encoder, b.index, { batchPassages: 4 });
    assert.deepEqual(d.reads.sort(), ['docs/page-01.md', 'docs/page-04.md']);
    assert.deepEqual([c.stats.filesRead, c.stats.filesReused, c.stats.filesEncoded], [2, 5, 1]);
    assert.equal(c.index.files.find((f) => f.path === 'docs/page-01.md')!.mtimeMs, 5000);

    d.reads.length = 0;
    const e = await buildIndex('/virtual', listing(d), encoder, c.index, { batchPassages: 4 });
    assert.deepEqual(d.reads, [], 'the new mtimes were kept: nothing read again');
    assert.equal(e.stats.filesEncoded, 0);
  });

  it('encoding on the worker builds the same index as encoding in-thread, and hands every encoding back once', async () => {
    const d = disk(8);
    const inThread = await buildIndex('/virtual', listing(d), encoder, undefined, { batchPassages: 3 });
    const bg = new BackgroundEncoder(encoder, { useWorker: true });
    // Each encoding is released once, after its commit: one released early would have its buffer
    // go back to the worker (detached here), and the index would not be the in-thread one.
    let made = 0;
    let twice = 0;
    const released = new Set<DocEncoding>();
    const spy: DocEncoder = {
      encodeDocs: async (docs) => {
        const r = await bg.encodeDocs(docs);
        made += r.length;
        return r;
      },
      release: (encs) => {
        for (const e of encs) (released.has(e) ? twice++ : released.add(e));
        bg.release(encs);
      },
    };
    try {
      const onWorker = await buildIndex('/virtual', listing(d), encoder, undefined, { batchPassages: 3, docEncoder: spy, inFlight: 3 });
      assert.equal(bg.mode, 'worker');
      assert.ok(made > 0);
      assert.equal(released.size, made, 'every encoding released');
      assert.equal(twice, 0, 'none released twice');
      assert.deepEqual(onWorker.index.files, inThread.index.files);
      assert.deepEqual(onWorker.index.units, inThread.index.units);
      assert.deepEqual(onWorker.index.store, inThread.index.store);
    } finally {
      await bg.dispose();
    }
  });
});
