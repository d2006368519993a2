// Codec training overlaps encoding on a first build: the training sample is at most a quarter of
// the workspace, and the encoder keeps receiving batches while the codec trains (training here
// cannot finish until it has), so a workspace is never encoded whole before training starts.
// The shipped model's tokenizer, a stand-in encoder (seeded unit vectors, fast), onnxruntime's GEMM.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultModelDir } from '../../src/core/engine';
import { buildIndex, type SourceFile } from '../../src/core/index/indexer';
import { Encoder, type DocEncoding, type DocInput } from '../../src/core/model/encoder';
import { OrtGemm, type MatMulT } from '../../src/core/gemm';
import { mulberry32 } from '../../src/core/bench/metrics';

const sentence = (i: number, j: number): string =>
  `Section ${j} of page ${i} explains how the server drains connections, retries uploads and caches responses for a while.`;

function listing(files: number, sections: number): SourceFile[] {
  return Array.from({ length: files }, (_, i) => {
    const text = Array.from({ length: sections }, (_, j) => `## Part ${j}\n\n${sentence(i, j)} ${sentence(i, j + 1)}\n`).join('\n');
    return { path: `docs/p${String(i).padStart(3, '0')}.md`, size: Buffer.byteLength(text), mtimeMs: 1, text };
  });
}

describe('codec training overlaps encoding', () => {
  let encoder: Encoder;
  let gemm: OrtGemm;
  before(async () => {
    encoder = await Encoder.load(defaultModelDir());
    gemm = await OrtGemm.create();
  });
  after(async () => {
    await encoder.dispose();
    await gemm.dispose();
  });

  it('trains on at most a quarter of the workspace, while the encoder works on the rest', async () => {
    const files = listing(80, 8);
    const dim = encoder.dim;
    let encodedTokens = 0;
    let calls = 0;
    const rand = mulberry32(5);
    const fake = {
      async encodeDocs(docs: readonly DocInput[]): Promise<DocEncoding[]> {
        calls++;
        return docs.map((d) => {
          encodedTokens += encoder.sequenceLength(d);
          const count = d.bodyIds.length;
          const vectors = new Float32Array(count * dim);
          for (let r = 0; r < count; r++) {
            let norm = 0;
            for (let c = 0; c < dim; c++) norm += (vectors[r * dim + c] = rand() - 0.5) ** 2;
            for (let c = 0; c < dim; c++) vectors[r * dim + c] /= Math.sqrt(norm);
          }
          return { vectors, count, starts: d.bodyStarts.slice(), ends: d.bodyEnds.slice() };
        });
      },
    };
    // The first product of training waits until the encoder got more batches than the sample's,
    // or, if none come (training awaited before encoding the rest), gives up after a while.
    let tokensAtTraining = -1;
    let callsAtTraining = -1;
    let encodedDuringTraining = false;
    const firstProduct = async (): Promise<void> => {
      if (tokensAtTraining >= 0) return;
      tokensAtTraining = encodedTokens;
      callsAtTraining = calls;
      for (let t = 0; t < 200 && !encodedDuringTraining; t++) {
        await new Promise((r) => setTimeout(r, 10));
        encodedDuringTraining = calls > callsAtTraining + 1;
      }
    };
    const matmul: MatMulT = {
      async multiplyT(a, m, b, n, k) {
        await firstProduct();
        return gemm.multiplyT(a, m, b, n, k);
      },
      async argmaxT(a, m, b, n, k) {
        await firstProduct();
        return gemm.argmaxT(a, m, b, n, k);
      },
    };
    const { index, stats } = await buildIndex('/virtual', files, encoder, undefined, { docEncoder: fake, matmul, batchPassages: 16 });
    const total = stats.sequenceTokens;
    assert.equal(encodedTokens, total, 'every unit encoded once');
    assert.ok(total > 4 * 4096, `a workspace big enough for the quarter to apply (${total} tokens)`);
    // A quarter of the size estimate made before the files are read (tokens per byte), which runs
    // a little high here; the whole workspace was sampled before.
    assert.ok(tokensAtTraining > 0 && tokensAtTraining <= total / 3, `sample ${tokensAtTraining} of ${total} tokens`);
    assert.ok(encodedDuringTraining, 'batches went to the encoder while the codec trained');
    assert.deepEqual(index.files.map((f) => f.path), files.map((f) => f.path), 'committed in file order');
    assert.equal(index.store.count, index.units.reduce((n, u) => n + u.tokenCount, 0));
  });

  it('reads files ahead of the loop (a few at a time, within a byte budget), each once, with the same index as texts at hand', async () => {
    const texts = listing(40, 3);
    const dim = encoder.dim;
    const fake = {
      async encodeDocs(docs: readonly DocInput[]): Promise<DocEncoding[]> {
        return docs.map((d) => {
          const count = d.bodyIds.length;
          const vectors = new Float32Array(count * dim);
          for (let r = 0; r < count; r++) vectors[r * dim + (d.bodyIds[r] % dim)] = 1;
          return { vectors, count, starts: d.bodyStarts.slice(), ends: d.bodyEnds.slice() };
        });
      },
    };
    const BIG = 25; // a file whose stat size alone exceeds the read-ahead budget
    const reads = new Map<string, number>();
    let inFlight = 0;
    let most = 0;
    let inFlightWhenBigStarted = -1;
    const files: SourceFile[] = texts.map((f, i) => ({
      path: f.path, size: i === BIG ? 64 << 20 : f.size, mtimeMs: 1,
      read: async () => {
        reads.set(f.path, (reads.get(f.path) ?? 0) + 1);
        if (i === BIG) inFlightWhenBigStarted = inFlight;
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
        return { text: f.text! };
      },
    }));
    const o = { docEncoder: fake, matmul: gemm, batchPassages: 16, trainSampleTokens: 128 }; // (a sample of a few files: the rest are read in order)
    const read = await buildIndex('/virtual', files, encoder, undefined, o);
    const atHand = await buildIndex('/virtual', texts, encoder, undefined, o);
    assert.deepEqual([...reads.values()], files.map(() => 1), 'every file read once');
    assert.ok(most > 1 && most <= 8, `${most} reads at once`);
    assert.equal(inFlightWhenBigStarted, 0, 'the file over the budget is read when the loop reaches it, alone');
    assert.deepEqual(read.index.units.map((u) => [u.path, u.start, u.end, u.tokenFirst, u.tokenCount]), atHand.index.units.map((u) => [u.path, u.start, u.end, u.tokenFirst, u.tokenCount]));
  });
});
