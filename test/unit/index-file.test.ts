import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import zlib from 'node:zlib';
import { describe, it } from 'node:test';
import { INDEX_FORMAT, INDEX_FORMAT_VERSION, loadIndex, saveIndex } from '../../src/core/index/index-file';
import { CompressedTokenStore } from '../../src/core/index/compressed-store';
import { MAX_BUCKETS, MAX_CODE_BITS, residualBytes, type ResidualCodec } from '../../src/core/index/residual-codec';
import { emptyIndex, type IndexedFile, type IndexedUnit, type WorkspaceIndex } from '../../src/core/index/workspace-index';
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

const tmpDir = tempDirFactory('es-index-');

const ROOT = '/work/some-project';
const MODEL = 'es-colbert-small-4847540-1700000000000';

/**
 * A small index with `files` files of 1–3 units each, its compressed store filled with random
 * codes (the file format does not care how they were computed); dim is odd so the residual rows
 * (7 bytes at dim 5) and the uint16 sections leave the later sections unaligned.
 */
function makeIndex(seed = 1, dim = 5, files = 4, k = 3): WorkspaceIndex {
  let s = seed;
  const rnd = (): number => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  };
  const floats = (n: number): Float32Array => Float32Array.from({ length: n }, () => rnd() * 2 - 1);
  const codec: ResidualCodec = {
    dim, k, centroids: floats(k * dim), rotation: floats(dim * dim), bits: Uint8Array.from({ length: dim }, (_, d) => [6, 2, 0, 3, 1, 0][d % 6]), cutoffs: floats((MAX_BUCKETS - 1) * dim), weights: floats(MAX_BUCKETS * dim),
    normMin: 0.05, normMax: 0.5 + seed / 7, normalize: seed % 2 === 1, trainedOnTokens: 100 + seed,
  };
  const indexedFiles: IndexedFile[] = [];
  const units: IndexedUnit[] = [];
  let count = 0;
  for (let f = 0; f < files; f++) {
    const p = `docs/file-${f}.md`;
    const file: IndexedFile = { path: p, hash: `${f}`.repeat(64).slice(0, 64), size: 100 + f, unitFirst: units.length, unitCount: 0 };
    const nu = 1 + Math.floor(rnd() * 3);
    for (let u = 0; u < nu; u++) {
      const n = 1 + Math.floor(rnd() * 7);
      units.push({
        path: p, start: 10 * u, end: 10 * u + 9, kind: f % 2 ? 'comment' : 'markdown', language: f % 2 ? 'typescript' : 'markdown',
        context: `Heading ${u} › “quoted” ünïcödé 🚀`, segments: [{ text: 'body text', offset: 10 * u }], tokenFirst: count, tokenCount: n,
      });
      count += n;
      file.unitCount++;
    }
    indexedFiles.push(file);
  }
  const store = CompressedTokenStore.inMemory(
    codec, count,
    Uint16Array.from({ length: count }, () => Math.floor(rnd() * k)),
    Uint8Array.from({ length: count }, () => Math.floor(rnd() * 256)),
    Uint8Array.from({ length: count * residualBytes(dim) }, () => Math.floor(rnd() * 256)),
  );
  return { root: ROOT, modelFingerprint: MODEL, files: indexedFiles, units, store, encodedSinceTraining: seed };
}

const expectOf = (ix: WorkspaceIndex): { root: string; model: string; dim: number } => ({ root: ix.root, model: ix.modelFingerprint, dim: ix.store.dim });

