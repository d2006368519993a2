import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadManifest, ModelError, MODEL_FORMAT, MODEL_FORMAT_VERSION } from '../../src/core/model/manifest';
import { Encoder } from '../../src/core/model/encoder';
import { tempDirFactory } from '../temp-dirs';

const SHIPPED = path.resolve(__dirname, '../../models/es-colbert-small');
const shippedJson = (): Record<string, any> => JSON.parse(fs.readFileSync(path.join(SHIPPED, 'model.json'), 'utf8'));


const tmpDir = tempDirFactory('es-manifest-');

interface ModelDirOptions {
  /** Edits the shipped model.json; return a string to write it verbatim. */
  edit?: (m: Record<string, any>) => void | string;
  /** 'link': symlink to the shipped file; a Buffer: these bytes; false: absent. */
  onnx?: 'link' | Buffer | false;
  tokenizer?: 'link' | Buffer | false;
}

function modelDir(o: ModelDirOptions = {}): string {
  const dir = tmpDir();
  const m = shippedJson();
  const r = o.edit?.(m);
  fs.writeFileSync(path.join(dir, 'model.json'), typeof r === 'string' ? r : JSON.stringify(m, null, 1));
  const place = (name: string, what: 'link' | Buffer | false | undefined, dflt: 'link' | Buffer): void => {
    const w = what === undefined ? dflt : what;
    if (w === false) return;
    if (w === 'link') fs.symlinkSync(path.join(SHIPPED, name), path.join(dir, name));
    else fs.writeFileSync(path.join(dir, name), w);
  };
  place('model.onnx', o.onnx, Buffer.from('not an onnx file'));
  place('tokenizer.json', o.tokenizer, 'link');
  return dir;
}

/** Asserts loadManifest throws a ModelError whose message names `file` and matches `what`. */
function assertManifestError(dir: string, what: RegExp, file = path.join(dir, 'model.json')): void {
  assert.throws(
    () => loadManifest(dir),
    (e: unknown) => {
      assert.ok(e instanceof ModelError, `a ModelError, got ${(e as Error)?.constructor?.name}`);
      const msg = (e as Error).message;
      assert.ok(msg.includes(file), `message names ${file}: ${msg}`);
      assert.match(msg, what);
      assert.ok(!msg.includes('\n'), 'one line');
      return true;
    },
  );
}

