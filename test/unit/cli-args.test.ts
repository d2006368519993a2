import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { main, parseArgs } from '../../src/cli';
import { tempDirFactory } from '../temp-dirs';

const REPO = path.resolve(__dirname, '../..');
const MODEL = path.join(REPO, 'models', 'es-colbert-small');
const CORPUS = path.join(REPO, 'test', 'fixtures', 'bench', 'mini', 'corpus');

const tmpDir = tempDirFactory('es-cli-');
// Children never write into the user's real cache.
const CACHE = tmpDir();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// tsx by absolute URL, so a child may run in any working directory.
const TSX = pathToFileURL(require.resolve('tsx', { paths: [REPO] })).href;

/** Runs `node --import tsx src/cli.ts ...args` (in the repository root unless `cwd` is given). */
function cli(args: string[], cwd = REPO): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, path.join(REPO, 'src', 'cli.ts'), ...args],
      { cwd, env: { ...process.env, XDG_CACHE_HOME: CACHE, EVIDENCE_SEARCH_DEBUG: '' }, timeout: 60_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * Runs main() in this process, capturing what it writes. Only for errors raised before main
 * does any I/O (argument checks): its writes then all happen within microtasks of this call, so
 * nothing else (the test runner's own output) can be written while the streams are swapped.
 */
async function inProcess(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write;
  const err = process.stderr.write;
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += String(c)), true)) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(args);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return { code, stdout, stderr };
}

function oneLine(r: Run): string {
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `one line on stderr, got ${JSON.stringify(r.stderr)}`);
  return lines[0];
}

async function usageError(args: string[], re: RegExp, spawn = false): Promise<void> {
  const r = spawn ? await cli(args) : await inProcess(args);
  assert.equal(r.code, 2, `exit 2 for ${JSON.stringify(args)}: ${JSON.stringify(r)}`);
  assert.equal(r.stdout, '', 'nothing on stdout');
  const line = oneLine(r);
  assert.match(line, /^evidence-search: /);
  assert.match(line, re);
}

/** Spawns the CLI; expects exit 1 and the error as the last line of stderr (progress lines may precede it). */
async function runtimeError(args: string[], re: RegExp, cwd?: string, spawn = true): Promise<string> {
  const r = spawn ? await cli(args, cwd) : await inProcess(args);
  assert.equal(r.code, 1, `exit 1 for ${JSON.stringify(args)}: ${JSON.stringify(r)}`);
  assert.equal(r.stdout, '', 'nothing on stdout');
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  const line = lines[lines.length - 1] ?? '';
  assert.ok(lines.every((l) => !/^\s+at /.test(l)), `no stack trace: ${r.stderr}`);
  assert.match(line, /^evidence-search: error: /);
  assert.match(line, re);
  return line;
}

describe('parseArgs', () => {
  it('splits command, value options (--x v and --x=v), boolean flags and positionals', () => {
    const a = parseArgs(['search', '--root', 'dir', '--top=5', '--json', 'how do I stop', '--mode', 'dense']);
    assert.equal(a.command, 'search');
    assert.equal(a.flags.get('root'), 'dir');
    assert.equal(a.flags.get('top'), '5');
    assert.equal(a.flags.get('json'), true);
    assert.equal(a.flags.get('mode'), 'dense');
    assert.deepEqual(a.positional, ['how do I stop']);
  });

  it('"--" ends the options: what follows is positional, even if it looks like an option', () => {
    const a = parseArgs(['search', '--root', 'd', '--', '--json', '-x']);
    assert.deepEqual(a.positional, ['--json', '-x']);
    assert.equal(a.flags.has('json'), false);
  });

  it('a value may start with a single dash or contain "="', () => {
    const a = parseArgs(['search', '--top', '-5', '--root=a=b']);
    assert.equal(a.flags.get('top'), '-5');
    assert.equal(a.flags.get('root'), 'a=b');
  });

  it('a repeated option keeps the last value', () => {
    assert.equal(parseArgs(['search', '--top', '3', '--top', '4']).flags.get('top'), '4');
  });

  it('rejects unknown commands, unknown options, missing values and values on flags', () => {
    assert.throws(() => parseArgs([]), /^Error: usage: evidence-search/);
    assert.throws(() => parseArgs(['--help']), /usage: evidence-search/);
    assert.throws(() => parseArgs(['-h']), /usage: evidence-search/);
    assert.throws(() => parseArgs(['serch']), /unknown command "serch" \(expected index, search, highlight, bench or watch\)/);
    assert.throws(() => parseArgs(['search', '--colour']), /unknown option --colour for "search"/);
    assert.throws(() => parseArgs(['search', '--pairs', 'x']), /unknown option --pairs for "search"/);
    assert.throws(() => parseArgs(['highlight', '--root', 'x']), /unknown option --root for "highlight"/);
    assert.throws(() => parseArgs(['search', '--root']), /--root needs a value/);
    assert.throws(() => parseArgs(['search', '--root', '--json']), /--root needs a value/);
    assert.throws(() => parseArgs(['search', '--json=yes']), /--json takes no value/);
  });
});