function assertSameIndex(a: WorkspaceIndex, b: WorkspaceIndex): void {
  assert.equal(a.root, b.root);
  assert.equal(a.modelFingerprint, b.modelFingerprint);
  assert.deepEqual(a.files, b.files);
  // A loaded unit reads its text from its segment (a getter): compare the fields.
  const plain = (u: IndexedUnit): unknown => ({ path: u.path, start: u.start, end: u.end, kind: u.kind, language: u.language, context: u.context, segments: u.segments, tokenFirst: u.tokenFirst, tokenCount: u.tokenCount });
  assert.deepEqual(a.units.map(plain), b.units.map(plain));
  assert.equal(a.encodedSinceTraining, b.encodedSinceTraining);
  assert.equal(a.store.dim, b.store.dim);
  assert.equal(a.store.count, b.store.count);
  // deepEqual on typed arrays compares type and every element.
  assert.deepEqual(a.store.codec, b.store.codec);
  assert.deepEqual(a.store.centroidIds, b.store.centroidIds);
  assert.deepEqual(a.store.norms, b.store.norms);
  const ra = a.store.raw(0, a.store.count);
  const rb = b.store.raw(0, b.store.count);
  assert.deepEqual(ra.residuals, rb.residuals);
  const va = new Float32Array(a.store.count * a.store.dim);
  const vb = new Float32Array(b.store.count * b.store.dim);
  a.store.decode(0, a.store.count, va);
  b.store.decode(0, b.store.count, vb);
  assert.deepEqual(va, vb);
  assert.ok(b.store.codec.centroids instanceof Float32Array && b.store.centroidIds instanceof Uint16Array);
}

function load(dir: string, ix: WorkspaceIndex): WorkspaceIndex {
  const r = loadIndex(dir, expectOf(ix));
  assert.ok('index' in r, `expected an index, got ${JSON.stringify(r)}`);
  return r.index;
}

function reasonOf(dir: string, expect: { root: string; model: string; dim: number }): string {
  const r = loadIndex(dir, expect);
  assert.ok('reason' in r, 'expected a reason, got an index');
  return r.reason;
}

/** The index's one segment file (these small indexes are saved whole, in one segment). */
function tokensFile(dir: string): string {
  const files = fs.readdirSync(dir).filter((f) => /^seg-[0-9a-f]+\.bin$/.test(f));
  assert.equal(files.length, 1, `one segment file in ${JSON.stringify(fs.readdirSync(dir))}`);
  return path.join(dir, files[0]);
}

function codecFile(dir: string): string {
  const files = fs.readdirSync(dir).filter((f) => /^codec-[0-9a-f]+\.bin$/.test(f));
  assert.equal(files.length, 1, `one codec file in ${JSON.stringify(fs.readdirSync(dir))}`);
  return path.join(dir, files[0]);
}

