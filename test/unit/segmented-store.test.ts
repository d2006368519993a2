// The index on disk as an LSM-like set of segments (index-file.ts, segment-file.ts,
// compaction.ts): re-indexing one file appends one small segment and leaves the others alone,
// the changed file's old units are dead (not loaded), compaction merges segments, a corrupt
// segment is found at load, loaded units read their text from the segment, and BM25 over loaded
// units ranks like BM25 over the passages in memory.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultModelDir } from '../../src/core/engine';
import { buildIndex, type SourceFile } from '../../src/core/index/indexer';
import { Encoder } from '../../src/core/model/encoder';
import { jsMatMulT } from '../../src/core/gemm';
import { loadIndex, saveIndex, writeSpillSegment } from '../../src/core/index/index-file';
import { MAX_PARTS } from '../../src/core/index/compaction';
import { StoredUnit } from '../../src/core/index/stored-unit';
import { Bm25Index } from '../../src/core/search/bm25';
import type { IndexedUnit, WorkspaceIndex } from '../../src/core/index/workspace-index';
import { tempDirFactory } from '../temp-dirs';

/**
 * Rewrites a file in place, as a corrupting disk or tool would, with a modification time of its
 * own: this process verified the segment when it saved it and would otherwise reuse that check
 * (a new process, the case the check is for, has nothing to reuse).
 */
let rewrites = 0;
function rewrite(file: string, data: Buffer): void {
  fs.writeFileSync(file, data);
  const t = new Date(Date.now() + 1000 * ++rewrites);
  fs.utimesSync(file, t, t);
}

const tmpDir = tempDirFactory('es-segments-');
const ROOT = '/virtual';

const TOPICS = ['connections', 'responses', 'uploads', 'sessions', 'tokens', 'plugins', 'routes', 'schemas'];
const page = (i: number, extra = ''): SourceFile => ({
  path: `docs/page-${String(i).padStart(2, '0')}.md`,
  text: `# Page ${i}\n\nThe server drains open ${TOPICS[i % 8]} before it stops (${i}).${extra}\n\n## Caching ${i}\n\nResponses about ${TOPICS[(i + 3) % 8]} are cached for ten minutes unless the header says otherwise.\n`,
});

const segmentsIn = (dir: string): string[] => fs.readdirSync(dir).filter((f) => /^seg-[0-9a-f]+\.bin$/.test(f)).sort();
const manifestOf = (dir: string): { segments: Array<{ name: string }> } => JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));

function load(dir: string, ix: WorkspaceIndex): WorkspaceIndex {
  const r = loadIndex(dir, { root: ix.root, model: ix.modelFingerprint, dim: ix.store.dim });
  assert.ok('index' in r, `expected an index, got ${JSON.stringify(r)}`);
  return r.index;
}

/** Everything a unit says, and its decoded vectors: equal for equal indexes. */
function contentOf(ix: WorkspaceIndex): unknown[] {
  return ix.units.map((u) => {
    const v = new Float32Array(u.tokenCount * ix.store.dim);
    ix.store.decode(u.tokenFirst, u.tokenCount, v);
    return { path: u.path, start: u.start, end: u.end, kind: u.kind, language: u.language, context: u.context, segments: u.segments, tokenCount: u.tokenCount, v: Array.from(v) };
  });
}