describe('loadManifest', () => {
  it('loads the shipped model folder', () => {
    const m = loadManifest(SHIPPED);
    assert.equal(m.format, MODEL_FORMAT);
    assert.equal(m.formatVersion, MODEL_FORMAT_VERSION);
    assert.ok(m.dim >= 1 && m.queryMaxLen >= 4 && m.docMaxLen > m.contextMaxTokens + 4);
    assert.ok(m.evidence.threshold >= 0 && m.evidence.threshold <= 1);
    assert.ok(m.evidence.queryTokens === 'real' || m.evidence.queryTokens === 'all');
  });

  it('a missing folder: names the folder', () => {
    const dir = path.join(tmpDir(), 'no-such-model');
    assertManifestError(dir, /model folder not found/, dir);
  });

  it('a folder without model.json: names the file and what a model folder holds', () => {
    const dir = tmpDir();
    assertManifestError(dir, /model manifest not found: .*model\.json.*model\.onnx.*tokenizer\.json/);
  });

  it('invalid JSON', () => {
    assertManifestError(modelDir({ edit: () => '{"format": "evidence-search-model",' }), /not valid JSON/);
    assertManifestError(modelDir({ edit: () => '' }), /not valid JSON/);
  });

  it('JSON that is not an object', () => {
    for (const body of ['null', '[]', '"model"', '42']) assertManifestError(modelDir({ edit: () => body }), /must be a JSON object/);
  });

  it('a wrong format name or version', () => {
    assertManifestError(modelDir({ edit: (m) => void (m.format = 'onnx-model') }), /"format" must be "evidence-search-model", got "onnx-model"/);
    assertManifestError(modelDir({ edit: (m) => void delete m.format }), /"format" must be/);
    assertManifestError(modelDir({ edit: (m) => void (m.formatVersion = 2) }), /format version 2 is not supported.*version 1/);
    assertManifestError(modelDir({ edit: (m) => void (m.formatVersion = '1') }), /"formatVersion" must be a number/);
    assertManifestError(modelDir({ edit: (m) => void delete m.formatVersion }), /"formatVersion"/);
  });

  it('missing or mistyped fields are named', () => {
    const cases: Array<[string, (m: Record<string, any>) => void, RegExp]> = [
      ['name', (m) => delete m.name, /"name" must be a non-empty string/],
      ['empty name', (m) => (m.name = ''), /"name" must be a non-empty string/],
      ['dim', (m) => delete m.dim, /"dim" must be a number >= 1, got undefined/],
      ['dim 0', (m) => (m.dim = 0), /"dim" must be a number >= 1, got 0/],
      ['dim NaN-ish', (m) => (m.dim = 'big'), /"dim" must be a number/],
      ['queryMaxLen', (m) => delete m.queryMaxLen, /"queryMaxLen"/],
      ['docMaxLen', (m) => (m.docMaxLen = null), /"docMaxLen"/],
      ['files', (m) => delete m.files, /"files" must be an object/],
      ['files as array', (m) => (m.files = ['model.onnx']), /"files" must be an object/],
      ['files.onnx', (m) => delete m.files.onnx, /"onnx" must be a non-empty string/],
      ['files.tokenizer', (m) => (m.files.tokenizer = 3), /"tokenizer" must be a non-empty string, got 3/],
      ['markers', (m) => delete m.markers, /"markers" must be an object/],
      ['markers.cls', (m) => delete m.markers.cls, /"cls" must be a non-empty string/],
      ['markers.pad', (m) => (m.markers.pad = ''), /"pad" must be a non-empty string/],
      ['onnx', (m) => delete m.onnx, /"onnx" must be an object/],
      ['onnx.output', (m) => delete m.onnx.output, /"output" must be a non-empty string/],
      ['evidence', (m) => delete m.evidence, /"evidence" must be an object/],
      ['evidence.scale', (m) => delete m.evidence.scale, /"scale" must be a number/],
      ['evidence.bias', (m) => (m.evidence.bias = 'x'), /"bias" must be a number/],
      ['evidence.threshold < 0', (m) => (m.evidence.threshold = -0.1), /"threshold" must be a number >= 0/],
      ['evidence.threshold > 1', (m) => (m.evidence.threshold = 1.5), /"evidence\.threshold" must be within \[0, 1\]/],
      ['evidence.queryTokens', (m) => (m.evidence.queryTokens = 'some'), /"evidence\.queryTokens" must be "real" or "all"/],
      ['evidence.granularity', (m) => (m.evidence.granularity = 'paragraph'), /"evidence\.granularity" must be "token" or "sentence"/],
      ['punctuation', (m) => (m.punctuation = 'strip'), /"punctuation" must be "drop" or "keep"/],
      ['contextMaxTokens too large', (m) => (m.contextMaxTokens = m.docMaxLen), /"contextMaxTokens" leaves no room/],
      ['fusion.method', (m) => (m.fusion = { method: 'linear', k: 60, denseWeight: 1, lexicalWeight: 1 }), /"fusion\.method" must be "rrf"/],
      ['fusion.k', (m) => (m.fusion = { method: 'rrf', denseWeight: 1, lexicalWeight: 1 }), /"k" must be a number/],
    ];
    for (const [label, edit, re] of cases) {
      const dir = modelDir({ edit: (m) => void edit(m) });
      try {
        assertManifestError(dir, re);
      } catch (e) {
        throw new Error(`case ${label}: ${(e as Error).message}`);
      }
    }
  });

  it('optional fields take their defaults', () => {
    const dir = modelDir({
      edit: (m) => {
        delete m.punctuation;
        delete m.evidence.queryTokens;
        delete m.evidence.granularity;
        delete m.provenance;
        delete m.fusion;
      },
    });
    const m = loadManifest(dir);
    assert.equal(m.punctuation, 'drop');
    assert.equal(m.evidence.queryTokens, 'real');
    assert.equal(m.evidence.granularity, 'token');
    assert.deepEqual(m.provenance, {});
    assert.equal(m.fusion, undefined);
    const f = loadManifest(modelDir({ edit: (x) => void (x.fusion = { method: 'rrf', k: 10, denseWeight: 2, lexicalWeight: 0.5 }) }));
    assert.deepEqual(f.fusion, { method: 'rrf', k: 10, denseWeight: 2, lexicalWeight: 0.5 });
  });

  it('a missing ONNX or tokenizer file: names the missing path and the manifest key', () => {
    const noOnnx = modelDir({ onnx: false });
    assertManifestError(noOnnx, /model file missing: .*model\.onnx \(named by .*model\.json "files\.onnx"\)/, path.join(noOnnx, 'model.onnx'));
    const noTok = modelDir({ tokenizer: false });
    assertManifestError(noTok, /model file missing: .*tokenizer\.json .*"files\.tokenizer"/, path.join(noTok, 'tokenizer.json'));
    const renamed = modelDir({ edit: (m) => void (m.files.onnx = 'encoder-int8.onnx') });
    assertManifestError(renamed, /encoder-int8\.onnx/, path.join(renamed, 'encoder-int8.onnx'));
  });
});