describe('saveIndex / loadIndex', () => {
  it('round-trips files, units and the typed arrays exactly', () => {
    const dir = tmpDir();
    const ix = makeIndex(7, 5, 6);
    saveIndex(dir, ix);
    assertSameIndex(ix, load(dir, ix));
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
    assert.equal(meta.format, INDEX_FORMAT);
    assert.equal(meta.version, INDEX_FORMAT_VERSION);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['index.json', path.basename(tokensFile(dir)), path.basename(codecFile(dir))].sort(), 'no temporary files left');
  });

  it('round-trips at dims 1, 3, 128 and a store of typed-array views (non-zero byteOffset)', () => {
    for (const dim of [1, 3, 128]) {
      const dir = tmpDir();
      const ix = makeIndex(dim, dim, 3);
      saveIndex(dir, ix);
      assertSameIndex(ix, load(dir, ix));
    }
    const ix = makeIndex(9, 4, 3);
    const pad = (a: Uint8Array | Uint16Array | Float32Array | Int32Array, extra: number): any => {
      const C = a.constructor as any;
      const big = new C(a.length + 2 * extra);
      big.set(a, extra);
      return big.subarray(extra, extra + a.length);
    };
    const st = ix.store;
    const c = st.codec;
    const viewIx: WorkspaceIndex = {
      ...ix,
      store: CompressedTokenStore.inMemory(
        { ...c, centroids: pad(c.centroids, 1), rotation: pad(c.rotation, 4), cutoffs: pad(c.cutoffs, 2), weights: pad(c.weights, 3) },
        st.count, pad(st.centroidIds, 1), pad(st.norms, 2), pad(st.raw(0, st.count).residuals, 3),
      ),
    };
    assert.ok(viewIx.store.norms.byteOffset > 0);
    const dir = tmpDir();
    saveIndex(dir, viewIx);
    assertSameIndex(ix, load(dir, ix));
  });

  it('round-trips an empty index', () => {
    const dir = tmpDir();
    const ix = emptyIndex(ROOT, MODEL, 128);
    saveIndex(dir, ix);
    const got = load(dir, ix);
    assert.equal(got.store.count, 0);
    assert.deepEqual(got.files, []);
    assert.deepEqual(got.units, []);
  });

  it('creates missing parent folders', () => {
    const dir = path.join(tmpDir(), 'a', 'b', 'c');
    const ix = makeIndex();
    saveIndex(dir, ix);
    assertSameIndex(ix, load(dir, ix));
  });

  it('a folder without an index says so', () => {
    assert.deepEqual(loadIndex(tmpDir(), expectOf(makeIndex())), { reason: 'no index yet' });
    assert.deepEqual(loadIndex(path.join(tmpDir(), 'missing'), expectOf(makeIndex())), { reason: 'no index yet' });
  });

  it('a corrupt index.json gives a reason, not an exception', () => {
    const ix = makeIndex();
    for (const body of ['{"format": "evidence-search-index", "vers', '', '\u0000\u0000\u0000\u0000', 'not json']) {
      const dir = tmpDir();
      saveIndex(dir, ix);
      fs.writeFileSync(path.join(dir, 'index.json'), body);
      assert.match(reasonOf(dir, expectOf(ix)), /index file is corrupt .*rebuilding/);
    }
  });

  it('an index.json that is valid JSON but not an index object gives a reason, not an exception', () => {
    // e.g. a file overwritten by another tool or a half-migrated cache: the contract is
    // "anything inconsistent returns a reason and the caller rebuilds".
    const ix = makeIndex();
    const good = (dir: string): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
    const variants: Array<[string, (dir: string) => string]> = [
      ['null', () => 'null'],
      ['array', () => '[]'],
      ['no segments', (dir) => JSON.stringify({ ...good(dir), segments: undefined })],
      ['a segment name a number', (dir) => JSON.stringify({ ...good(dir), segments: [{ ...(good(dir).segments as object[])[0], name: 42 }] })],
      ['a segment name outside the folder', (dir) => JSON.stringify({ ...good(dir), segments: [{ ...(good(dir).segments as object[])[0], name: '../seg-00.bin' }] })],
      ['no files list', (dir) => JSON.stringify({ ...good(dir), files: undefined })],
      ['a file in a segment that is not listed', (dir) => JSON.stringify({ ...good(dir), files: (good(dir).files as object[]).map((f) => ({ ...f, segment: 5 })) })],
      ['a file with more units than its segment', (dir) => JSON.stringify({ ...good(dir), files: (good(dir).files as object[]).map((f) => ({ ...f, units: 1000 })) })],
      ['a unit listed twice', (dir) => JSON.stringify({ ...good(dir), files: (good(dir).files as Array<Record<string, unknown>>).map((f) => ({ ...f, unit: 0 })) })],
      ['a file entry null', (dir) => JSON.stringify({ ...good(dir), files: [null] })],
    ];
    for (const [label, body] of variants) {
      const dir = tmpDir();
      saveIndex(dir, ix);
      const text = body(dir);
      fs.writeFileSync(path.join(dir, 'index.json'), text);
      let r: ReturnType<typeof loadIndex>;
      try {
        r = loadIndex(dir, expectOf(ix));
      } catch (e) {
        assert.fail(`${label}: loadIndex threw ${(e as Error).message}`);
      }
      assert.ok('reason' in r, `${label}: a reason, got an index`);
    }
  });

  it('a truncated segment file is found by its size', () => {
    const dir = tmpDir();
    const ix = makeIndex();
    saveIndex(dir, ix);
    const tf = tokensFile(dir);
    const body = fs.readFileSync(tf);
    fs.writeFileSync(tf, body.subarray(0, body.length - 7));
    assert.match(reasonOf(dir, expectOf(ix)), /has \d+ bytes, not \d+; rebuilding/);
    fs.writeFileSync(tf, Buffer.alloc(0));
    assert.match(reasonOf(dir, expectOf(ix)), /has 0 bytes/);
  });

  it('one flipped bit anywhere in the segment or codec file fails its checksum', () => {
    const dir = tmpDir();
    const ix = makeIndex();
    saveIndex(dir, ix);
    const tf = tokensFile(dir);
    const body = fs.readFileSync(tf);
    for (const at of [0, body.length >> 1, body.length - 1]) {
      const copy = Buffer.from(body);
      copy[at] ^= 0x10;
      rewrite(tf, copy);
      assert.match(reasonOf(dir, expectOf(ix)), /checksum/, `byte ${at}`);
    }
    rewrite(tf, body);
    assertSameIndex(ix, load(dir, ix));
    const cf = codecFile(dir);
    const codec = fs.readFileSync(cf);
    const flipped = Buffer.from(codec);
    flipped[codec.length >> 1] ^= 1;
    fs.writeFileSync(cf, flipped);
    assert.match(reasonOf(dir, expectOf(ix)), /codec file fails its checksum/);
  });

  it('a missing segment or codec file is reported', () => {
    const dir = tmpDir();
    const ix = makeIndex();
    saveIndex(dir, ix);
    fs.rmSync(tokensFile(dir));
    assert.match(reasonOf(dir, expectOf(ix)), /segment .* is missing/);
    const dir2 = tmpDir();
    saveIndex(dir2, ix);
    fs.rmSync(codecFile(dir2));
    assert.match(reasonOf(dir2, expectOf(ix)), /codec file .* is missing/);
  });

  it('another model fingerprint or dimension: rebuild', () => {
    const dir = tmpDir();
    const ix = makeIndex();
    saveIndex(dir, ix);
    assert.match(reasonOf(dir, { ...expectOf(ix), model: 'es-colbert-small-1-2' }), /another model/);
    assert.match(reasonOf(dir, { ...expectOf(ix), dim: ix.store.dim + 1 }), /another model/);
  });

  it('an index of the previous format (version 1, int8 vectors) is rebuilt with a reason that says so', () => {
    const dir = tmpDir();
    const ix = makeIndex();
    saveIndex(dir, ix);
    const metaPath = path.join(dir, 'index.json');
    const meta = JSON.parse(fs.readFileSync(metaPath, 'utf8'));
    delete meta.codec;
    delete meta.encodedSinceTraining;
    fs.writeFileSync(metaPath, JSON.stringify({ ...meta, version: 1 }));
    assert.equal(reasonOf(dir, expectOf(ix)), `index format ${INDEX_FORMAT} v1 is not v${INDEX_FORMAT_VERSION}; rebuilding`);
    assert.ok(INDEX_FORMAT_VERSION >= 2);
  });

  it('an index of the formats that stored token spans (v2, v3) or no word-start flags (v4) is rebuilt, not converted', () => {
    for (const version of [2, 3, 4]) {
      const dir = tmpDir();
      const ix = makeIndex();
      saveIndex(dir, ix);
      const metaPath = path.join(dir, 'index.json');
      fs.writeFileSync(metaPath, JSON.stringify({ ...JSON.parse(fs.readFileSync(metaPath, 'utf8')), version }));
      assert.equal(reasonOf(dir, expectOf(ix)), `index format ${INDEX_FORMAT} v${version} is not v${INDEX_FORMAT_VERSION}; rebuilding`);
    }
  });

  it('a segment of an earlier layout (with unpacked token spans, without word-start flags, without stored spans) is refused with a reason that names it', () => {
    for (const [magic, what] of [['ESSEG003', 'with unpacked token spans'], ['ESSEG004', 'with unpacked token spans'], ['ESSEG005', 'without word-start flags'], ['ESSEG006', 'without stored token spans']]) {
      const dir = tmpDir();
      const ix = makeIndex();
      saveIndex(dir, ix);
      // The same bytes with an older magic, checksummed again, as if that version had written them.
      const tf = tokensFile(dir);
      const body = fs.readFileSync(tf);
      assert.equal(body.subarray(-8).toString('latin1'), 'ESSEG007');
      body.write(magic, body.length - 8, 'latin1');
      rewrite(tf, body);
      const metaPath = path.join(dir, 'index.json');
      const meta = JSON.parse(fs.readFileSync(metaPath, 'utf8'));
      meta.segments[0].crc32 = zlib.crc32(body) >>> 0;
      fs.writeFileSync(metaPath, JSON.stringify(meta));
      assert.equal(reasonOf(dir, expectOf(ix)), `index segment ${path.basename(tf)} has an older layout (${magic}, ${what}); rebuilding`);
      body.write('NOTASEG!', body.length - 8, 'latin1');
      rewrite(tf, body);
      meta.segments[0].crc32 = zlib.crc32(body) >>> 0;
      fs.writeFileSync(metaPath, JSON.stringify(meta));
      assert.match(reasonOf(dir, expectOf(ix)), /is not an index segment; rebuilding/);
    }
  });

  it('missing or malformed codec parameters, or a centroid id beyond the codec, give a reason', () => {
    const ix = makeIndex();
    const saved = (): Record<string, unknown> => {
      const dir = tmpDir();
      saveIndex(dir, ix);
      return JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')).codec;
    };
    const goodCodec = saved();
    const bits = goodCodec.bits as number[];
    for (const edit of [{ codec: undefined }, { codec: null }, { codec: { ...goodCodec, k: 'x' } }, { codec: { ...goodCodec, k: 70000 } }, { codec: { ...goodCodec, normMin: 0 } },
      { codec: { ...goodCodec, bits: undefined } }, { codec: { ...goodCodec, bits: bits.slice(1) } }, { codec: { ...goodCodec, bits: bits.map(() => MAX_CODE_BITS + 1) } },
      { codec: { ...goodCodec, bits: bits.map((b, d) => (d === 0 ? 2.5 : b)) } }, { encodedSinceTraining: 'many' }]) {
      const dir = tmpDir();
      saveIndex(dir, ix);
      const metaPath = path.join(dir, 'index.json');
      fs.writeFileSync(metaPath, JSON.stringify({ ...JSON.parse(fs.readFileSync(metaPath, 'utf8')), ...edit }));
      assert.match(reasonOf(dir, expectOf(ix)), /incomplete; rebuilding/, JSON.stringify(edit));
    }
    const bad = makeIndex(4);
    bad.store.centroidIds[2] = bad.store.codec.k;
    const dir = tmpDir();
    // The save reads its index back, so it notices too; the index on disk gives a reason.
    assert.throws(() => saveIndex(dir, bad), /centroid the codec does not have/);
    assert.match(reasonOf(dir, expectOf(bad)), /centroid the codec does not have; rebuilding/);
  });

  it('another root folder: rebuild', () => {
    const dir = tmpDir();
    const ix = makeIndex();
    saveIndex(dir, ix);
    assert.match(reasonOf(dir, { ...expectOf(ix), root: '/elsewhere' }), /another folder/);
  });

  it('another format name or version: rebuild', () => {
    const ix = makeIndex();
    for (const edit of [{ version: INDEX_FORMAT_VERSION + 1 }, { version: 0 }, { format: 'something-else' }, { version: '1' }]) {
      const dir = tmpDir();
      saveIndex(dir, ix);
      const metaPath = path.join(dir, 'index.json');
      fs.writeFileSync(metaPath, JSON.stringify({ ...JSON.parse(fs.readFileSync(metaPath, 'utf8')), ...edit }));
      assert.match(reasonOf(dir, expectOf(ix)), /index format .* is not v\d+; rebuilding/, JSON.stringify(edit));
    }
  });

  it('a second save replaces the index and removes the older segment and codec files', () => {
    const dir = tmpDir();
    const a = makeIndex(1);
    const b = makeIndex(2, 5, 5);
    saveIndex(dir, a);
    const ta = tokensFile(dir);
    const ca = codecFile(dir);
    const savedB = saveIndex(dir, b);
    const tb = tokensFile(dir);
    assert.notEqual(ta, tb);
    assert.ok(!fs.existsSync(ta) && !fs.existsSync(ca));
    assertSameIndex(b, load(dir, b));
    assertSameIndex(b, savedB);
    // Saving the index a save returned writes no segment or codec again.
    const cb = codecFile(dir);
    saveIndex(dir, savedB);
    assert.equal(tokensFile(dir), tb);
    assert.equal(codecFile(dir), cb);
    assertSameIndex(b, load(dir, b));
  });
});

