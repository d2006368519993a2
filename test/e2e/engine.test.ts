// End to end with the shipped model: the CLI as a child process, and WorkspaceSearch directly,
// over the fixture workspace in test/fixtures/workspace (8 files, 30 passages) and over
// temporary workspaces with bad inputs. Nothing is ever written into a searched folder or the
// user's real cache: every run passes --index <tmp> or sets XDG_CACHE_HOME to a temp folder.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { WorkspaceSearch, defaultModelDir, type SearchResult } from '../../src/core/engine';
import { Encoder, type DocInput } from '../../src/core/model/encoder';
import { encodeEach } from '../../src/core/model/worker-encoder';
import { pickEvidence, scoreTokens } from '../../src/core/search/searcher';
import { unitSpans, wordSpans } from '../../src/core/index/unit-spans';
import { tempDirFactory } from '../temp-dirs';

const REPO = path.resolve(__dirname, '../..');
const MODEL = path.join(REPO, 'models', 'es-colbert-small');
const FIXTURE = path.join(REPO, 'test', 'fixtures', 'workspace');
const TSX = pathToFileURL(require.resolve('tsx', { paths: [REPO] })).href;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

const tmpDir = tempDirFactory('es-e2e-');
const CACHE = tmpDir('es-e2e-cache-');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', TSX, path.join(REPO, 'src', 'cli.ts'), ...args],
      { cwd: REPO, env: { ...process.env, XDG_CACHE_HOME: CACHE, EVIDENCE_SEARCH_DEBUG: '', ...env }, timeout: 120_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function ok(args: string[], env?: Record<string, string>): Promise<Run> {
  const r = await cli(args, env);
  assert.equal(r.code, 0, `exit 0 for ${args.join(' ')}\nstderr: ${r.stderr}`);
  return r;
}

/** Every file and folder under `dir` with size, mtime and mode: a fingerprint of "nothing was written". */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (abs: string, rel: string): void => {
    for (const name of fs.readdirSync(abs).sort()) {
      const a = path.join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(a);
      out.set(r, `${st.isDirectory() ? 'd' : 'f'}:${st.size}:${st.mtimeMs}:${st.mode}`);
      if (st.isDirectory()) walk(a, r);
    }
  };
  walk(dir, '');
  return out;
}

function assertUnchanged(dir: string, before: Map<string, string>): void {
  assert.deepEqual([...snapshot(dir)], [...before], `nothing is written into ${dir}`);
}

const fileCache = new Map<string, string>();
function fileText(root: string, rel: string): string {
  const abs = path.join(root, rel);
  let t = fileCache.get(abs);
  if (t === undefined) {
    t = new TextDecoder('utf-8', { ignoreBOM: true }).decode(fs.readFileSync(abs));
    fileCache.set(abs, t);
  }
  return t;
}

type JsonResult = { path: string; start: number; end: number; score: number; highlights: Array<[number, number]> };

/** Result invariants: shape, spans inside the file, highlights inside the passage, sorted, disjoint. */
function checkResults(root: string, results: JsonResult[], top: number): void {
  assert.ok(Array.isArray(results));
  assert.ok(results.length <= top, `at most ${top} results`);
  let prev = Infinity;
  const seen = new Set<string>();
  for (const r of results) {
    assert.deepEqual(Object.keys(r), ['path', 'start', 'end', 'score', 'highlights'], 'result keys, in order');
    assert.equal(typeof r.path, 'string');
    assert.ok(!path.isAbsolute(r.path) && !r.path.includes('\\') && !r.path.split('/').includes('..'), `relative posix path: ${r.path}`);
    assert.ok(Number.isInteger(r.start) && Number.isInteger(r.end), 'integer offsets');
    assert.ok(typeof r.score === 'number' && Number.isFinite(r.score));
    assert.ok(r.score <= prev, 'scores do not increase');
    prev = r.score;
    const key = `${r.path}:${r.start}`;
    assert.ok(!seen.has(key), `no duplicate result ${key}`);
    seen.add(key);
    const text = fileText(root, r.path);
    assert.ok(0 <= r.start && r.start < r.end && r.end <= text.length, `0 <= ${r.start} < ${r.end} <= ${text.length}`);
    assert.ok(text.slice(r.start, r.end).trim().length > 0, 'the passage text is not empty');
    let last = r.start - 1;
    for (const h of r.highlights) {
      assert.ok(Array.isArray(h) && h.length === 2);
      const [s, e] = h;
      assert.ok(r.start <= s && s < e && e <= r.end, `highlight [${s},${e}) inside [${r.start},${r.end}) of ${r.path}`);
      assert.ok(s > last, 'highlights sorted and disjoint');
      last = e;
      assert.ok(text.slice(s, e).trim().length > 0, 'a highlight is not blank');
    }
  }
}

