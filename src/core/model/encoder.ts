// The late-interaction encoder: tokenizer + ONNX session, ColBERT input conventions.
//
// Queries:  [CLS] [Q] q_1 … q_n [MASK] … [MASK]   (padded with [MASK] to queryMaxLen; every
//           position, masks included, yields a vector that takes part in MaxSim)
// Passages: [CLS] [D] context… [SEP] body…        (context = heading path / symbol, may be empty;
//           punctuation vectors are dropped; only body tokens carry file offsets)
import fs from 'node:fs';
import path from 'node:path';
import type { InferenceSession as OrtSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { TextTokenizer } from './tokenizer';
import { loadManifest, ModelError, type ModelManifest } from './manifest';

export interface QueryEncoding {
  /** queryMaxLen × dim, row-major, L2-normalised rows. */
  vectors: Float32Array;
  /** Number of query rows (queryMaxLen). */
  count: number;
  /** Rows [2, 2 + realCount) are the question's own tokens (the rest are markers and [MASK]). */
  realCount: number;
}

/** One passage (or one window of a long one) ready for the encoder. */
export interface DocInput {
  contextIds: Int32Array;
  bodyIds: Int32Array;
  /** Span of each body token in the caller's coordinates (e.g. file offsets). */
  bodyStarts: Int32Array;
  bodyEnds: Int32Array;
}

/** For each kept token (see Encoder.keptSpans): the [start, end) span of its body token, or -1/-1 for marker/context tokens. */
export interface TokenSpans {
  starts: Int32Array;
  ends: Int32Array;
}

export interface DocEncoding extends TokenSpans {
  /** kept tokens × dim, L2-normalised rows. */
  vectors: Float32Array;
  count: number;
}

type Ort = typeof import('onnxruntime-node');

export interface EncoderOptions {
  /** Intra-op threads for onnxruntime (default 1: indexing must not hog the user's cores). */
  threads?: number;
  /** Max passages a batch. */
  batchSize?: number;
}

/**
 * A short fingerprint of the model in `modelDir` (its name, and the ONNX file's size and mtime):
 * what Encoder.load gives the encoder, known without loading the model.
 */
export function modelFingerprint(modelDir: string, manifest: ModelManifest = loadManifest(modelDir)): string {
  const stat = fs.statSync(path.join(modelDir, manifest.files.onnx));
  return `${manifest.name}-${stat.size}-${Math.round(stat.mtimeMs)}`;
}

export class Encoder {
  private constructor(
    readonly manifest: ModelManifest,
    readonly tokenizer: TextTokenizer,
    private readonly ort: Ort,
    private readonly session: OrtSession,
    private readonly punct: Uint8Array,
    private readonly ids: { cls: number; sep: number; q: number; d: number; mask: number; pad: number },
    private readonly batchSize: number,
    /** A short fingerprint of the model files: index caches are keyed by it. */
    readonly fingerprint: string,
    /** Where the model was loaded from (an encoding worker loads the same files). */
    readonly modelDir: string,
  ) {}

  static async load(modelDir: string, options: EncoderOptions = {}): Promise<Encoder> {
    const manifest = loadManifest(modelDir);
    const tokenizer = await TextTokenizer.load(path.join(modelDir, manifest.files.tokenizer));
    const tokenId = (t: string): number => {
      try {
        return tokenizer.tokenId(t);
      } catch {
        throw new ModelError(`${path.join(modelDir, 'model.json')}: marker token ${JSON.stringify(t)} is not in ${manifest.files.tokenizer}`);
      }
    };
    const ids = {
      cls: tokenId(manifest.markers.cls), sep: tokenId(manifest.markers.sep), q: tokenId(manifest.markers.query),
      d: tokenId(manifest.markers.doc), mask: tokenId(manifest.markers.mask), pad: tokenId(manifest.markers.pad),
    };
    const ort: Ort = require('onnxruntime-node');
    const onnxPath = path.join(modelDir, manifest.files.onnx);
    let session: OrtSession;
    try {
      session = await ort.InferenceSession.create(onnxPath, {
        intraOpNumThreads: options.threads ?? 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        executionMode: 'sequential',
      });
    } catch (e) {
      throw new ModelError(`cannot load ONNX model ${onnxPath}: ${(e as Error).message.split('\n')[0]}`);
    }
    for (const name of [manifest.onnx.inputIds, manifest.onnx.attentionMask]) {
      if (!session.inputNames.includes(name)) throw new ModelError(`${onnxPath}: the graph has no input "${name}" (inputs: ${session.inputNames.join(', ')})`);
    }
    if (!session.outputNames.includes(manifest.onnx.output)) throw new ModelError(`${onnxPath}: the graph has no output "${manifest.onnx.output}"`);
    const punct = new Uint8Array(tokenizer.vocabSize);
    if (manifest.punctuation === 'drop') {
      for (const [token, id] of tokenizer.vocabEntries()) {
        const t = token.startsWith('##') ? token.slice(2) : token;
        if (!/^\[.*\]$/.test(token) && t.length > 0 && /^[\p{P}\u0021-\u002F\u003A-\u0040\u005B-\u0060\u007B-\u007E]+$/u.test(t)) punct[id] = 1;
      }
    }
    const fingerprint = modelFingerprint(modelDir, manifest);
    return new Encoder(manifest, tokenizer, ort, session, punct, ids, options.batchSize ?? 32, fingerprint, path.resolve(modelDir));
  }

  get dim(): number {
    return this.manifest.dim;
  }

  /** Body tokens that fit in one passage window next to `contextLength` context tokens. */
  bodyCapacity(contextLength: number): number {
    const ctx = Math.min(contextLength, this.manifest.contextMaxTokens);
    return this.manifest.docMaxLen - 2 - (ctx > 0 ? ctx + 1 : 0);
  }

  /** Context ids, truncated as the encoder will use them. */
  contextIds(context: string): Int32Array {
    if (!context) return new Int32Array(0);
    return this.tokenizer.tokenize(context).ids.slice(0, this.manifest.contextMaxTokens);
  }

  /** Tokens the encoder runs for one passage (markers, context, body): the unit of indexing work. */
  sequenceLength(d: DocInput): number {
    const ctx = Math.min(d.contextIds.length, this.manifest.contextMaxTokens);
    const head = 2 + (ctx > 0 ? ctx + 1 : 0);
    return Math.min(head + d.bodyIds.length, Math.max(head, this.manifest.docMaxLen));
  }

  isPunctuation(id: number): boolean {
    return this.punct[id] === 1;
  }

  /**
   * The spans of the tokens of a passage that get a vector, in vector order: what encodeDocs
   * returns with the vectors, without running the model. The index stores the encodings' spans;
   * where a unit has none, evidence recovers them from its text (unit-spans.ts), with this where
   * it must tokenise the whole text again, so all must come from here.
   */
  keptSpans(d: DocInput): TokenSpans {
    const { starts, ends } = this.kept(this.docSequence(d));
    return { starts, ends };
  }

  /**
   * For each token of a passage that gets a vector, in vector order: its token id (the centroid
   * shortlists' key, centroid-shortlist.ts), and its word-start flag — 1 when it starts a word
   * of the body: it belongs to another BERT pre-tokenizer word than the kept token before it (a
   * word's first piece, or its first kept one) — else 0 (a later piece of the word, and the
   * marker and context tokens). The index stores the flags (WORD_START_BIT) so that evidence can
   * give each vector its word's span from the words of the text, without WordPiece, where a unit
   * has no stored spans.
   */
  keptTokens(d: DocInput): { ids: Int32Array; wordStarts: Uint8Array } {
    const { ids: seq, head } = this.docSequence(d);
    const ids = seq.filter((id) => !this.punct[id]);
    const wordStarts = new Uint8Array(ids.length);
    let k = 0;
    for (let t = 0; t < head; t++) if (!this.punct[seq[t]]) k++; // marker and context tokens: 0
    // Body words numbered in token order: a word begins at each token that is no `##` piece (a
    // body that began inside a word would begin at word −1: its first kept token is flagged too).
    let word = -1;
    let flagged = -2;
    for (let t = head; t < seq.length; t++) {
      if (!this.tokenizer.continuesWord(seq[t])) word++;
      if (this.punct[seq[t]]) continue;
      if (word !== flagged) {
        wordStarts[k] = 1;
        flagged = word;
      }
      k++;
    }
    return { ids, wordStarts };
  }

  async encodeQuery(query: string): Promise<QueryEncoding> {
    const L = this.manifest.queryMaxLen;
    const real = this.tokenizer.tokenize(query).ids.slice(0, L - 2);
    const ids = new BigInt64Array(L).fill(BigInt(this.ids.mask));
    ids[0] = BigInt(this.ids.cls);
    ids[1] = BigInt(this.ids.q);
    for (let i = 0; i < real.length; i++) ids[2 + i] = BigInt(real[i]);
    const mask = new BigInt64Array(L).fill(1n);
    const out = await this.run(ids, mask, 1, L);
    return { vectors: out, count: L, realCount: real.length };
  }

  /**
   * Encodes passages in length-sorted batches; results are in input order. `slab`, when given,
   * makes one array for all the results' vectors (given their total length in floats): each
   * result's vectors are then a view of it, in input order (the encoding worker hands such arrays
   * back and forth, see encode-worker.ts).
   */
  async encodeDocs(docs: readonly DocInput[], slab?: (floats: number) => Float32Array): Promise<DocEncoding[]> {
    const results: DocEncoding[] = new Array(docs.length);
    const seqs = docs.map((d) => this.docSequence(d));
    // Each passage's kept tokens, known before the model runs: the slab's size and offsets.
    const kept = seqs.map((s) => this.kept(s));
    const D = this.dim;
    let slabAt: number[] | undefined;
    let slabArray: Float32Array | undefined;
    if (slab) {
      slabAt = [];
      let floats = 0;
      for (const k of kept) {
        slabAt.push(floats);
        floats += k.positions.length * D;
      }
      slabArray = slab(floats);
      if (slabArray.length < floats) throw new RangeError(`encodeDocs: a slab of ${slabArray.length} floats for ${floats}`);
    }
    const order = seqs.map((s, i) => i).sort((a, b) => seqs[a].ids.length - seqs[b].ids.length || a - b);
    for (let b = 0; b < order.length; b += this.batchSize) {
      const batch = order.slice(b, b + this.batchSize);
      const L = Math.max(...batch.map((i) => seqs[i].ids.length));
      const ids = new BigInt64Array(batch.length * L).fill(BigInt(this.ids.pad));
      const mask = new BigInt64Array(batch.length * L);
      batch.forEach((di, r) => {
        const s = seqs[di].ids;
        for (let t = 0; t < s.length; t++) {
          ids[r * L + t] = BigInt(s[t]);
          mask[r * L + t] = 1n;
        }
      });
      const out = await this.run(ids, mask, batch.length, L);
      batch.forEach((di, r) => {
        const { positions, starts, ends } = kept[di];
        const vectors = slabArray ? slabArray.subarray(slabAt![di], slabAt![di] + positions.length * D) : new Float32Array(positions.length * D);
        positions.forEach((t, k) => vectors.set(out.subarray((r * L + t) * D, (r * L + t + 1) * D), k * D));
        results[di] = { vectors, count: positions.length, starts, ends };
      });
    }
    return results;
  }

  /** The tokens of a sequence that keep a vector (punctuation is dropped): positions and spans. */
  private kept(seq: { ids: Int32Array; starts: Int32Array; ends: Int32Array }): TokenSpans & { positions: Int32Array } {
    let n = 0;
    for (let t = 0; t < seq.ids.length; t++) if (!this.punct[seq.ids[t]]) n++;
    const positions = new Int32Array(n);
    const starts = new Int32Array(n);
    const ends = new Int32Array(n);
    for (let t = 0, k = 0; t < seq.ids.length; t++) {
      if (this.punct[seq.ids[t]]) continue;
      positions[k] = t;
      starts[k] = seq.starts[t];
      ends[k++] = seq.ends[t];
    }
    return { positions, starts, ends };
  }

  /** The encoder's input for a passage; its first `head` tokens are the markers and the context. */
  private docSequence(d: DocInput): { ids: Int32Array; starts: Int32Array; ends: Int32Array; head: number } {
    const ctx = d.contextIds.subarray(0, this.manifest.contextMaxTokens);
    const head = 2 + (ctx.length > 0 ? ctx.length + 1 : 0);
    const n = Math.min(d.bodyIds.length, this.manifest.docMaxLen - head);
    const ids = new Int32Array(head + n);
    const starts = new Int32Array(head + n).fill(-1);
    const ends = new Int32Array(head + n).fill(-1);
    ids[0] = this.ids.cls;
    ids[1] = this.ids.d;
    if (ctx.length > 0) {
      ids.set(ctx, 2);
      ids[2 + ctx.length] = this.ids.sep;
    }
    ids.set(d.bodyIds.subarray(0, n), head);
    starts.set(d.bodyStarts.subarray(0, n), head);
    ends.set(d.bodyEnds.subarray(0, n), head);
    return { ids, starts, ends, head };
  }

  private async run(ids: BigInt64Array, mask: BigInt64Array, rows: number, L: number): Promise<Float32Array> {
    const { Tensor } = this.ort;
    const feeds: Record<string, OrtTensor> = {
      [this.manifest.onnx.inputIds]: new Tensor('int64', ids, [rows, L]),
      [this.manifest.onnx.attentionMask]: new Tensor('int64', mask, [rows, L]),
    };
    const result = await this.session.run(feeds);
    const out = result[this.manifest.onnx.output];
    if (!out || out.dims.length !== 3 || out.dims[2] !== this.dim) {
      throw new ModelError(`model output "${this.manifest.onnx.output}" has shape [${out?.dims.join(', ')}], expected [${rows}, ${L}, ${this.dim}]`);
    }
    return out.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