describe('segmented index store', () => {
  let encoder: Encoder;
  before(async () => {
    encoder = await Encoder.load(defaultModelDir());
  });
  after(async () => {
    await encoder.dispose();
  });

  const build = async (files: SourceFile[], previous?: WorkspaceIndex): Promise<WorkspaceIndex> =>
    (await buildIndex(ROOT, files, encoder, previous, { matmul: jsMatMulT })).index;

  it('a large build writes its vectors out as it goes: growing segments, the same index, kept as they are by the save', async () => {
    const files = Array.from({ length: 40 }, (_, i) => page(i));
    const plain = await build(files);
    const dir = tmpDir();
    const written: string[] = [];
    const spilled = (await buildIndex(ROOT, files, encoder, undefined, {
      matmul: jsMatMulT, batchPassages: 4, inFlight: 1, spillVectors: 100,
      spill: (content) => {
        const g = writeSpillSegment(dir, content);
        written.push(g.ref.name);
        return g;
      },
    })).index;
    assert.ok(written.length >= 3, `segments written during the build: ${written.length}`);
    const sizes = spilled.store.parts.filter((p) => p.kind === 'segment').map((p) => p.count);
    for (let k = 1; k < sizes.length; k++) assert.ok(sizes[k] >= sizes.slice(0, k).reduce((a, b) => a + b, 0), `part ${k} (${sizes[k]}) at least all before it (${sizes})`);
    assert.ok(spilled.store.parts.length <= MAX_PARTS);
    assert.ok(spilled.units.filter((u) => u instanceof StoredUnit).length > spilled.units.length / 2, 'most units are served from their segment');
    assert.deepEqual(contentOf(spilled), contentOf(plain), 'the same index as a build in memory');
    assert.deepEqual(segmentsIn(dir), [...written].sort(), 'nothing is named by a manifest yet');
    assert.ok(!fs.existsSync(path.join(dir, 'index.json')));
    const saved = saveIndex(dir, spilled);
    const named = manifestOf(dir).segments.map((s) => s.name);
    for (const w of written) assert.ok(named.includes(w), `${w} is kept as it was written`);
    assert.deepEqual(contentOf(load(dir, saved)), contentOf(plain));
  });

  it('a file split over batches is never split over segments: the spill waits for its last units', async () => {
    // Two units a file, one a batch: every file's units are committed in two batches, and a spill
    // may fall due between them.
    const files = Array.from({ length: 40 }, (_, i) => page(i));
    const plain = await build(files);
    const dir = tmpDir();
    let spills = 0;
    const spilled = (await buildIndex(ROOT, files, encoder, undefined, {
      matmul: jsMatMulT, batchPassages: 1, inFlight: 1, spillVectors: 90,
      spill: (content) => (spills++, writeSpillSegment(dir, content)),
    })).index;
    assert.ok(spills >= 3, `segments written during the build: ${spills}`);
    const saved = saveIndex(dir, spilled); // (throws where a file's units are in two segments)
    assert.deepEqual(contentOf(load(dir, saved)), contentOf(plain));
  });

  it('a build abandoned after writing segments leaves the saved index as it was; the next save removes them', async () => {
    const dir = tmpDir();
    const files = Array.from({ length: 12 }, (_, i) => page(i));
    const first = saveIndex(dir, await build(files));
    const before = segmentsIn(dir);
    const ac = new AbortController();
    let writes = 0;
    await assert.rejects(buildIndex(ROOT, files.map((f, i) => page(i, ` Version two of ${i}.`)), encoder, first, {
      matmul: jsMatMulT, batchPassages: 2, inFlight: 1, spillVectors: 40, signal: ac.signal,
      spill: (content) => {
        if (++writes === 2) ac.abort();
        return writeSpillSegment(dir, content);
      },
    }), /cancelled/);
    assert.ok(segmentsIn(dir).length > before.length, 'segments were written');
    assert.deepEqual(contentOf(load(dir, first)), contentOf(first), 'the saved index is the previous one');
    saveIndex(dir, await build(files, load(dir, first)));
    assert.deepEqual(segmentsIn(dir), manifestOf(dir).segments.map((s) => s.name).sort(), 'unnamed segments are gone after the next save');
  });

  it('re-indexing one changed file appends one small segment; the old one is kept as it is and its stale units are not loaded', async () => {
    const dir = tmpDir();
    const files = Array.from({ length: 10 }, (_, i) => page(i));
    const first = saveIndex(dir, await build(files));
    const [seg0] = segmentsIn(dir);
    const seg0Bytes = fs.readFileSync(path.join(dir, seg0));
    assert.ok(first.units.every((u) => u instanceof StoredUnit), 'the saved index is served from its segment');

    const next = files.map((f, i) => (i === 4 ? page(4, ' It also closes idle sockets.') : f));
    const built = await build(next, first);
    assert.equal(built.store.parts.length, 2);
    const second = saveIndex(dir, built);
    assert.deepEqual(manifestOf(dir).segments.map((s) => s.name)[0], seg0, 'the first segment is still the first');
    assert.equal(segmentsIn(dir).length, 2);
    assert.deepEqual(fs.readFileSync(path.join(dir, seg0)), seg0Bytes, 'the old segment is not rewritten');
    const added = segmentsIn(dir).find((s) => s !== seg0)!;
    assert.ok(fs.statSync(path.join(dir, added)).size < seg0Bytes.length / 4, 'the new segment holds one file');

    // The changed file's old units stay in the old segment but are dead: only its new ones load.
    const reloaded = load(dir, second);
    assert.equal(reloaded.units.filter((u) => u.path === 'docs/page-04.md').length, 2);
    assert.ok(reloaded.units.filter((u) => u.path === 'docs/page-04.md').every((u) => (u as StoredUnit).segment.ref.name === added));
    assert.ok(reloaded.units.find((u) => u.path === 'docs/page-04.md')!.segments.some((s) => s.text.includes('idle sockets')));
    const live = reloaded.units.reduce((n, u) => n + u.tokenCount, 0);
    assert.ok(reloaded.store.count > live, 'dead vectors of the old version are still in the first segment');
    assert.deepEqual(contentOf(reloaded), contentOf(built), 'what was saved is what loads');
  });

  it('a deleted file leaves tombstones; a segment without live units is dropped; dead space above the threshold compacts everything into one segment', async () => {
    const dir = tmpDir();
    const files = Array.from({ length: 10 }, (_, i) => page(i));
    let ix = saveIndex(dir, await build(files));
    const [seg0] = segmentsIn(dir);
    // Edit one file, then edit it again: the first edit's segment has no live unit left.
    ix = saveIndex(dir, await build(files.map((f, i) => (i === 2 ? page(2, ' First edit.') : f)), ix));
    const seg1 = segmentsIn(dir).find((s) => s !== seg0)!;
    ix = saveIndex(dir, await build(files.map((f, i) => (i === 2 ? page(2, ' Second edit.') : f)), ix));
    assert.ok(!segmentsIn(dir).includes(seg1), 'the all-dead segment is gone');
    assert.equal(segmentsIn(dir).length, 2);
    // Delete four files: 40 % of the vectors dead, above DEAD_SHARE: one new segment, all live.
    const kept = files.filter((_, i) => i >= 4).concat([page(2, ' Second edit.')]);
    const built = await build(kept, ix);
    assert.equal(built.store.parts.length, 1, 'compacted');
    assert.equal(built.store.count, built.units.reduce((n, u) => n + u.tokenCount, 0));
    const compacted = saveIndex(dir, built);
    assert.equal(segmentsIn(dir).length, 1);
    assert.ok(!segmentsIn(dir).includes(seg0));
    assert.deepEqual(contentOf(load(dir, compacted)), contentOf(built));
  });

  it(`more than ${MAX_PARTS} segments: the recent ones are merged into one, the first is kept`, async () => {
    const dir = tmpDir();
    const files = Array.from({ length: 40 }, (_, i) => page(i));
    let ix = saveIndex(dir, await build(files));
    const [seg0] = segmentsIn(dir);
    let current = files;
    for (let e = 0; e < MAX_PARTS - 1; e++) {
      current = current.map((f, i) => (i === e ? page(e, ` Edit ${e}.`) : f));
      ix = saveIndex(dir, await build(current, ix));
    }
    assert.equal(segmentsIn(dir).length, MAX_PARTS);
    current = current.map((f, i) => (i === MAX_PARTS ? page(MAX_PARTS, ' One more.') : f));
    const built = await build(current, ix);
    assert.equal(built.store.parts.length, 2, 'first part kept, the rest merged');
    const before = contentOf(built);
    ix = saveIndex(dir, built);
    assert.deepEqual(segmentsIn(dir).length, 2);
    assert.ok(segmentsIn(dir).includes(seg0));
    assert.deepEqual(contentOf(load(dir, ix)), before);
  });

  it('a corrupt or truncated appended segment is found at load', async () => {
    const dir = tmpDir();
    const files = Array.from({ length: 6 }, (_, i) => page(i));
    const first = saveIndex(dir, await build(files));
    const [seg0] = segmentsIn(dir);
    saveIndex(dir, await build(files.map((f, i) => (i === 1 ? page(1, ' Changed.') : f)), first));
    const added = path.join(dir, segmentsIn(dir).find((s) => s !== seg0)!);
    const body = fs.readFileSync(added);
    for (const at of [0, body.length >> 1, body.length - 1]) {
      const copy = Buffer.from(body);
      copy[at] ^= 0x04;
      rewrite(added, copy);
      const r = loadIndex(dir, { root: ROOT, model: encoder.fingerprint, dim: encoder.dim });
      assert.ok('reason' in r && /fails its checksum; rebuilding/.test(r.reason), `byte ${at}: ${JSON.stringify(r)}`);
    }
    fs.writeFileSync(added, body.subarray(0, body.length - 1));
    const r = loadIndex(dir, { root: ROOT, model: encoder.fingerprint, dim: encoder.dim });
    assert.ok('reason' in r && /bytes, not/.test(r.reason));
  });

  it("loaded units keep no text in memory and read it from their segment; BM25 over them ranks as over the passages in memory", async () => {
    const dir = tmpDir();
    const files = Array.from({ length: 16 }, (_, i) => page(i, i % 3 === 0 ? ' Failed uploads are retried three times with backoff.' : ''));
    const built = await build(files);
    const inMemory: IndexedUnit[] = built.units.map((u) => ({ ...u, segments: u.segments.map((s) => ({ ...s })) }));
    const loaded = saveIndex(dir, built);
    for (const u of loaded.units) assert.ok(!Object.prototype.hasOwnProperty.call(u, 'segments'), 'no text held by a loaded unit');
    assert.deepEqual(loaded.units.map((u) => u.segments), inMemory.map((u) => u.segments));
    const a = new Bm25Index(inMemory);
    const b = new Bm25Index(loaded.units);
    for (const q of ['retried uploads backoff', 'cached responses sessions', 'drains connections', 'page 7 tokens']) {
      assert.deepEqual(b.search(q, 10), a.search(q, 10), q);
    }
  });
});
