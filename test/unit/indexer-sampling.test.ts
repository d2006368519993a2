// The codec's training sample on a first build: files drawn in a seeded order are read and
// encoded before the streaming loop, which then commits them from those encodings — every file
// is read once and every unit encoded once, whatever share of the files the sample took.
// An async iterable input is listed first and gives the same index. Shipped model, files in memory.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultModelDir } from '../../src/core/engine';
import { buildIndex, type SourceFile } from '../../src/core/index/indexer';
import { Encoder, type DocInput } from '../../src/core/model/encoder';
import type { DocEncoder } from '../../src/core/model/worker-encoder';
import { jsMatMulT } from '../../src/core/gemm';
import { centroidCountFor, centroidCountForSample, fittedPoints, MIN_POINTS_PER_CENTROID } from '../../src/core/index/residual-codec';

const page = (i: number): string =>
  `# Page ${i}\n\nThe server drains open connections before it stops, so requests are not dropped (${i}).\n\n## Caching ${i}\n\nResponses are cached for ten minutes unless the header says otherwise (${i}).\n`;

function listing(n: number, reads: string[]): SourceFile[] {
  return Array.from({ length: n }, (_, i) => {
    const p = `docs/page-${String(i).padStart(2, '0')}.md`;
    const text = page(i);
    return { path: p, size: Buffer.byteLength(text), mtimeMs: 1000 + i, read: async () => (reads.push(p), { text }) };
  });
}

/** The encoder, counting the passages it is given. */
function counting(encoder: Encoder): DocEncoder & { inputs: DocInput[] } {
  const inputs: DocInput[] = [];
  return { inputs, encodeDocs: (docs) => (inputs.push(...docs), encoder.encodeDocs(docs)) };
}

describe('buildIndex codec training sample', () => {
  let encoder: Encoder;
  before(async () => {
    encoder = await Encoder.load(defaultModelDir());
  });
  after(async () => {
    await encoder.dispose();
  });

  it('a sample of some files: each file read once, each unit encoded once, committed in file order', async () => {
    const reads: string[] = [];
    const enc = counting(encoder);
    const files = listing(16, reads);
    const { index, stats } = await buildIndex('/virtual', files, encoder, undefined, { batchPassages: 3, docEncoder: enc, matmul: jsMatMulT, trainSampleTokens: 120 });
    assert.equal(stats.codecTrained, true);
    assert.ok(stats.centroids > 0);
    assert.deepEqual([...reads].sort(), files.map((f) => f.path), 'every file read exactly once');
    assert.ok(reads.join() !== files.map((f) => f.path).join(), 'the sample was read first, in its own order');
    assert.equal(enc.inputs.length, index.units.length, 'every unit encoded exactly once');
    assert.equal(stats.sequenceTokens, enc.inputs.reduce((n, d) => n + encoder.sequenceLength(d), 0));
    assert.deepEqual(index.files.map((f) => f.path), files.map((f) => f.path));
    let at = 0;
    for (const u of index.units) {
      assert.equal(u.tokenFirst, at);
      at += u.tokenCount;
    }
    assert.equal(at, index.store.count);
    assert.equal(index.store.codec.trainedOnTokens, index.store.count);

    // The same units, vectors for vectors, as with every file in the sample.
    const whole = await buildIndex('/virtual', listing(16, []), encoder, undefined, { batchPassages: 3, matmul: jsMatMulT });
    assert.deepEqual(index.units.map((u) => [u.path, u.start, u.end, u.tokenFirst, u.tokenCount]), whole.index.units.map((u) => [u.path, u.start, u.end, u.tokenFirst, u.tokenCount]));
  });

  it('files listed by stat: a grown workspace retrains (every file read once, none reused), a small edit does not', async () => {
    const a = await buildIndex('/virtual', listing(3, []), encoder, undefined, { matmul: jsMatMulT });
    const reads: string[] = [];
    const grown = listing(12, reads); // the first 3 unchanged by size and mtime
    const b = await buildIndex('/virtual', grown, encoder, a.index, { matmul: jsMatMulT });
    assert.equal(b.stats.codecTrained, true);
    assert.equal(b.stats.filesReused, 0);
    assert.deepEqual([...reads].sort(), grown.map((f) => f.path), 'unchanged files read too: their vectors were coded against the old centroids');
    const edited = listing(12, []);
    const text = page(5) + '\nOne more line.\n';
    edited[5] = { ...edited[5], size: Buffer.byteLength(text), mtimeMs: 9999, read: async () => ({ text }) };
    const c = await buildIndex('/virtual', edited, encoder, b.index, { matmul: jsMatMulT });
    assert.equal(c.stats.codecTrained, false);
    assert.equal(c.index.store.codec, b.index.store.codec);
    assert.deepEqual([c.stats.filesRead, c.stats.filesEncoded, c.stats.filesReused], [1, 1, 11]);
    assert.equal(c.index.encodedSinceTraining, c.stats.tokensEncoded);
  });

  it('a sample topped up from the files it visited counts those units: centroids sized to the index, not more', async () => {
    // Big enough (~10k vectors) that k-means, which keeps at most one centroid a training point,
    // clamps neither count below.
    const files = listing(240, []);
    const whole = await buildIndex('/virtual', files, encoder, undefined);
    // A target of 40% of the tokens: every file is visited with that share of its units, the
    // sample falls short and is topped up from the same files (uncounted, those units made
    // 4096 centroids here instead of 2048).
    const tokens = whole.stats.sequenceTokens;
    // (minPointsPerCentroid 0: a sample this small would cap the centroids below both counts.)
    const { index, stats } = await buildIndex('/virtual', files, encoder, undefined, { trainSampleTokens: Math.round(0.4 * tokens), minPointsPerCentroid: 0 });
    assert.equal(index.store.count, whole.index.store.count);
    assert.equal(stats.centroids, centroidCountFor(index.store.count), `${stats.centroids} centroids for ${index.store.count} vectors`);
  });

  it('a quarter-workspace sample sizes the centroids by its own vectors too: at least MIN_POINTS_PER_CENTROID fitted vectors each', async () => {
    const files = listing(240, []);
    const { index, stats } = await buildIndex('/virtual', files, encoder, undefined);
    assert.ok(stats.sampleVectors > 0 && stats.sampleVectors < index.store.count / 2, `${stats.sampleVectors} of ${index.store.count} vectors sampled`);
    assert.ok(stats.centroids < centroidCountFor(index.store.count), `${stats.centroids} centroids: the index alone asks for ${centroidCountFor(index.store.count)}`);
    assert.equal(stats.centroids, centroidCountForSample(index.store.count, fittedPoints(stats.sampleVectors)));
    assert.ok(stats.centroids * MIN_POINTS_PER_CENTROID <= fittedPoints(stats.sampleVectors));
  });

  it('an async iterable is listed first and indexes as the list does', async () => {
    const files = listing(6, []);
    async function* stream(): AsyncGenerator<SourceFile> {
      for (const f of files) yield f;
    }
    const a = await buildIndex('/virtual', files, encoder, undefined, { batchPassages: 3, matmul: jsMatMulT, trainSampleTokens: 100 });
    const b = await buildIndex('/virtual', stream(), encoder, undefined, { batchPassages: 3, matmul: jsMatMulT, trainSampleTokens: 100 });
    assert.deepEqual(b.index.files, a.index.files);
    assert.deepEqual(b.index.units, a.index.units);
    assert.deepEqual(b.index.store, a.index.store);
  });
});
