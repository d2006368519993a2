// The model directory's manifest (`model.json`): everything the runtime must know to use an
// encoder exactly as it was trained. Validated strictly, because a model folder can come from a
// user setting: every problem is reported with the file's path and what is wrong.
import fs from 'node:fs';
import path from 'node:path';

export const MODEL_FORMAT = 'evidence-search-model';
export const MODEL_FORMAT_VERSION = 1;

export interface EvidenceCalibration {
  /** p_j = sigmoid(scale * max_i q_i·d_j + bias) */
  scale: number;
  bias: number;
  /** Tokens with p_j >= threshold are evidence. */
  threshold: number;
  /** Which query tokens take part in the max: 'real' (the question's own tokens) or 'all' (with [MASK] padding). */
  queryTokens: 'real' | 'all';
  /**
   * 'token': highlight the words of tokens with p_j >= threshold; 'sentence': highlight whole
   * sentences whose mean p_j >= threshold (the best one at least, when any token passes).
   */
  granularity: 'token' | 'sentence';
}

export interface ModelManifest {
  format: string;
  formatVersion: number;
  name: string;
  files: { onnx: string; tokenizer: string };
  dim: number;
  queryMaxLen: number;
  docMaxLen: number;
  contextMaxTokens: number;
  markers: { cls: string; sep: string; query: string; doc: string; mask: string; pad: string };
  /** 'drop': punctuation token vectors are not indexed (ColBERT's skiplist). */
  punctuation: 'drop' | 'keep';
  onnx: { inputIds: string; attentionMask: string; output: string };
  evidence: EvidenceCalibration;
  /** Optional lexical fusion weights chosen on the development set. */
  fusion?: { method: 'rrf'; k: number; denseWeight: number; lexicalWeight: number };
  provenance: Record<string, unknown>;
}

export class ModelError extends Error {}

function fail(file: string, what: string): never {
  throw new ModelError(`${file}: ${what}`);
}

function num(file: string, obj: Record<string, unknown>, key: string, min = -Infinity): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) fail(file, `"${key}" must be a number${min > -Infinity ? ` >= ${min}` : ''}, got ${JSON.stringify(v)}`);
  return v;
}

function str(file: string, obj: Record<string, unknown>, key: string): string {
  const v = obj[key];
  if (typeof v !== 'string' || v.length === 0) fail(file, `"${key}" must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function obj(file: string, parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = parent[key];
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(file, `"${key}" must be an object`);
  return v as Record<string, unknown>;
}

/** Reads and validates `<dir>/model.json`, and checks that the files it names exist. */
export function loadManifest(modelDir: string): ModelManifest {
  const file = path.join(modelDir, 'model.json');
  if (!fs.existsSync(modelDir)) throw new ModelError(`model folder not found: ${modelDir}`);
  if (!fs.existsSync(file)) throw new ModelError(`model manifest not found: ${file} (a model folder holds model.json, model.onnx and tokenizer.json)`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(file, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(file, 'must be a JSON object');
  const m = raw as Record<string, unknown>;
  if (m.format !== MODEL_FORMAT) fail(file, `"format" must be "${MODEL_FORMAT}", got ${JSON.stringify(m.format)}`);
  const version = num(file, m, 'formatVersion', 1);
  if (version !== MODEL_FORMAT_VERSION) fail(file, `format version ${version} is not supported (this build reads version ${MODEL_FORMAT_VERSION})`);
  const files = obj(file, m, 'files');
  const markers = obj(file, m, 'markers');
  const onnx = obj(file, m, 'onnx');
  const ev = obj(file, m, 'evidence');
  const queryTokens = ev.queryTokens ?? 'real';
  if (queryTokens !== 'real' && queryTokens !== 'all') fail(file, `"evidence.queryTokens" must be "real" or "all"`);
  const granularity = ev.granularity ?? 'token';
  if (granularity !== 'token' && granularity !== 'sentence') fail(file, `"evidence.granularity" must be "token" or "sentence"`);
  const punctuation = m.punctuation ?? 'drop';
  if (punctuation !== 'drop' && punctuation !== 'keep') fail(file, `"punctuation" must be "drop" or "keep"`);
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    formatVersion: version,
    name: str(file, m, 'name'),
    files: { onnx: str(file, files, 'onnx'), tokenizer: str(file, files, 'tokenizer') },
    dim: num(file, m, 'dim', 1),
    queryMaxLen: num(file, m, 'queryMaxLen', 4),
    docMaxLen: num(file, m, 'docMaxLen', 8),
    contextMaxTokens: num(file, m, 'contextMaxTokens', 0),
    markers: {
      cls: str(file, markers, 'cls'), sep: str(file, markers, 'sep'), query: str(file, markers, 'query'),
      doc: str(file, markers, 'doc'), mask: str(file, markers, 'mask'), pad: str(file, markers, 'pad'),
    },
    punctuation,
    onnx: { inputIds: str(file, onnx, 'inputIds'), attentionMask: str(file, onnx, 'attentionMask'), output: str(file, onnx, 'output') },
    evidence: {
      scale: num(file, ev, 'scale'), bias: num(file, ev, 'bias'),
      threshold: num(file, ev, 'threshold', 0), queryTokens, granularity,
    },
    provenance: (typeof m.provenance === 'object' && m.provenance !== null ? m.provenance : {}) as Record<string, unknown>,
  };
  if (manifest.evidence.threshold > 1) fail(file, '"evidence.threshold" must be within [0, 1]');
  if (manifest.contextMaxTokens + 4 >= manifest.docMaxLen) fail(file, '"contextMaxTokens" leaves no room for the passage in "docMaxLen"');
  if (m.fusion !== undefined) {
    const f = obj(file, m, 'fusion');
    if (f.method !== 'rrf') fail(file, '"fusion.method" must be "rrf"');
    manifest.fusion = { method: 'rrf', k: num(file, f, 'k', 0), denseWeight: num(file, f, 'denseWeight', 0), lexicalWeight: num(file, f, 'lexicalWeight', 0) };
  }
  for (const key of ['onnx', 'tokenizer'] as const) {
    const p = path.join(modelDir, manifest.files[key]);
    if (!fs.existsSync(p)) throw new ModelError(`model file missing: ${p} (named by ${file} "files.${key}")`);
  }
  return manifest;
}