describe('crash simulation', () => {
  it('a crash after the new tokens file was written but before index.json was replaced: the old index loads', () => {
    const dir = tmpDir();
    const a = makeIndex(1);
    const b = makeIndex(2, 5, 5);
    saveIndex(dir, a);
    const oldTokens = tokensFile(dir);
    const oldMeta = fs.readFileSync(path.join(dir, 'index.json'));
    // Produce b's files elsewhere, then copy in only what a crashed save would have left.
    const other = tmpDir();
    saveIndex(other, b);
    const newTokens = tokensFile(other);
    fs.copyFileSync(newTokens, path.join(dir, path.basename(newTokens)));
    fs.copyFileSync(codecFile(other), path.join(dir, path.basename(codecFile(other))));
    // A half-written temporary index.json from the crashed process.
    const newMeta = fs.readFileSync(path.join(other, 'index.json'));
    fs.writeFileSync(path.join(dir, 'index.json.99999.tmp'), newMeta.subarray(0, newMeta.length >> 1));
    assert.deepEqual(fs.readFileSync(path.join(dir, 'index.json')), oldMeta);
    assert.ok(fs.existsSync(oldTokens));
    assertSameIndex(a, load(dir, a));
    // The next successful save recovers: b loads, a's tokens file is gone.
    saveIndex(dir, b);
    assertSameIndex(b, load(dir, b));
    assert.ok(!fs.existsSync(oldTokens));
  });

  it('leftover temporary files and stale tokens files do not break loading', () => {
    const dir = tmpDir();
    const ix = makeIndex(3);
    saveIndex(dir, ix);
    fs.writeFileSync(path.join(dir, 'index.json.12345.tmp'), '{"format":');
    fs.writeFileSync(path.join(dir, `index.json.${process.pid}.tmp`), 'garbage');
    fs.writeFileSync(path.join(dir, 'tokens-00000000deadbeef.bin'), Buffer.alloc(1000, 7));
    fs.writeFileSync(path.join(dir, 'seg-00000000deadbeef.bin'), Buffer.alloc(1000, 7));
    assertSameIndex(ix, load(dir, ix));
    // A save with a leftover temp file of its own pid overwrites it and still succeeds.
    saveIndex(dir, ix);
    assertSameIndex(ix, load(dir, ix));
    assert.ok(!fs.existsSync(path.join(dir, 'tokens-00000000deadbeef.bin')), 'stale tokens files are removed by a save');
    assert.ok(!fs.existsSync(path.join(dir, 'seg-00000000deadbeef.bin')), 'stale segment files are removed by a save');
  });

  it('an index.json pointing at a segment file of another index fails the checksum', () => {
    const dir = tmpDir();
    const a = makeIndex(1);
    const b = makeIndex(2);
    saveIndex(dir, a);
    const metaA = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
    const other = tmpDir();
    saveIndex(other, b);
    const tb = tokensFile(other);
    fs.copyFileSync(tb, path.join(dir, metaA.segments[0].name));
    assert.match(reasonOf(dir, expectOf(a)), /checksum|bytes, not/);
  });
});
