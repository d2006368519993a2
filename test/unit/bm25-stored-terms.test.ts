// BM25 from the term lists segments store (segment-file.ts's terms section) must answer exactly
// as BM25 from the units' texts: same ranked units, same scores, through appended segments, a
// tombstoned (edited) file, a deleted file and compactions — without reading any text.
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
import { Segment } from '../../src/core/index/segment-file';
import { StoredUnit, storedTerms } from '../../src/core/index/stored-unit';
import { Bm25Index } from '../../src/core/search/bm25';
import { indexText, TermCounter } from '../../src/core/search/bm25-analysis';
import type { WorkspaceIndex } from '../../src/core/index/workspace-index';
import { tempDirFactory } from '../temp-dirs';

const tmpDir = tempDirFactory('es-bm25-terms-');
const ROOT = '/virtual';

const TOPICS = ['connections', 'responses', 'uploads', 'sessions', 'tokens', 'plugins', 'routes', 'schemas'];
const page = (i: number, extra = ''): SourceFile => ({
  path: `docs/page-${String(i).padStart(2, '0')}.md`,
  text: `# Page ${i} of getRouteOptions\n\nThe server drains open ${TOPICS[i % 8]} before it stops (${i}); draining ${TOPICS[(i + 1) % 8]} twice, ${TOPICS[i % 8]} again.${extra}\n\n## Caching ${i}\n\nResponses about ${TOPICS[(i + 3) % 8]} are cached for ten minutes unless the header says otherwise: HTTPServer keeps snake_case_names.\n`,
});

const QUERIES = [
  'how does the server drain connections before stopping',
  'cached responses header ten minutes',
  'idle sockets closed',
  'plugins routes schemas',
  'getRouteOptions',
  'http server snake case names',
  'page 4',
  'uploads sessions tokens',
  'the of and', // stop words only: no results
];

const manifestOf = (dir: string): { segments: Array<{ name: string; bytes: number; crc32: number }> } => JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));

function load(dir: string, ix: WorkspaceIndex): { index: WorkspaceIndex } {
  const r = loadIndex(dir, { root: ix.root, model: ix.modelFingerprint, dim: ix.store.dim });
  assert.ok('index' in r, `expected an index, got ${JSON.stringify(r)}`);
  return r;
}

/** Every query's top 100 (unit index and exact score). */
const rankings = (b: Bm25Index): unknown[] => QUERIES.map((q) => b.search(q, 100));

/** BM25 built from stored term lists, with any read of a unit's text failing the test. */
function fromStoredTerms(ix: WorkspaceIndex): Bm25Index {
  const text = Segment.prototype.text;
  Segment.prototype.text = () => {
    throw new Error('BM25 read a text although its segment stores the terms');
  };
  try {
    return new Bm25Index(ix.units, storedTerms(ix.units));
  } finally {
    Segment.prototype.text = text;
  }
}

/** The same units with their texts in memory (the reference: BM25 analysing texts). */
const inMemory = (ix: WorkspaceIndex): Bm25Index => new Bm25Index(ix.units.map((u) => ({ ...u, segments: u.segments })));

function assertSameBm25(ix: WorkspaceIndex, what: string): void {
  assert.ok(ix.units.every((u) => u instanceof StoredUnit), `${what}: served from segments`);
  const stored = fromStoredTerms(ix);
  const texts = inMemory(ix);
  assert.equal(stored.size, texts.size);
  assert.deepEqual(rankings(stored), rankings(texts), `${what}: same ranked units and scores`);
  for (const t of ['connect', 'respons', 'page', 'route', 'snake', 'socket', 'getrouteoption']) assert.equal(stored.docFreq(t), texts.docFreq(t), `${what}: df of ${t}`);
  assert.ok(rankings(stored).some((r) => (r as unknown[]).length > 1), 'the queries find something');
}

