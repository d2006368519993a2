// Evidence Search from a terminal: the same core as the extension.
//
//   evidence-search index  --root DIR [--model DIR] [--index DIR]
//   evidence-search search --root DIR [--model DIR] [--index DIR] [--top N] [--json] [--mode M] "question"
//   evidence-search search --root DIR --queries FILE.jsonl [--top N] --json
//   evidence-search highlight --pairs FILE.jsonl [--model DIR] --json
//   evidence-search bench --set DIR [--model DIR] [--top N] [--agreement]
//   evidence-search watch  --root DIR [--model DIR] [--index DIR]   (re-indexes on changes until Ctrl+C)
//
// Exit codes: 0 success, 2 usage error (one line on stderr), 1 anything else (a clear message).
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { WorkspaceSearch, defaultModelDir, type SearchResult } from './core/engine';
import { Encoder } from './core/model/encoder';
import { BackgroundEncoder, type DocEncoder } from './core/model/worker-encoder';
import { highlightText } from './core/search/highlight-text';
import type { RankingMode } from './core/search/searcher';
import { runBench } from './core/bench/run-bench';
import { watchWorkspace } from './core/workspace/watcher';
import { lineNumberAt } from './core/text-lines';
import type { IndexProgress } from './core/index/indexer';
import { formatProgress } from './core/index/progress-text';

class UsageError extends Error {}

interface Args {
  command: string;
  flags: Map<string, string | true>;
  positional: string[];
}

const COMMANDS: Record<string, { value: string[]; bool: string[] }> = {
  index: { value: ['root', 'model', 'index', 'max-file-size'], bool: ['json'] },
  search: { value: ['root', 'model', 'index', 'top', 'queries', 'mode', 'threshold', 'max-file-size'], bool: ['json', 'no-cache'] },
  highlight: { value: ['pairs', 'model', 'threshold'], bool: ['json'] },
  bench: { value: ['set', 'model', 'top', 'index', 'out'], bool: ['json', 'agreement'] },
  watch: { value: ['root', 'model', 'index', 'max-file-size'], bool: [] },
};

const USAGE = `usage: evidence-search <index|search|highlight|bench|watch> [options]
  index     --root DIR [--model DIR] [--index DIR]
  search    --root DIR [--model DIR] [--index DIR] [--top N] [--json] [--mode hybrid|dense|lexical] "question"
  search    --root DIR --queries FILE.jsonl [--top N] --json
  highlight --pairs FILE.jsonl [--model DIR] --json
  bench     --set DIR [--model DIR] [--top N] [--agreement]
  watch     --root DIR [--model DIR] [--index DIR]`;