/** A sentence as it stands in a file (with line breaks and comment markers) → the question a user would paste. */
function asQuery(sentence: string): string {
  return sentence
    .replace(/\n[ \t]*(?:\/\/\/|\/\/|\*|#)?[ \t]*/g, ' ')
    .replace(/`/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Questions copied from one passage each: [id, file, the sentence verbatim as in the file]. */
const VERBATIM: Array<[string, string, string]> = [
  ['shutdown', 'README.md', 'The server stops accepting new\nconnections right away, waits for in-flight requests to finish, and only then runs the\n`onClose` hooks, so no request is dropped during a deploy.'],
  ['precedence', 'docs/routing.md', 'When several routes could match the same URL, static segments win over parameters and\nparameters win over wildcards, whatever order the routes were registered in.'],
  ['encapsulation', 'docs/plugins.md', 'Decorators and hooks registered inside a plugin\nare visible to that plugin and its descendants but not to its siblings or its parent.'],
  ['refill', 'src/rate-limit.js', 'Tokens are refilled continuously at `refillPerSecond`.'],
  ['keepalive', 'src/server.ts', 'Idle keep-alive sockets are closed so the process\n   * can exit.'],
  ['migrations', 'scripts/migrate.py', 'Files are sorted by their numeric prefix, not alphabetically, so that 10_users.sql\n    comes after 9_sessions.sql.'],
  ['lru', 'crates/cache/src/lib.rs', 'When a new entry would exceed the\n/// capacity, the entry that was read or written least recently is evicted first.'],
  ['redirects', 'cmd/healthcheck/main.go', 'Redirects are not followed: a redirect means the\n// endpoint is misconfigured.'],
];

function sentenceSpan(file: string, sentence: string): [number, number] {
  const text = fileText(FIXTURE, file);
  const i = text.indexOf(sentence);
  assert.ok(i >= 0, `fixture ${file} contains ${JSON.stringify(sentence)}`);
  assert.equal(text.indexOf(sentence, i + 1), -1, 'the sentence is unique in its file');
  return [i, i + sentence.length];
}

/** The top result is the passage holding the sentence, with at least one highlight on the sentence. */
function assertVerbatimFirst(id: string, file: string, sentence: string, results: JsonResult[]): void {
  const [s, e] = sentenceSpan(file, sentence);
  assert.ok(results.length > 0, `${id}: results`);
  const top = results[0];
  assert.equal(top.path, file, `${id}: top result ${top.path}:${top.start}, expected ${file}`);
  assert.ok(top.start <= s && e <= top.end, `${id}: the top passage [${top.start},${top.end}) holds the sentence [${s},${e})`);
  assert.ok(top.highlights.some(([a, b]) => a < e && b > s), `${id}: a highlight on the sentence: ${JSON.stringify(top.highlights)}`);
}

const FIXTURE_FILES = ['README.md', 'cmd/healthcheck/main.go', 'crates/cache/src/lib.rs', 'docs/plugins.md', 'docs/routing.md', 'scripts/migrate.py', 'src/rate-limit.js', 'src/server.ts'];

let fixtureBefore: Map<string, string>;
before(() => {
  fixtureBefore = snapshot(FIXTURE);
});

describe('CLI end to end on the fixture workspace', () => {
  const IX = path.join(tmpDir(), 'index');
  const queriesFile = path.join(tmpDir(), 'queries.jsonl');

  it('index: builds the index outside the workspace and reports it', async () => {
    const r = await ok(['index', '--root', FIXTURE, '--model', MODEL, '--index', IX, '--json']);
    const report = JSON.parse(r.stdout);
    assert.equal(report.root, fs.realpathSync(FIXTURE));
    assert.equal(report.indexDir, IX);
    assert.equal(report.stats.files, FIXTURE_FILES.length);
    assert.equal(report.stats.filesEncoded, FIXTURE_FILES.length);
    assert.equal(report.stats.filesReused, 0);
    assert.ok(report.stats.units >= 15 && report.stats.units <= 40, `passages: ${report.stats.units}`);
    assert.ok(report.stats.tokens > 0);
    assert.deepEqual(report.skipped, []);
    assert.deepEqual(report.invalidUtf8, []);
    assert.match(r.stderr, new RegExp(`indexed ${FIXTURE_FILES.length} files \\(0 unchanged, ${FIXTURE_FILES.length} encoded\\)`));
    const files = fs.readdirSync(IX).sort();
    assert.ok(files.includes('index.json') && files.some((f) => /^seg-[0-9a-f]+\.bin$/.test(f)) && files.some((f) => /^codec-[0-9a-f]+\.bin$/.test(f)), JSON.stringify(files));
    assert.equal(files.length, 3, 'no temporary files left behind');
    // The index covers exactly the fixture's files.
    const meta = JSON.parse(fs.readFileSync(path.join(IX, 'index.json'), 'utf8'));
    assert.deepEqual(meta.files.map((f: { path: string }) => f.path).sort(), FIXTURE_FILES);
  });

  it('search --json on the cached index: a verbatim sentence ranks its passage first (hybrid, the default); exact output shape; the index is not rewritten', async () => {
    const [id, file, sentence] = VERBATIM[0];
    const q = asQuery(sentence);
    const ixBefore = snapshot(IX);
    const r = await ok(['search', '--root', FIXTURE, '--model', MODEL, '--index', IX, '--json', q]);
    const lines = r.stdout.split('\n');
    assert.equal(lines.length, 2, 'one JSON line and the final newline');
    assert.equal(lines[1], '');
    const out = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(out), ['query', 'results']);
    assert.equal(out.query, q);
    assert.equal(out.results.length, 10, 'default --top is 10 (the fixture has more passages)');
    checkResults(FIXTURE, out.results, 10);
    assertVerbatimFirst(id, file, sentence, out.results);
    assert.match(r.stderr, new RegExp(`\\(${FIXTURE_FILES.length} unchanged, 0 encoded\\)`));
    assertUnchanged(IX, ixBefore);
  });

  it('search --mode dense --top 3: valid results', async () => {
    const r = await ok(['search', '--root', FIXTURE, '--model', MODEL, '--index', IX, '--json', '--top', '3', '--mode', 'dense', asQuery(VERBATIM[1][2])]);
    const out = JSON.parse(r.stdout);
    assert.equal(out.results.length, 3);
    checkResults(FIXTURE, out.results, 3);
  });

  it('search --queries: one line per query, input order and ids kept (numeric ids as strings), blank lines skipped; a fresh index and the cached one give byte-identical output', async () => {
    const lines = VERBATIM.map(([id, , s]) => JSON.stringify({ id, query: asQuery(s) }));
    lines.splice(2, 0, '', JSON.stringify({ id: 42, query: 'how do I stop the server without dropping requests' }));
    lines.push(JSON.stringify({ id: 'dup', query: asQuery(VERBATIM[0][2]) }), '   ');
    fs.writeFileSync(queriesFile, lines.join('\n') + '\n');
    // Fresh index folder: everything is encoded in this run.
    const fresh = path.join(tmpDir(), 'index2');
    const a = await ok(['search', '--root', FIXTURE, '--model', MODEL, '--index', fresh, '--queries', queriesFile, '--top', '10', '--json']);
    assert.match(a.stderr, new RegExp(`\\(0 unchanged, ${FIXTURE_FILES.length} encoded\\)`));
    const out = a.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    const ids = ['shutdown', 'precedence', '42', ...VERBATIM.slice(2).map(([id]) => id), 'dup'];
    assert.deepEqual(out.map((o) => o.id), ids);
    for (const o of out) {
      assert.deepEqual(Object.keys(o), ['id', 'results']);
      checkResults(FIXTURE, o.results, 10);
    }
    for (const [id, file, sentence] of VERBATIM) assertVerbatimFirst(id, file, sentence, out.find((o) => o.id === id).results);
    // The same question gives the same answer within one run.
    assert.deepEqual(out[out.length - 1].results, out[0].results);
    // The question from the README's demo finds a shutdown passage in its top 3.
    const demo = out.find((o) => o.id === '42').results.slice(0, 3).map((x: JsonResult) => `${x.path}:${x.start}`);
    const shutdown = `${out[0].results[0].path}:${out[0].results[0].start}`;
    assert.ok(demo.some((d: string) => d === shutdown || d.startsWith('src/server.ts')), `demo question top 3: ${demo}`);
    // Cached index (built by the index command): byte-identical output.
    const b = await ok(['search', '--root', FIXTURE, '--model', MODEL, '--index', IX, '--queries', queriesFile, '--top', '10', '--json']);
    assert.match(b.stderr, new RegExp(`\\(${FIXTURE_FILES.length} unchanged, 0 encoded\\)`));
    assert.equal(b.stdout, a.stdout);
  });

  it('without --index the index goes to $XDG_CACHE_HOME/evidence-search; human-readable output without --json', async () => {
    const cache = tmpDir('es-e2e-xdg-');
    const r = await ok(['search', '--root', FIXTURE, '--model', MODEL, '--top', '2', asQuery(VERBATIM[3][2])], { XDG_CACHE_HOME: cache });
    const indexes = path.join(cache, 'evidence-search', 'indexes');
    const dirs = fs.readdirSync(indexes);
    assert.equal(dirs.length, 1);
    assert.match(dirs[0], /^workspace-[0-9a-f]{16}$/);
    assert.ok(fs.existsSync(path.join(indexes, dirs[0], 'index.json')));
    assert.match(r.stdout, /^2 results for "Tokens are refilled continuously at refillPerSecond\."\n/);
    assert.match(r.stdout, /\n1\. src\/rate-limit\.js:\d+ {2}\(score \d+\.\d{4}\)/);
    assert.match(r.stdout, /\[\[[^\]]+\]\]/, 'evidence marked [[like this]] when stdout is not a terminal');
  });

  it('highlight --pairs: {id, highlights} per line, offsets are whole words inside the passage', async () => {
    const pairs = path.join(tmpDir(), 'pairs.jsonl');
    const items = [
      { id: 'h1', query: 'how are tokens refilled', passage: 'Tokens are refilled continuously. Buckets live in memory only.' },
      { id: 7, query: 'café naïve', passage: 'Un café 😀 très naïve, with 𝐀𝐁𝐂 letters and 日本語 text.' },
      { id: 'empty', query: 'anything', passage: '' },
      { id: 'blank-query', query: '   ', passage: 'Some passage text.' },
    ];
    fs.writeFileSync(pairs, items.map((x) => JSON.stringify(x)).join('\n') + '\n');
    const r = await ok(['highlight', '--pairs', pairs, '--model', MODEL, '--json']);
    const out = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(out.map((o) => o.id), ['h1', '7', 'empty', 'blank-query']);
    out.forEach((o, k) => {
      assert.deepEqual(Object.keys(o), ['id', 'highlights']);
      const p = items[k].passage;
      let last = -1;
      for (const [s, e] of o.highlights as Array<[number, number]>) {
        assert.ok(0 <= s && s < e && e <= p.length && s > last, `${o.id}: [${s},${e}) in a passage of ${p.length}`);
        last = e;
        const isWord = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{N}_]/u.test(c);
        assert.ok(!isWord(p.slice(0, s).slice(-1)) && !isWord(p.slice(e, e + 1)), `${o.id}: [${s},${e}) ${JSON.stringify(p.slice(s, e))} is whole words`);
        // Never splits a surrogate pair.
        assert.ok(!/^[\udc00-\udfff]/.test(p.slice(s)) && !/^[\udc00-\udfff]/.test(p.slice(e)));
      }
    });
    assert.deepEqual(out[2].highlights, []);
    assert.deepEqual(out[3].highlights, []);
  });

  it('without --model, the shipped model next to the sources is used', async () => {
    // defaultModelDir() must find models/es-colbert-small when the CLI runs from src/ (tsx) as
    // well as from dist/ (bundle).
    const r = await cli(['search', '--root', FIXTURE, '--index', IX, '--top', '1', '--json', 'token bucket']);
    assert.equal(r.code, 0, `exit 0 without --model; defaultModelDir() = ${defaultModelDir()}; stderr: ${r.stderr.trim()}`);
  });

});

describe('WorkspaceSearch directly', () => {
  let encoder: Encoder;
  before(async () => {
    encoder = await Encoder.load(MODEL);
  });
  after(async () => {
    await encoder?.dispose();
  });

  it('agrees with the CLI and keeps its invariants in every mode', async () => {
    const indexDir = path.join(tmpDir(), 'ix');
    const logs: string[] = [];
    const ws = await WorkspaceSearch.open(FIXTURE, { modelDir: MODEL, indexDir, encoder, log: (m) => logs.push(m) });
    assert.equal(ws.report.stats.files, FIXTURE_FILES.length);
    assert.equal(ws.report.indexDir, indexDir);
    assert.ok(logs.some((l) => /indexed 8 files \(0 unchanged, 8 encoded\)/.test(l)), logs.join('\n'));
    for (const [id, file, sentence] of VERBATIM) {
      const res = await ws.search(asQuery(sentence), { mode: 'hybrid', top: 5 });
      checkResults(FIXTURE, res.map(({ path: p, start, end, score, highlights }) => ({ path: p, start, end, score, highlights })), 5);
      assertVerbatimFirst(id, file, sentence, res);
      assert.equal(ws.fileText(res[0].path), fileText(FIXTURE, res[0].path));
      for (const r of res) {
        assert.ok(r.kind === 'markdown' || r.kind === 'comment');
        assert.equal(typeof r.context, 'string');
      }
    }
    for (const mode of ['dense', 'lexical'] as const) {
      const res = await ws.search('how are migrations applied in order', { mode, top: 4 });
      assert.ok(res.length > 0 && res.length <= 4);
      checkResults(FIXTURE, res.map(({ path: p, start, end, score, highlights }) => ({ path: p, start, end, score, highlights })), 4);
    }
    // Evidence off: no highlights, same ranking.
    const q = asQuery(VERBATIM[2][2]);
    const withEv = await ws.search(q, { top: 3 });
    const noEv = await ws.search(q, { top: 3, evidence: false });
    assert.deepEqual(noEv.map((r) => [r.path, r.start, r.score]), withEv.map((r) => [r.path, r.start, r.score]));
    assert.ok(noEv.every((r) => r.highlights.length === 0));
    // threshold 0 highlights every body word; threshold 1 almost nothing.
    const all = await ws.search(q, { top: 1, threshold: 0 });
    const none = await ws.search(q, { top: 1, threshold: 1 });
    const covered = (r: SearchResult): number => r.highlights.reduce((n, [s, e]) => n + e - s, 0);
    assert.ok(covered(all[0]) >= covered(withEv[0]) && covered(withEv[0]) >= covered(none[0]));
    // Blank questions give no results.
    assert.deepEqual(await ws.search('   '), []);
    assert.deepEqual(await ws.search(''), []);
    // The CLI gave the same top results for the same question (scores rounded to 6 decimals there).
    const cliOut = await ok(['search', '--root', FIXTURE, '--model', MODEL, '--index', indexDir, '--json', '--top', '3', q]);
    const viaCli = JSON.parse(cliOut.stdout).results;
    assert.deepEqual(viaCli.map((r: JsonResult) => [r.path, r.start, r.end, r.highlights]), withEv.map((r) => [r.path, r.start, r.end, r.highlights]));
    assert.deepEqual(viaCli.map((r: JsonResult) => r.score), withEv.map((r) => Number(r.score.toFixed(6))));
    await ws.dispose();
    // An encoder passed in is not disposed by the workspace: it still works.
    await encoder.encodeQuery('still usable');
  });

  it('an index folder that cannot be written: the report says why, and searches work from memory', async () => {
    // A regular file where the index folder should be (a permission error would not stop root).
    const indexDir = path.join(tmpDir(), 'not-a-folder');
    fs.writeFileSync(indexDir, 'in the way');
    const logs: string[] = [];
    const ws = await WorkspaceSearch.open(FIXTURE, { modelDir: MODEL, indexDir, encoder, log: (m) => logs.push(m) });
    assert.match(ws.report.notSaved ?? '', /EEXIST|ENOTDIR|not a directory|file already exists/i, JSON.stringify(ws.report.notSaved));
    assert.ok(logs.some((l) => l.includes('could not save') && l.includes(ws.report.notSaved!)), logs.join('\n'));
    assert.equal(fs.readFileSync(indexDir, 'utf8'), 'in the way', 'the file in the way is left as it was');
    const [id, file, sentence] = VERBATIM[0];
    assertVerbatimFirst(id, file, sentence, await ws.search(asQuery(sentence), { top: 5 }));
    await ws.dispose();
    // Saved: no notSaved.
    const saved = await WorkspaceSearch.open(FIXTURE, { modelDir: MODEL, indexDir: path.join(tmpDir(), 'ix'), encoder });
    assert.equal(saved.report.notSaved, undefined);
    await saved.dispose();
  });

  it('evidence reused from the scoring kernel equals evidence from the decoded vectors, in every mode; prepare() changes no result', async () => {
    const indexDir = path.join(tmpDir(), 'ix');
    const ws = await WorkspaceSearch.open(FIXTURE, { modelDir: MODEL, indexDir, encoder });
    const questions = ['how are migrations applied in order', asQuery(VERBATIM[0][2]), asQuery(VERBATIM[2][2])];
    const unprepared = [];
    for (const query of questions) {
      for (const mode of ['hybrid', 'dense', 'lexical'] as const) {
        const hits = await ws.searchHits(query, { mode, top: 5 });
        assert.ok(hits.length > 0);
        const q = await ws.encodeQuery(query);
        for (const h of hits) {
          // The searcher recovers spans from the unit's words (not tokenising its text again);
          // its highlights must be those of the exact spans, which the tokeniser gives.
          assert.ok(wordSpans(encoder, h.unit, ws.index.store.norms), `${h.unit.path}: spans from its words`);
          const spans = unitSpans(encoder, h.unit);
          assert.ok(!('reason' in spans), `${h.unit.path}: ${JSON.stringify(spans)}`);
          const tokens = scoreTokens(encoder, q, ws.index.store, h.unit.tokenFirst, spans);
          assert.deepEqual(h.highlights, pickEvidence(encoder, ws.fileText(h.unit.path), h.unit.start, h.unit.end, tokens), `${mode}: ${query} → ${h.unit.path}`);
        }
        unprepared.push(hits.map((h) => [h.unit.path, h.unit.start, h.score, h.highlights]));
      }
    }
    await ws.dispose();
    const prepared = await WorkspaceSearch.open(FIXTURE, { modelDir: MODEL, indexDir, encoder });
    await prepared.prepare();
    const preparedHits = [];
    for (const query of questions) {
      for (const mode of ['hybrid', 'dense', 'lexical'] as const) preparedHits.push((await prepared.searchHits(query, { mode, top: 5 })).map((h) => [h.unit.path, h.unit.start, h.score, h.highlights]));
    }
    assert.deepEqual(preparedHits, unprepared);
    await prepared.dispose();
  });

  it('re-encodes only changed files, drops deleted ones, and re-saves the index', async () => {
    const root = tmpDir('es-e2e-ws-');
    fs.cpSync(FIXTURE, root, { recursive: true });
    const indexDir = path.join(tmpDir(), 'ix');
    const a = await WorkspaceSearch.open(root, { modelDir: MODEL, indexDir, encoder });
    assert.equal(a.report.stats.filesEncoded, FIXTURE_FILES.length);
    const qRefill = asQuery(VERBATIM[3][2]);
    const before = await a.search(qRefill, { top: 3 });

    fs.appendFileSync(path.join(root, 'docs', 'routing.md'), '\n## Trailing slashes\n\nA trailing slash is significant: `/users` and `/users/` are different routes unless `ignoreTrailingSlash` is set.\n');
    fs.rmSync(path.join(root, 'cmd'), { recursive: true });
    const b = await WorkspaceSearch.open(root, { modelDir: MODEL, indexDir, encoder });
    assert.equal(b.report.stats.files, FIXTURE_FILES.length - 1);
    assert.equal(b.report.stats.filesEncoded, 1);
    assert.equal(b.report.stats.filesReused, FIXTURE_FILES.length - 2);
    const after = await b.search(qRefill, { top: 3 });
    assert.equal(after[0].path, before[0].path);
    assert.equal(after[0].start, before[0].start);
    assert.deepEqual(after[0].highlights, before[0].highlights);
    const slash = await b.search('A trailing slash is significant: /users and /users/ are different routes unless ignoreTrailingSlash is set.', { top: 1 });
    assert.equal(slash[0].path, 'docs/routing.md');
    assert.ok(fileText(root, 'docs/routing.md').slice(slash[0].start, slash[0].end).includes('ignoreTrailingSlash'));
    assert.ok((await b.search('health check probe redirect', { top: 10 })).every((r) => !r.path.startsWith('cmd/')));

    // The saved index reflects the change: a third open reuses everything.
    const c = await WorkspaceSearch.open(root, { modelDir: MODEL, indexDir, encoder });
    assert.equal(c.report.stats.filesEncoded, 0);
    assert.equal(c.report.stats.filesReused, FIXTURE_FILES.length - 1);
  });

  it('a caller\'s own encoder is told to prepare when files changed, and only then', async () => {
    const root = tmpDir('es-e2e-ws-');
    fs.cpSync(FIXTURE, root, { recursive: true });
    const indexDir = path.join(tmpDir(), 'ix');
    let prepared = 0;
    const docEncoder = { prepare: () => void prepared++, encodeDocs: (docs: readonly DocInput[]) => encodeEach(encoder, docs) };
    await WorkspaceSearch.open(root, { modelDir: MODEL, indexDir, encoder, docEncoder });
    assert.equal(prepared, 1, 'a first build');
    await WorkspaceSearch.open(root, { modelDir: MODEL, indexDir, encoder, docEncoder });
    assert.equal(prepared, 1, 'nothing changed');
    fs.appendFileSync(path.join(root, 'docs', 'routing.md'), '\n## Another section\n\nIt says something new about routes.\n');
    await WorkspaceSearch.open(root, { modelDir: MODEL, indexDir, encoder, docEncoder });
    assert.equal(prepared, 2, 'one file changed');
  });

  it('a passage longer than the encoder window: every window result keeps its highlights inside [start, end)', async () => {
    // One long paragraph full of camelCase identifiers (several word pieces each), so that
    // the encoder windows of the passage end and start in the middle of words.
    const parts = ['request', 'body', 'timeout', 'keep', 'alive', 'socket', 'handler', 'registry', 'plugin', 'serializer', 'payload', 'limit'];
    let seed = 17;
    const rnd = (n: number): number => {
      seed = (seed * 16807) % 2147483647;
      return seed % n;
    };
    const words: string[] = [];
    for (let i = 0; i < 150; i++) {
      const n = 2 + rnd(3);
      let w = parts[rnd(parts.length)];
      for (let k = 1; k < n; k++) {
        const p = parts[rnd(parts.length)];
        w += p[0].toUpperCase() + p.slice(1);
      }
      words.push(i % 10 === 9 ? `${w}.` : w);
    }
    const root = tmpDir('es-e2e-long-');
    fs.writeFileSync(path.join(root, 'options.md'), `# Options\n\nThe server accepts ${words.join(' ')} and nothing else.\n`);
    const ws = await WorkspaceSearch.open(root, { modelDir: MODEL, persist: false, encoder });
    assert.ok(ws.index.units.length >= 3, `the paragraph is split into windows: ${ws.index.units.length} units`);
    const res = await ws.search(words.slice(40, 50).join(' '), { top: 50, threshold: 0 });
    assert.equal(res.length, ws.index.units.length);
    checkResults(root, res.map(({ path: p, start, end, score, highlights }) => ({ path: p, start, end, score, highlights })), 50);
  });

  it('persist: false writes nothing; an index folder inside the workspace is refused', async () => {
    const root = tmpDir('es-e2e-ws-');
    fs.cpSync(FIXTURE, root, { recursive: true });
    const snap = snapshot(root);
    const cache = tmpDir('es-e2e-cache-');
    const prev = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = cache;
    try {
      const ws = await WorkspaceSearch.open(root, { modelDir: MODEL, persist: false, encoder });
      assert.equal(ws.report.indexDir, null);
      assert.ok((await ws.search('token bucket', { top: 2 })).length > 0);
    } finally {
      if (prev === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = prev;
    }
    assert.deepEqual(fs.readdirSync(cache), []);
    await assert.rejects(
      WorkspaceSearch.open(root, { modelDir: MODEL, indexDir: path.join(root, '.cache', 'ix'), encoder }),
      /the index folder .* is inside the searched folder/,
    );
    await assert.rejects(WorkspaceSearch.open(root, { modelDir: MODEL, indexDir: root, encoder }), /inside the searched folder/);
    assertUnchanged(root, snap);
  });

  it('an index folder inside the workspace is refused also when reached through a symlink', async () => {
    // e.g. on macOS /tmp is a link to /private/tmp: `--root /tmp/ws --index /tmp/ws/.idx`.
    const base = tmpDir('es-e2e-link-');
    const root = path.join(base, 'ws');
    fs.mkdirSync(root);
    fs.copyFileSync(path.join(FIXTURE, 'README.md'), path.join(root, 'README.md'));
    const link = path.join(base, 'link');
    fs.symlinkSync(root, link);
    const snap = snapshot(root);
    const outcomes: string[] = [];
    for (const [r, ix] of [[link, path.join(link, '.es-index')], [root, path.join(link, '.es-index')], [link, path.join(root, '.es-index')]]) {
      try {
        const ws = await WorkspaceSearch.open(r, { modelDir: MODEL, indexDir: ix, encoder });
        await ws.dispose();
        outcomes.push(`--root ${path.relative(base, r)} --index ${path.relative(base, ix)}: accepted`);
      } catch (e) {
        assert.match((e as Error).message, /inside the searched folder/);
      }
    }
    assert.deepEqual(outcomes, [], 'every combination is refused');
    assertUnchanged(root, snap);
  });
});

describe('bad inputs (temporary workspaces): exit 0 and report what was skipped', () => {
  it('an empty folder: zero results and a message on stderr', async () => {
    const root = tmpDir('es-e2e-empty-');
    const r = await ok(['search', '--root', root, '--model', MODEL, '--index', path.join(tmpDir(), 'ix'), '--json', 'anything at all']);
    assert.deepEqual(JSON.parse(r.stdout), { query: 'anything at all', results: [] });
    assert.match(r.stderr, /no Markdown or source files with comments found under /);
    assert.deepEqual(fs.readdirSync(root), []);
  });

  it('binary, invalid UTF-8, a 50 MB single-line file, a FIFO and a chmod-000 file', async () => {
    const root = tmpDir('es-e2e-bad-');
    const good = '# Retries\n\nFailed uploads are retried three times with exponential backoff before the job is marked as failed.\n';
    fs.writeFileSync(path.join(root, 'good.md'), good);
    // Binary: NUL bytes near the start, under a supported name.
    fs.writeFileSync(path.join(root, 'image.md'), Buffer.concat([Buffer.from('# PNG?\n'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13]), Buffer.alloc(64, 1)]));
    // Invalid UTF-8 in Markdown: decoded with U+FFFD and still indexed.
    fs.writeFileSync(path.join(root, 'latin1.md'), Buffer.concat([
      Buffer.from('# Caf'), Buffer.from([0xe9]), Buffer.from('\n\nThe caf'), Buffer.from([0xe9, 0xff, 0xfe]),
      Buffer.from(' opens at seven and serves espresso until the evening rush is over.\n'),
    ]));
    // 50 MB, one line, created sparse (no data written): must be skipped from its size, unread.
    const big = path.join(root, 'huge.md');
    const fd = fs.openSync(big, 'w');
    fs.writeSync(fd, '# Huge single line ');
    fs.ftruncateSync(fd, 50 * 1024 * 1024);
    fs.closeSync(fd);
    // A FIFO with a supported name: must never be opened (opening it would block).
    let fifo = false;
    try {
      execFileSync('mkfifo', [path.join(root, 'pipe.md')]);
      fifo = true;
    } catch {
      // no mkfifo here: skip that part
    }
    // chmod 000: unreadable for a normal user; root reads it anyway (checked below either way).
    const locked = path.join(root, 'locked.md');
    fs.writeFileSync(locked, '# Locked\n\nThis document describes the locked deployment procedure for staging servers.\n');
    fs.chmodSync(locked, 0o000);
    const snap = snapshot(root);

    const ix = path.join(tmpDir(), 'ix');
    const r = await ok(['index', '--root', root, '--model', MODEL, '--index', ix, '--json']);
    const report = JSON.parse(r.stdout);
    const byPath = new Map<string, { reason: string; detail?: string }>(report.skipped.map((s: { path: string; reason: string; detail?: string }) => [s.path, s]));
    assert.equal(byPath.get('image.md')?.reason, 'binary');
    assert.equal(byPath.get('huge.md')?.reason, 'too-large');
    assert.equal(byPath.get('huge.md')?.detail, `${50 * 1024 * 1024} bytes > 1000000`, 'skipped from its size (stat), not by reading it');
    assert.deepEqual(report.invalidUtf8, ['latin1.md']);
    assert.ok(!byPath.has('latin1.md') && !byPath.has('good.md'));
    assert.ok(!byPath.has('pipe.md'), 'a FIFO is neither read nor reported as a file');
    if (isRoot) {
      // As root, mode 000 does not stop reading: the file is indexed, not skipped. (As a normal
      // user the same file is reported 'unreadable'.)
      assert.ok(!byPath.has('locked.md'));
      assert.equal(report.stats.files, 3);
    } else {
      assert.equal(byPath.get('locked.md')?.reason, 'unreadable');
      assert.equal(report.stats.files, 2);
    }
    assert.equal(report.skippedByReason.binary, 1);
    assert.equal(report.skippedByReason['too-large'], 1);
    assert.match(r.stderr, /skipped \d+ \(.*1 binary.*\)/);
    assert.match(r.stderr, /1 too-large/);
    assert.match(r.stderr, /1 with invalid UTF-8 \(decoded with U\+FFFD\)/);

    const s = await ok(['search', '--root', root, '--model', MODEL, '--index', ix, '--json', '--top', '5', 'when does the café open']);
    const out = JSON.parse(s.stdout);
    checkResults(root, out.results, 5);
    assert.ok(out.results.some((x: JsonResult) => x.path === 'latin1.md'));
    assert.ok(out.results.every((x: JsonResult) => x.path !== 'huge.md' && x.path !== 'image.md'));
    const latin = out.results.find((x: JsonResult) => x.path === 'latin1.md');
    assert.ok(fileText(root, 'latin1.md').slice(latin.start, latin.end).includes('caf\ufffd\ufffd\ufffd opens'));
    assert.match(s.stderr, /skipped/);

    fs.chmodSync(locked, 0o644);
    snap.set('locked.md', snapshot(root).get('locked.md')!);
    assertUnchanged(root, snap);
    if (fifo) assert.ok(fs.lstatSync(path.join(root, 'pipe.md')).isFIFO());
  });
});

describe('the fixture workspace', () => {
  it('nothing was written into it by any test above', () => {
    assertUnchanged(FIXTURE, fixtureBefore);
  });
});