describe('BM25 from stored term lists', () => {
  let encoder: Encoder;
  before(async () => {
    encoder = await Encoder.load(defaultModelDir());
  });
  after(async () => {
    await encoder.dispose();
  });

  const build = async (files: SourceFile[], previous?: WorkspaceIndex): Promise<WorkspaceIndex> =>
    (await buildIndex(ROOT, files, encoder, previous, { matmul: jsMatMulT })).index;

  it('equals BM25 from the texts through appended segments, an edited (tombstoned) file, a deleted file and compactions', async () => {
    const dir = tmpDir();
    let files = Array.from({ length: 12 }, (_, i) => page(i));
    const fresh = await build(files);
    let ix = saveIndex(dir, fresh);
    // The fresh (in-memory) build and the saved one agree too.
    assert.deepEqual(rankings(new Bm25Index(fresh.units)), rankings(fromStoredTerms(ix)));
    assertSameBm25(load(dir, ix).index, 'one segment');

    // Edits, one file at a time: appended segments, the old units of each edited file dead.
    for (const [k, i] of [4, 7, 4].entries()) {
      files = files.map((f, j) => (j === i ? page(i, ` It also closes idle sockets (edit ${k}).`) : f));
      ix = saveIndex(dir, await build(files, ix));
    }
    const loaded = load(dir, ix).index;
    assert.ok(loaded.store.parts.length >= 3, 'several segments');
    assert.ok(loaded.store.count > loaded.units.reduce((n, u) => n + u.tokenCount, 0), 'with dead units');
    assertSameBm25(loaded, 'several segments with a tombstoned file');

    // More edits than MAX_PARTS segments: the recent ones are merged.
    for (let k = 0; k <= MAX_PARTS; k++) {
      files = files.map((f, j) => (j === k % 12 ? page(j, ` Sockets edit ${k}.`) : f));
      ix = saveIndex(dir, await build(files, ix));
      assert.ok(ix.store.parts.length <= MAX_PARTS + 1);
    }
    assertSameBm25(load(dir, ix).index, 'after merging the recent segments');

    // Deleting files: dead space above the threshold compacts everything into one segment.
    files = files.filter((_, j) => j >= 5);
    ix = saveIndex(dir, await build(files, ix));
    const compacted = load(dir, ix).index;
    assert.equal(compacted.store.parts.length, 1, 'compacted into one segment');
    assertSameBm25(compacted, 'after compaction');
  });

  it('terms counted while building (a build that spills) are written as counting the texts in the write would', async () => {
    const files = Array.from({ length: 12 }, (_, i) => page(i));
    const plain = await build(files);
    assert.ok(plain.units.every((u) => u.terms === undefined), 'an index kept in memory counts no terms');
    const spillDir = tmpDir();
    const counted = (await buildIndex(ROOT, files, encoder, undefined, { matmul: jsMatMulT, spill: (c) => writeSpillSegment(spillDir, c), spillVectors: 1 << 30 })).index;
    assert.ok(counted.units.every((u) => u.terms !== undefined && u.terms.ids.length > 0), 'a build whose index is written counts each unit\'s terms');
    const [a, b] = [plain, counted].map((ix) => {
      const dir = tmpDir();
      saveIndex(dir, ix);
      return manifestOf(dir).segments.map((g) => fs.readFileSync(path.join(dir, g.name)));
    });
    assert.equal(a.length, 1);
    assert.ok(a[0].equals(b[0]), 'the same segment, byte for byte');
    // Counted by a counter whose numbering is not the segment's (it counted other texts first,
    // in another order): renumbered into the same segment.
    const other = new TermCounter();
    other.add('zebra quagga sockets and stopping; drained uploads of routes');
    const byCounter = new Map([...plain.units].reverse().map((u) => [u, (other.add(indexText(u.context, u.segments)), other.counted())]));
    const dir2 = tmpDir();
    saveIndex(dir2, { ...plain, units: plain.units.map((u) => ({ ...u, terms: byCounter.get(u) })) });
    const [c] = manifestOf(dir2).segments.map((g) => fs.readFileSync(path.join(dir2, g.name)));
    assert.ok(a[0].equals(c), 'renumbered: the same segment, byte for byte');

    // Spilled as it goes (a counter per part): the stored terms still answer as the texts do.
    const dir = tmpDir();
    const spilled = await buildIndex(ROOT, files, encoder, undefined, { matmul: jsMatMulT, spill: (c) => writeSpillSegment(dir, c), spillVectors: 300, batchPassages: 4 });
    const ix = saveIndex(dir, spilled.index);
    assert.ok(load(dir, ix).index.store.parts.length >= 2, 'spilled into several segments');
    assertSameBm25(load(dir, ix).index, 'spilled segments');
  });

  it('a corrupt byte in the terms section is found at load (segment crc32)', async () => {
    const dir = tmpDir();
    const ix = saveIndex(dir, await build([page(1), page(2)]));
    const [ref] = manifestOf(dir).segments;
    const file = path.join(dir, ref.name);
    const bytes = fs.readFileSync(file);
    const headLen = bytes.readUInt32LE(bytes.length - 12);
    const head = JSON.parse(bytes.subarray(bytes.length - 12 - headLen, bytes.length - 12).toString('utf8'));
    bytes[head.terms.ids] ^= 0x01;
    fs.writeFileSync(file, bytes);
    const t = new Date(Date.now() + 5000); // not the file this process verified when saving
    fs.utimesSync(file, t, t);
    const r = loadIndex(dir, { root: ix.root, model: ix.modelFingerprint, dim: ix.store.dim });
    assert.ok('reason' in r && /fails its checksum/.test(r.reason), JSON.stringify(r));
  });
});
