// Loaders for the bench formats (../shared/bench/README.md). Malformed input fails with an error
// that names the file and the 1-based line. No `vscode`.

import * as fs from 'fs';
import * as path from 'path';
import type { BenchQuery, HighlightPair } from './metrics';

export class BenchFormatError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'BenchFormatError';
  }
}

/** Parses JSON Lines: one value per non-blank line, each tagged with its line number. */
export function parseJsonLines(text: string, file: string): Array<{ line: number; value: unknown }> {
  const out: Array<{ line: number; value: unknown }> = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw new BenchFormatError(file, i + 1, `invalid JSON (${(e as Error).message})`);
    }
    out.push({ line: i + 1, value });
  }
  return out;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: Obj, key: string, fail: (m: string) => never): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') fail(`"${key}" must be a non-empty string`);
  return v as string;
}

function isSpan(v: unknown): v is [number, number] {
  return (
    Array.isArray(v) &&
    v.length === 2 &&
    Number.isInteger(v[0]) &&
    Number.isInteger(v[1]) &&
    (v[0] as number) >= 0 &&
    (v[0] as number) <= (v[1] as number)
  );
}

/** Both formats: one JSON object a line, with a unique string `id` and a string `query`. */
function parseRecords<T>(
  text: string,
  file: string,
  build: (o: Obj, id: string, query: string, fail: (m: string) => never) => T,
): T[] {
  const seen = new Set<string>();
  return parseJsonLines(text, file).map(({ line, value }) => {
    const fail = (m: string): never => {
      throw new BenchFormatError(file, line, m);
    };
    if (!isObj(value)) fail('expected a JSON object');
    const o = value as Obj;
    const id = str(o, 'id', fail);
    if (seen.has(id)) fail(`duplicate id "${id}"`);
    seen.add(id);
    return build(o, id, str(o, 'query', fail), fail);
  });
}

/** Validates the lines of a `queries.jsonl`. */
export function parseQueries(text: string, file: string): BenchQuery[] {
  return parseRecords(text, file, (o, id, query, fail) => {
    const kind = o.kind;
    if (kind !== 'markdown' && kind !== 'comment') fail(`"kind" must be "markdown" or "comment", got ${JSON.stringify(kind)}`);
    const style = o.style;
    if (style !== 'paraphrase' && style !== 'keyword') {
      fail(`"style" must be "paraphrase" or "keyword", got ${JSON.stringify(style)}`);
    }
    if (!Array.isArray(o.answers) || o.answers.length === 0) fail('"answers" must be a non-empty array');
    const answers = (o.answers as unknown[]).map((a, i) => {
      if (!isObj(a)) fail(`answers[${i}] must be an object`);
      const ao = a as Obj;
      if (typeof ao.path !== 'string' || ao.path === '') fail(`answers[${i}].path must be a non-empty string`);
      if (!Array.isArray(ao.evidence) || ao.evidence.length === 0) fail(`answers[${i}].evidence must be a non-empty array`);
      const evidence = ao.evidence as unknown[];
      evidence.forEach((e, j) => {
        if (typeof e !== 'string' || e === '') fail(`answers[${i}].evidence[${j}] must be a non-empty string`);
      });
      return { path: ao.path as string, evidence: evidence as string[] };
    });
    return { id, query, kind: kind as BenchQuery['kind'], style: style as BenchQuery['style'], answers };
  });
}

/** Validates the lines of an msmarco-human style file: `{id, query, passage, annotators}`. */
export function parseHighlightPairs(text: string, file: string): HighlightPair[] {
  return parseRecords(text, file, (o, id, query, fail) => {
    const passage = str(o, 'passage', fail);
    if (!Array.isArray(o.annotators) || o.annotators.length === 0) fail('"annotators" must be a non-empty array');
    const annotators = (o.annotators as unknown[]).map((spans, i) => {
      if (!Array.isArray(spans)) fail(`annotators[${i}] must be an array of [start, end] spans`);
      return (spans as unknown[]).map((s, j) => {
        if (!isSpan(s)) fail(`annotators[${i}][${j}] must be [start, end] with 0 <= start <= end`);
        const span = s as [number, number];
        if (span[1] > passage.length) {
          fail(`annotators[${i}][${j}] = [${span[0]}, ${span[1]}] is past the passage end (${passage.length})`);
        }
        return [span[0], span[1]] as [number, number];
      });
    });
    return { id, query, passage, annotators };
  });
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
}

export interface QuerySetFiles {
  /** The set's folder. */
  dir: string;
  /** `<dir>/corpus`: answer paths are relative to it. */
  corpusDir: string;
  queries: BenchQuery[];
}

/** Loads `<dir>/queries.jsonl`; the corpus is `<dir>/corpus`. */
export function loadQuerySet(dir: string): QuerySetFiles {
  const file = path.join(dir, 'queries.jsonl');
  return { dir, corpusDir: path.join(dir, 'corpus'), queries: parseQueries(readText(file), file) };
}

/** Loads an msmarco-human style file, or the single `*.jsonl` inside a folder. */
export function loadHighlightSet(fileOrDir: string): HighlightPair[] {
  let file = fileOrDir;
  if (fs.existsSync(fileOrDir) && fs.statSync(fileOrDir).isDirectory()) {
    const found = fs.readdirSync(fileOrDir).filter((f) => f.endsWith('.jsonl'));
    if (found.length !== 1) {
      throw new Error(`${fileOrDir}: expected exactly one .jsonl file, found ${found.length}`);
    }
    file = path.join(fileOrDir, found[0]);
  }
  return parseHighlightPairs(readText(file), file);
}

export type BenchSet =
  | ({ type: 'queries' } & QuerySetFiles)
  | { type: 'highlights'; dir: string; pairs: HighlightPair[] };

/** A bench folder: a query set when it has `queries.jsonl`, otherwise a highlight set. */
export function loadBenchSet(dir: string): BenchSet {
  if (fs.existsSync(path.join(dir, 'queries.jsonl'))) return { type: 'queries', ...loadQuerySet(dir) };
  return { type: 'highlights', dir, pairs: loadHighlightSet(dir) };
}

/** Reads a corpus file as UTF-8 text by its corpus-relative path (forward slashes). */
export function corpusReader(corpusDir: string): (relPath: string) => string {
  return (relPath) => readText(path.join(corpusDir, ...relPath.split('/')));
}