export function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') throw new UsageError(USAGE);
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command "${command}" (expected index, search, highlight, bench or watch)`);
  const flags = new Map<string, string | true>();
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--') {
      positional.push(...rest.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (spec.bool.includes(name)) {
        if (eq > 0) throw new UsageError(`--${name} takes no value`);
        flags.set(name, true);
      } else if (spec.value.includes(name)) {
        const v = eq > 0 ? a.slice(eq + 1) : rest[++i];
        if (v === undefined || v === '' || (eq < 0 && v.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
        flags.set(name, v);
      } else {
        throw new UsageError(`unknown option --${name} for "${command}"`);
      }
    } else {
      positional.push(a);
    }
  }
  return { command, flags, positional };
}

function str(args: Args, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

function need(args: Args, name: string): string {
  const v = str(args, name);
  if (v === undefined) throw new UsageError(`${args.command} needs --${name}`);
  return v;
}

function int(args: Args, name: string, dflt: number, min = 1): number {
  const v = str(args, name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

function num(args: Args, name: string): number | undefined {
  const v = str(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`--${name} must be a number in [0, 1], got "${v}"`);
  return n;
}

function mode(args: Args): RankingMode | undefined {
  const m = str(args, 'mode');
  if (m === undefined) return undefined;
  if (m !== 'hybrid' && m !== 'dense' && m !== 'lexical') throw new UsageError(`--mode must be hybrid, dense or lexical, got "${m}"`);
  return m;
}

function existingDir(p: string, what: string): string {
  const abs = path.resolve(p);
  if (!fs.existsSync(abs)) throw new Error(`${what} not found: ${abs}`);
  if (!fs.statSync(abs).isDirectory()) throw new Error(`${what} is not a folder: ${abs}`);
  return abs;
}

async function* jsonLines(file: string): AsyncGenerator<{ line: number; value: Record<string, unknown> }> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new Error(`file not found: ${abs}`);
  const rl = readline.createInterface({ input: fs.createReadStream(abs, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (let line of rl) {
    n++;
    if (n === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1); // a UTF-8 BOM
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw new Error(`${abs}:${n}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${abs}:${n}: expected a JSON object`);
    yield { line: n, value: value as Record<string, unknown> };
  }
}

function field(v: Record<string, unknown>, key: string, file: string, line: number): string {
  const x = v[key];
  if (typeof x === 'string') return x;
  if (typeof x === 'number' && key === 'id') return String(x);
  throw new Error(`${path.resolve(file)}:${line}: "${key}" must be a string`);
}

/** Log lines on stderr; a progress line being redrawn there (TTY) is ended first. */
let progressLineOpen = false;
const stderrProgress = (msg: string): void => {
  if (progressLineOpen) process.stderr.write('\n');
  progressLineOpen = false;
  process.stderr.write(msg + '\n');
};

/**
 * Indexing progress on stderr: on a terminal one line redrawn in place (at most 10 times a
 * second), otherwise a line every 5 s (logs, CI) and the final one.
 */
export function progressPrinter(out: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): (p: IndexProgress) => void {
  const tty = out.isTTY === true;
  let last = tty ? 0 : now();
  return (p) => {
    const final = p.fraction === 1;
    const t = now();
    if (!final && t - last < (tty ? 100 : 5000)) return;
    last = t;
    const line = `indexing: ${formatProgress(p)}`;
    if (tty) {
      out.write(`\r\x1b[2K${line}`);
      progressLineOpen = !final;
      if (final) out.write('\n');
    } else if (!final || p.tokensDone > 0) {
      out.write(line + '\n');
    }
  };
}

function toJson(r: SearchResult): Record<string, unknown> {
  return { path: r.path, start: r.start, end: r.end, score: Number(r.score.toFixed(6)), highlights: r.highlights, ...(r.stale ? { stale: true } : {}) };
}

function printHuman(query: string, results: SearchResult[], ws: WorkspaceSearch): void {
  const out = process.stdout;
  out.write(`${results.length} result${results.length === 1 ? '' : 's'} for "${query}"\n`);
  results.forEach((r, i) => {
    if (r.stale) {
      // Changed since indexed: its offsets may be wrong, so no line number and no highlights.
      out.write(`\n${i + 1}. ${r.path}  (score ${r.score.toFixed(4)}; changed since indexed, run again to refresh)${r.context ? `  ${r.context}` : ''}\n`);
      return;
    }
    const text = ws.fileText(r.path);
    const line = lineNumberAt(text, r.start);
    out.write(`\n${i + 1}. ${r.path}:${line}  (score ${r.score.toFixed(4)})${r.context ? `  ${r.context}` : ''}\n`);
    out.write(renderSnippet(text, r.start, r.end, r.highlights) + '\n');
  });
}

/** The passage with evidence words marked [[like this]] (bold on a terminal). */
export function renderSnippet(text: string, start: number, end: number, highlights: Array<[number, number]>, maxChars = 600): string {
  const tty = process.stdout.isTTY;
  const open = tty ? '\x1b[1;33m' : '[[';
  const close = tty ? '\x1b[0m' : ']]';
  let s = '';
  let at = start;
  for (const [a, b] of highlights) {
    s += text.slice(at, a) + open + text.slice(a, b) + close;
    at = b;
  }
  s += text.slice(at, end);
  const lines = s.split('\n').map((l) => '   ' + l);
  let joined = lines.join('\n');
  if (joined.length > maxChars * 2) joined = joined.slice(0, maxChars * 2) + ' …';
  return joined;
}

async function openWorkspace(args: Args, encoder?: Encoder, docEncoder?: DocEncoder): Promise<WorkspaceSearch> {
  const root = existingDir(need(args, 'root'), 'workspace folder');
  const maxFileBytes = str(args, 'max-file-size') !== undefined ? int(args, 'max-file-size', 1_000_000) : undefined;
  const ws = await WorkspaceSearch.open(root, {
    encoder,
    docEncoder,
    modelDir: str(args, 'model') ?? defaultModelDir(),
    indexDir: str(args, 'index'),
    persist: !args.flags.has('no-cache'),
    scan: maxFileBytes !== undefined ? { maxFileBytes } : undefined,
    log: stderrProgress,
    onProgress: progressPrinter(),
  });
  return ws;
}

async function cmdIndex(args: Args): Promise<void> {
  if (args.positional.length > 0) throw new UsageError(`index takes no positional arguments`);
  const ws = await openWorkspace(args);
  const r = ws.report;
  if (args.flags.has('json')) process.stdout.write(JSON.stringify(r) + '\n');
  await ws.dispose();
}

async function cmdSearch(args: Args): Promise<void> {
  const queries = str(args, 'queries');
  if (queries && args.positional.length > 0) throw new UsageError('give either a question or --queries FILE, not both');
  if (!queries && args.positional.length !== 1) throw new UsageError('search needs exactly one question (quote it)');
  const top = int(args, 'top', 10);
  const json = args.flags.has('json');
  const opts = { top, mode: mode(args), threshold: num(args, 'threshold') };
  if (queries && !fs.existsSync(path.resolve(queries))) throw new Error(`file not found: ${path.resolve(queries)}`);
  const ws = await openWorkspace(args);
  try {
    if (queries) {
      for await (const { line, value } of jsonLines(queries)) {
        const id = field(value, 'id', queries, line);
        const q = field(value, 'query', queries, line);
        const results = await ws.search(q, opts);
        process.stdout.write(JSON.stringify({ id, results: results.map(toJson) }) + '\n');
      }
    } else {
      const q = args.positional[0];
      const results = await ws.search(q, opts);
      if (json) process.stdout.write(JSON.stringify({ query: q, results: results.map(toJson) }) + '\n');
      else printHuman(q, results, ws);
    }
  } finally {
    await ws.dispose();
  }
}

async function cmdHighlight(args: Args): Promise<void> {
  if (args.positional.length > 0) throw new UsageError('highlight takes no positional arguments');
  const pairs = need(args, 'pairs');
  const threshold = num(args, 'threshold');
  const encoder = await Encoder.load(path.resolve(str(args, 'model') ?? defaultModelDir()));
  try {
    for await (const { line, value } of jsonLines(pairs)) {
      const id = field(value, 'id', pairs, line);
      const q = field(value, 'query', pairs, line);
      const passage = field(value, 'passage', pairs, line);
      const highlights = await highlightText(encoder, q, passage, threshold);
      process.stdout.write(JSON.stringify({ id, highlights }) + '\n');
    }
  } finally {
    await encoder.dispose();
  }
}

async function cmdBench(args: Args): Promise<void> {
  if (args.positional.length > 0) throw new UsageError('bench takes no positional arguments');
  const set = existingDir(need(args, 'set'), 'bench set');
  await runBench({
    setDir: set,
    modelDir: path.resolve(str(args, 'model') ?? defaultModelDir()),
    top: int(args, 'top', 10),
    indexDir: str(args, 'index'),
    json: args.flags.has('json'),
    out: str(args, 'out'),
    agreement: args.flags.has('agreement'),
    log: stderrProgress,
  });
}

/** Indexes, then re-indexes incrementally after each debounced batch of changes, until SIGINT/SIGTERM. */
async function cmdWatch(args: Args): Promise<void> {
  if (args.positional.length > 0) throw new UsageError('watch takes no positional arguments');
  const root = existingDir(need(args, 'root'), 'workspace folder');
  const encoder = await Encoder.load(path.resolve(str(args, 'model') ?? defaultModelDir()));
  // One worker for the whole session (stopped while idle), one index kept in memory: a change
  // costs reading and encoding the changed files only.
  const docEncoder = new BackgroundEncoder(encoder, { log: stderrProgress });
  const ws = await openWorkspace(args, encoder, docEncoder);
  let running: Promise<void> = Promise.resolve();
  const watcher = watchWorkspace(root, {
    onChange: (paths) => {
      running = running.then(async () => {
        stderrProgress(`changed: ${paths.slice(0, 5).join(', ')}${paths.length > 5 ? ` and ${paths.length - 5} more` : ''}`);
        await ws.refresh({ onProgress: progressPrinter() });
      }).catch((e) => stderrProgress(`re-index failed: ${(e as Error).message}`));
    },
    onError: (e) => stderrProgress(`watch error: ${e.message}`),
  });
  await watcher.ready;
  stderrProgress(`watching ${root} (Ctrl+C to stop)`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await watcher.close();
  await running;
  await ws.dispose();
  await docEncoder.dispose();
  await encoder.dispose();
}

export async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`evidence-search: ${(e as Error).message}\n`);
    return 2;
  }
  try {
    switch (args.command) {
      case 'index': await cmdIndex(args); break;
      case 'search': await cmdSearch(args); break;
      case 'highlight': await cmdHighlight(args); break;
      case 'bench': await cmdBench(args); break;
      case 'watch': await cmdWatch(args); break;
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`evidence-search: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`evidence-search: error: ${(e as Error).message}\n`);
    if (process.env.EVIDENCE_SEARCH_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
