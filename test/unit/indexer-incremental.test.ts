// Incremental indexing over the compressed store: unchanged files keep their compressed vectors
// bit for bit, new and changed files are encoded with the existing centroids, deleted files just
// drop their units; the codec is retrained (every file re-encoded) once the index outgrows it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultModelDir } from '../../src/core/engine';
import { buildIndex, unitsForPassage, type SourceFile } from '../../src/core/index/indexer';
import { Encoder } from '../../src/core/model/encoder';
import { jsMatMulT } from '../../src/core/gemm';
import type { WorkspaceIndex } from '../../src/core/index/workspace-index';
import { residualBytes } from '../../src/core/index/residual-codec';

const page = (i: number, extra = ''): SourceFile => ({
  path: `docs/page-${i}.md`,
  text: `# Page ${i}\n\nThe server drains open connections before it stops (${i}).${extra}\n\n## Caching ${i}\n\nResponses are cached for ten minutes unless the header says otherwise.\n`,
});

/** The compressed codes of a file's units, for bit-for-bit comparison across indexes. */
function codesOf(ix: WorkspaceIndex, path: string): { ids: number[]; residuals: number[] } {
  const f = ix.files.find((x) => x.path === path)!;
  const R = residualBytes(ix.store.dim);
  const out = { ids: [] as number[], residuals: [] as number[] };
  for (let u = f.unitFirst; u < f.unitFirst + f.unitCount; u++) {
    const { tokenFirst: a, tokenCount: n } = ix.units[u];
    const raw = ix.store.raw(a, n);
    out.ids.push(...raw.centroidIds);
    out.residuals.push(...raw.residuals.subarray(0, n * R));
  }
  return out;
}

describe('buildIndex with a compressed store', () => {
  let encoder: Encoder;
  before(async () => {
    encoder = await Encoder.load(defaultModelDir());
  });
  after(async () => {
    await encoder.dispose();
  });

  it('an update encodes only new and changed files, with the existing centroids', async () => {
    const files = Array.from({ length: 6 }, (_, i) => page(i));
    const first = await buildIndex('/virtual', files, encoder, undefined, { matmul: jsMatMulT });
    assert.equal(first.stats.codecTrained, true);
    assert.ok(first.stats.centroids > 0);
    assert.equal(first.index.store.codec.trainedOnTokens, first.index.store.count);
    assert.equal(first.index.encodedSinceTraining, 0);

    // page-2 changed, page-4 deleted, page-6 new.
    const next = [page(0), page(1), page(2, ' It also closes idle sockets.'), page(3), page(5), page(6)];
    const second = await buildIndex('/virtual', next, encoder, first.index, { matmul: jsMatMulT });
    assert.equal(second.stats.codecTrained, false);
    assert.equal(second.index.store.codec, first.index.store.codec, 'the same codec object: centroids not retrained');
    assert.equal(second.stats.filesReused, 4);
    assert.equal(second.stats.filesEncoded, 2);
    assert.equal(second.index.encodedSinceTraining, second.stats.tokensEncoded);
    assert.deepEqual(second.index.files.map((f) => f.path), next.map((f) => f.path));
    for (const p of ['docs/page-0.md', 'docs/page-1.md', 'docs/page-3.md', 'docs/page-5.md']) {
      assert.deepEqual(codesOf(second.index, p), codesOf(first.index, p), `${p} keeps its compressed vectors`);
    }
    assert.ok(!second.index.units.some((u) => u.path === 'docs/page-4.md'), 'a deleted file drops its units');
    // Unchanged files keep their vectors where they were (nothing copied); the changed and the new
    // file's go into one new part after the previous store's; page-2's and page-4's old vectors
    // are dead space (below the compaction threshold here).
    const firstAt = new Map(first.index.units.map((u) => [`${u.path}:${u.start}`, u.tokenFirst]));
    for (const u of second.index.units) {
      if (u.path === 'docs/page-2.md' || u.path === 'docs/page-6.md') assert.ok(u.tokenFirst >= first.index.store.count, `${u.path} is in the new part`);
      else assert.equal(u.tokenFirst, firstAt.get(`${u.path}:${u.start}`), `${u.path} stays in place`);
    }
    assert.equal(second.index.store.parts.length, 2);
    const live = second.index.units.reduce((n, u) => n + u.tokenCount, 0);
    const dead = first.index.units.filter((u) => u.path === 'docs/page-2.md' || u.path === 'docs/page-4.md').reduce((n, u) => n + u.tokenCount, 0);
    assert.equal(second.index.store.count, live + dead);
    assert.equal(second.stats.tokens, live);
    // The new file's vectors decode close to its exact encoding (same centroids, same residual codec).
    const unit = second.index.units.find((u) => u.path === 'docs/page-6.md')!;
    const dec = new Float32Array(unit.tokenCount * encoder.dim);
    second.index.store.decode(unit.tokenFirst, unit.tokenCount, dec);
    const [exact] = await encoder.encodeDocs(unitsForPassage(encoder, unit).map((x) => x.input));
    assert.equal(exact.count, unit.tokenCount);
    // decode writes the store's own (rotated) coordinates; the exact rows are mapped the same way.
    const want = second.index.store.toStoreSpace(exact.vectors, exact.count);
    let cos = 0;
    for (let j = 0; j < exact.count; j++) for (let d = 0; d < encoder.dim; d++) cos += dec[j * encoder.dim + d] * want[j * encoder.dim + d];
    assert.ok(cos / exact.count > 0.8, `mean cosine of decoded to exact vectors: ${cos / exact.count}`);
  });

  it('the codec is retrained, and every file re-encoded, once the index has outgrown it', async () => {
    const small = [page(0), page(1)];
    const a = await buildIndex('/virtual', small, encoder, undefined, { matmul: jsMatMulT });
    const grown = Array.from({ length: 8 }, (_, i) => page(i));
    const b = await buildIndex('/virtual', grown, encoder, a.index, { matmul: jsMatMulT });
    assert.equal(b.stats.codecTrained, true);
    assert.notEqual(b.index.store.codec, a.index.store.codec);
    assert.equal(b.stats.filesReused, 0);
    assert.equal(b.stats.filesEncoded, grown.length);
    assert.equal(b.index.encodedSinceTraining, 0);
    assert.equal(b.index.store.codec.trainedOnTokens, b.index.store.count);
    assert.equal(b.index.store.parts.length, 1, 'a retrained codec starts a new store');
    // Unchanged input: nothing encoded, codec kept.
    const c = await buildIndex('/virtual', grown, encoder, b.index, { matmul: jsMatMulT });
    assert.equal(c.stats.codecTrained, false);
    assert.equal(c.stats.filesEncoded, 0);
  });
});
