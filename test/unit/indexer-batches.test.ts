// Encoding requests are bounded by passages, not by files: a file with more units than a batch
// takes is split over several requests and commits, and indexes exactly as it would in one
// (segmented-store.test.ts checks that a build that spills never splits a file's units).
// (One 400 KB Markdown file in a single request held ~100k float vectors several times over in
// its commit.) A first build's training sample is a quarter of what the workspace turns out to
// hold, not of what its stat sizes promised: a huge file that is left out after all no longer
// makes the sample take nearly everything. Shipped model, files in memory.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultModelDir } from '../../src/core/engine';
import { buildIndex, type SourceFile } from '../../src/core/index/indexer';
import { Encoder } from '../../src/core/model/encoder';
import { encodeEach, type DocEncoder } from '../../src/core/model/worker-encoder';
import { jsMatMulT } from '../../src/core/gemm';
import { loadIndex, saveIndex, writeSpillSegment } from '../../src/core/index/index-file';
import { tempDirFactory } from '../temp-dirs';

const tmpDir = tempDirFactory('es-batches-');

const page = (i: number, sections: number): string =>
  Array.from({ length: sections }, (_, j) => `## Part ${j} of page ${i}\n\nThe server drains open connections before it stops (${i}.${j}), so requests are not dropped.\n`).join('\n');

function listing(sizes: number[]): SourceFile[] {
  return sizes.map((sections, i) => {
    const text = page(i, sections);
    return { path: `docs/p${String(i).padStart(2, '0')}.md`, size: Buffer.byteLength(text), mtimeMs: 1, text };
  });
}

describe('buildIndex batches', () => {
  let encoder: Encoder;
  before(async () => {
    encoder = await Encoder.load(defaultModelDir());
  });
  after(async () => {
    await encoder.dispose();
  });

  it('a file with more units than a batch is encoded in several requests and committed in its place', async () => {
    // An empty file and a 23-section file among small ones; batches of 4 passages.
    const sizes = [2, 0, 23, 1, 3, 17, 2];
    const requests: number[] = [];
    // (one passage a model run, as the build's own encoder: batched runs pad, and differ in the last bits)
    const counting: DocEncoder = { encodeDocs: (docs) => (requests.push(docs.length), encodeEach(encoder, docs)) };
    const small = await buildIndex('/virtual', listing(sizes), encoder, undefined, { batchPassages: 4, docEncoder: counting, matmul: jsMatMulT, trainSampleTokens: 200 });
    // (a batch ends after the file that fills it: fewer than 2 × 4 passages)
    assert.ok(requests.length > 0 && requests.every((n) => n < 8), `requests of ${requests.join(', ')} passages`);
    assert.ok(small.index.units.length >= 23 + 17);

    const large = await buildIndex('/virtual', listing(sizes), encoder, undefined, { batchPassages: 1000, matmul: jsMatMulT, trainSampleTokens: 200 });
    assert.deepEqual(small.index.files, large.index.files);
    assert.deepEqual(small.index.units, large.index.units);
    // Files in order, each unit range contiguous, tokens contiguous.
    let unit = 0;
    let token = 0;
    for (const f of small.index.files) {
      assert.equal(f.unitFirst, unit, f.path);
      for (let u = f.unitFirst; u < f.unitFirst + f.unitCount; u++) {
        assert.equal(small.index.units[u].path, f.path);
        assert.equal(small.index.units[u].tokenFirst, token);
        token += small.index.units[u].tokenCount;
      }
      unit += f.unitCount;
    }
    assert.equal(unit, small.index.units.length);
    assert.equal(token, small.index.store.count);
    assert.deepEqual(small.index.store.codec, large.index.store.codec, 'the same sample, so the same codec');
    assert.deepEqual(small.index.store, large.index.store, 'and the same store, vector for vector');
  });

  it('an update that re-encodes a large file, saved with spills, keeps each file in one segment and reads back', async () => {
    const sizes = [2, 23, 1, 17, 2];
    const dir = tmpDir();
    const o = { batchPassages: 4, matmul: jsMatMulT, trainSampleTokens: 200, spillVectors: 60, spill: (c: Parameters<typeof writeSpillSegment>[1]) => writeSpillSegment(dir, c) };
    const first = saveIndex(dir, (await buildIndex('/virtual', listing(sizes), encoder, undefined, o)).index);
    // The 23-section file grows by a section and the 17-section one is edited: both re-encoded.
    const edited = listing(sizes).map((f, i) => (i === 1 ? { ...f, text: (f.text ?? '') + '\n## One more\n\nA late note on draining.\n', mtimeMs: 2 } : i === 3 ? { ...f, text: (f.text ?? '').replace('Part 3', 'Part three'), mtimeMs: 2 } : f));
    const { index, stats } = await buildIndex('/virtual', edited, encoder, first, o);
    assert.equal(stats.codecTrained, false);
    assert.equal(stats.filesEncoded, 2);
    const saved = saveIndex(dir, index); // (throws where a file's units are in two segments)
    const loaded = loadIndex(dir, { root: '/virtual', model: encoder.fingerprint, dim: encoder.dim });
    assert.ok('index' in loaded, JSON.stringify(loaded));
    assert.deepEqual(loaded.index.files.map((f) => [f.path, f.unitCount]), saved.files.map((f) => [f.path, f.unitCount]));
    assert.equal(loaded.index.files[1].unitCount, 24);
    assert.deepEqual(loaded.index.units.map((u) => [u.path, u.start, u.end, u.tokenCount]), index.units.map((u) => [u.path, u.start, u.end, u.tokenCount]));
  });

  it('the training sample follows the estimate down when a huge listed file is left out', async () => {
    const files: SourceFile[] = listing(Array.from({ length: 200 }, () => 2));
    // Listed by stat as 50 MB of code (~2M tokens by the prior), left out when read (minified).
    files.splice(100, 0, { path: 'lib/bundle.js', size: 50 << 20, mtimeMs: 1, read: async () => undefined });
    const { index, stats } = await buildIndex('/virtual', files, encoder, undefined, { matmul: jsMatMulT });
    assert.equal(index.files.length, 200);
    // A quarter of the workspace, or the smallest sample (4096 tokens) where that is more; a
    // target fixed from the stat sizes (65,536 tokens) sampled every unit.
    assert.ok(stats.sampleVectors < index.store.count / 2, `${stats.sampleVectors} of ${index.store.count} vectors sampled`);
  });
});