describe('main: usage errors exit 2 with one line', () => {
  it('unknown command (spawned: the process exit code is 2)', () => usageError(['frobnicate'], /unknown command "frobnicate"/, true));
  it('unknown option', () => usageError(['search', '--root', CORPUS, '--colour', 'q'], /unknown option --colour/));
  it('missing value', () => usageError(['search', '--root', CORPUS, 'q', '--top'], /--top needs a value/));
  it('--top 0, 2.5, abc', async () => {
    await usageError(['search', '--root', CORPUS, '--top', '0', 'q'], /--top must be an integer >= 1, got "0"/);
    await usageError(['search', '--root', CORPUS, '--top', '2.5', 'q'], /--top must be an integer >= 1, got "2\.5"/);
    await usageError(['search', '--root', CORPUS, '--top=abc', 'q'], /--top must be an integer >= 1, got "abc"/);
  });
  it('--mode bad', () => usageError(['search', '--root', CORPUS, '--mode', 'fuzzy', 'q'], /--mode must be hybrid, dense or lexical, got "fuzzy"/));
  it('--threshold outside [0, 1]', () => usageError(['search', '--root', CORPUS, '--threshold', '1.5', 'q'], /--threshold must be a number in \[0, 1\]/));
  it('a question and --queries together', () =>
    usageError(['search', '--root', CORPUS, '--queries', 'q.jsonl', '--json', 'q'], /either a question or --queries FILE, not both/, true));
  it('no question, or two', async () => {
    await usageError(['search', '--root', CORPUS], /search needs exactly one question \(quote it\)/);
    await usageError(['search', '--root', CORPUS, 'how', 'now'], /search needs exactly one question/);
  });
  it('a required option is missing', async () => {
    await usageError(['search', 'q'], /search needs --root/);
    await usageError(['index'], /index needs --root/);
    await usageError(['highlight', '--json'], /highlight needs --pairs/);
    await usageError(['bench'], /bench needs --set/);
  });
  it('positional arguments where none are taken', async () => {
    await usageError(['index', '--root', CORPUS, 'extra'], /index takes no positional arguments/);
    await usageError(['highlight', '--pairs', 'p.jsonl', 'extra'], /highlight takes no positional arguments/);
  });
  it('usage errors are reported before anything is loaded (a bad root does not mask them)', () =>
    usageError(['search', '--root', '/no/such/folder', '--mode', 'fuzzy', 'q'], /--mode must be/));
  it('no arguments at all prints the usage and exits 2', async () => {
    const r = await inProcess([]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^evidence-search: usage: evidence-search <index\|search\|highlight\|bench\|watch>/);
  });
});

describe('main: runtime errors exit 1 with a clear message', () => {
  it('a missing root folder names the absolute path', async () => {
    const missing = path.join(tmpDir(), 'nope');
    await runtimeError(['search', '--root', missing, '--json', 'q'], new RegExp(`workspace folder not found: ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`), undefined, false);
    // A relative path is resolved against the working directory in the message.
    const cwd = tmpDir();
    await runtimeError(['index', '--root', 'rel/missing'], new RegExp(`not found: ${path.join(fs.realpathSync(cwd), 'rel', 'missing').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), cwd);
  });

  it('a root that is a file', async () => {
    const f = path.join(tmpDir(), 'file.md');
    fs.writeFileSync(f, '# hi\n');
    await runtimeError(['search', '--root', f, 'q'], /workspace folder is not a folder: .*file\.md/, undefined, false);
  });

  it('a missing model folder names the path', async () => {
    const missing = path.join(tmpDir(), 'no-model');
    const line = await runtimeError(['search', '--root', CORPUS, '--model', missing, '--index', path.join(tmpDir(), 'ix'), 'q'], /model folder not found/);
    assert.ok(line.includes(missing), line);
    const line2 = await runtimeError(['highlight', '--pairs', path.join(REPO, 'test/fixtures/bench/highlights/pairs.jsonl'), '--model', missing, '--json'], /model folder not found/, undefined, false);
    assert.ok(line2.includes(missing), line2);
  });

  it('a model folder without model.json names the manifest path', async () => {
    const empty = tmpDir();
    const line = await runtimeError(['search', '--root', CORPUS, '--model', empty, '--index', path.join(tmpDir(), 'ix'), 'q'], /model manifest not found/, undefined, false);
    assert.ok(line.includes(path.join(empty, 'model.json')), line);
  });

  it('a missing --pairs / --queries file names the path', async () => {
    const missing = path.join(tmpDir(), 'pairs.jsonl');
    const line = await runtimeError(['highlight', '--pairs', missing, '--model', MODEL, '--json'], /file not found/);
    assert.ok(line.includes(missing), line);
    const q = path.join(tmpDir(), 'queries.jsonl');
    const line2 = await runtimeError(['search', '--root', CORPUS, '--model', MODEL, '--index', path.join(tmpDir(), 'ix'), '--queries', q, '--json'], /file not found/);
    assert.ok(line2.includes(q), line2);
  });

  it('a malformed --queries line names file and line, after the lines before it were answered', async () => {
    const bad = path.join(REPO, 'test/fixtures/bench/bad/queries.jsonl');
    const r = await cli(['search', '--root', CORPUS, '--model', MODEL, '--index', path.join(tmpDir(), 'ix'), '--queries', bad, '--json']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`evidence-search: error: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: not valid JSON`));
    const out = r.stdout.trim().split('\n');
    assert.equal(out.length, 1);
    assert.equal(JSON.parse(out[0]).id, 'q1');
  });

  it('a --pairs line without a passage names file, line and field', async () => {
    const f = path.join(tmpDir(), 'pairs.jsonl');
    fs.writeFileSync(f, '{"id": "a", "query": "q", "passage": "p q"}\n\n{"id": "b", "query": "q"}\n');
    const r = await cli(['highlight', '--pairs', f, '--model', MODEL, '--json']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /pairs\.jsonl:3: "passage" must be a string/);
    assert.equal(JSON.parse(r.stdout.trim()).id, 'a');
  });
});