describe('Encoder.load errors', () => {
  async function assertLoadError(dir: string, names: string, what: RegExp): Promise<void> {
    await assert.rejects(Encoder.load(dir), (e: unknown) => {
      const msg = (e as Error).message;
      assert.ok(msg.includes(names), `message names ${names}: ${msg}`);
      assert.match(msg, what);
      return true;
    });
  }

  it('a corrupt model.onnx (garbage bytes) names the file', async () => {
    const dir = modelDir({ onnx: Buffer.from('garbage\u0000\u00ff\u0001 not a protobuf at all '.repeat(50), 'latin1') });
    await assertLoadError(dir, path.join(dir, 'model.onnx'), /cannot load ONNX model/);
  });

  it('an empty model.onnx names the file', async () => {
    const dir = modelDir({ onnx: Buffer.alloc(0) });
    await assertLoadError(dir, path.join(dir, 'model.onnx'), /cannot load ONNX model/);
  });

  it('a truncated model.onnx names the file', async () => {
    const real = fs.readFileSync(path.join(SHIPPED, 'model.onnx'));
    const dir = modelDir({ onnx: real.subarray(0, Math.floor(real.length / 3)) });
    await assertLoadError(dir, path.join(dir, 'model.onnx'), /cannot load ONNX model/);
  });

  it('a corrupt tokenizer.json names the file', async () => {
    const dir = modelDir({ tokenizer: Buffer.from('{"model": ') });
    await assertLoadError(dir, path.join(dir, 'tokenizer.json'), /not valid JSON/);
    const dir2 = modelDir({ tokenizer: Buffer.from('{"model": {"type": "BPE"}}') });
    await assertLoadError(dir2, path.join(dir2, 'tokenizer.json'), /WordPiece/);
  });

  it('a marker token missing from the vocabulary names model.json and the token', async () => {
    const dir = modelDir({ edit: (m) => void (m.markers.query = '[NOT-A-TOKEN]'), onnx: 'link' });
    await assertLoadError(dir, path.join(dir, 'model.json'), /marker token "\[NOT-A-TOKEN\]" is not in tokenizer\.json/);
  });

  it('input/output names the graph lacks are named with the ONNX path', async () => {
    const dir = modelDir({ edit: (m) => void (m.onnx.inputIds = 'ids'), onnx: 'link' });
    await assertLoadError(dir, path.join(dir, 'model.onnx'), /the graph has no input "ids" \(inputs: /);
    const dir2 = modelDir({ edit: (m) => void (m.onnx.output = 'pooled'), onnx: 'link' });
    await assertLoadError(dir2, path.join(dir2, 'model.onnx'), /the graph has no output "pooled"/);
  });

  it('a manifest dim that disagrees with the graph fails clearly at the first encoding', async () => {
    const dir = modelDir({ edit: (m) => void (m.dim = m.dim * 2), onnx: 'link' });
    const enc = await Encoder.load(dir);
    try {
      await assert.rejects(enc.encodeQuery('hello world'), (e: unknown) => {
        assert.ok(e instanceof ModelError);
        assert.match((e as Error).message, /model output "embeddings" has shape \[.*\], expected \[1, \d+, \d+\]/);
        return true;
      });
    } finally {
      await enc.dispose();
    }
  });
});
