// kill -9 while indexing: a child process indexes a small workspace into an index folder and
// is SIGKILLed at seeded random points; the workspace changes between trials, so the index on
// disk is always either the previous state's or the new one's. After every kill:
//
// - once an index has been saved, loadIndex must load one (the save is atomic: "a crash at any
//   point leaves either the previous index or the new one", index-file.ts), and its files must
//   be exactly those of the previous or of the current workspace state (path + content hash);
// - the next open (the parent, persisting) must succeed and serve the current text: its results
//   are passages of the current files (checked against a from-scratch index of the same
//   folder), with highlights inside them, and its BM25 ranking equals the from-scratch one.
//
// Half of the kills are timed SIGKILLs from the parent, anywhere in the run. A save takes well
// under a millisecond here, so timed kills almost never land inside one; the other half
// therefore walk the save: a rehearsal of the same run (same workspace state, same starting
// index) counts its file operations on the index folder, and the real run SIGKILLs itself right
// before a seeded one of them, or halfway through a write (helpers/crash-points.ts).
// The seed is printed; KILL_SEED=<n> reruns a sequence, KILL_TRIALS=<n> changes the count.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { WorkspaceSearch, type SearchResult } from '../../src/core/engine';
import { Encoder } from '../../src/core/model/encoder';
import { loadIndex } from '../../src/core/index/index-file';
import { tempDirFactory } from '../temp-dirs';
import type { CrashPlan } from './helpers/crash-points';

const REPO = path.resolve(__dirname, '../..');
const MODEL = path.join(REPO, 'models', 'es-colbert-small');
const CHILD = path.join(__dirname, 'helpers', 'open-child.ts');
const TSX = pathToFileURL(require.resolve('tsx', { paths: [REPO] })).href;
const SEED = Number(process.env.KILL_SEED ?? 20261127);
const TRIALS = Number(process.env.KILL_TRIALS ?? 8);

const tmpDir = tempDirFactory('es-crash-');

function rng(seed: number): () => number {
  let s = seed % 2147483647 || 1;
  return () => {
    s = (s * 48271) % 2147483647;
    return s / 2147483647;
  };
}

const TOPICS = ['retry', 'cache', 'socket', 'plugin', 'router', 'logger', 'schema', 'timeout', 'session', 'upload', 'queue', 'token'];
const VERBS = ['expires', 'is refreshed', 'is validated', 'is closed', 'is retried', 'is serialized', 'is evicted', 'is registered'];
const WHEN = ['after thirty seconds', 'when the server stops', 'before the first request', 'on every deploy', 'once the queue drains', 'if the client disconnects'];

function sentence(r: () => number): string {
  const pick = <T>(a: T[]): T => a[Math.floor(r() * a.length)];
  return `The ${pick(TOPICS)} ${pick(VERBS)} ${pick(WHEN)}, and the ${pick(TOPICS)} ${pick(VERBS)} ${pick(WHEN)}.`;
}

function markdownFile(r: () => number, title: string): string {
  let s = `# ${title}\n\n${sentence(r)}\n`;
  const sections = 3 + Math.floor(r() * 4);
  for (let k = 0; k < sections; k++) {
    s += `\n## ${TOPICS[Math.floor(r() * TOPICS.length)]} ${k}\n\n`;
    const n = 2 + Math.floor(r() * 5);
    for (let i = 0; i < n; i++) s += sentence(r) + (i % 3 === 2 ? '\n\n' : ' ');
    s += '\n';
  }
  return s;
}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
function readText(abs: string): string {
  return decoder.decode(fs.readFileSync(abs));
}

/** path → sha256 of the text, for every file of the workspace (all are Markdown here). */
function workspaceState(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
      else out.set(r, crypto.createHash('sha256').update(readText(path.join(dir, e.name)), 'utf8').digest('hex'));
    }
  };
  walk(root, '');
  return out;
}

function sameState(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);
}

/** One to three seeded edits: change a file, add one, delete one, rename one. */
function mutate(root: string, r: () => number, trial: number): string[] {
  const done: string[] = [];
  const files = (): string[] => [...workspaceState(root).keys()];
  const ops = 1 + Math.floor(r() * 3);
  for (let k = 0; k < ops; k++) {
    const list = files();
    const f = list[Math.floor(r() * list.length)];
    const op = Math.floor(r() * 4);
    if (op === 0 || list.length < 12) {
      const p = path.join(root, 'docs', `added-${trial}-${k}.md`);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, markdownFile(r, `Added ${trial} ${k}`));
      done.push(`add docs/added-${trial}-${k}.md`);
    } else if (op === 1) {
      fs.rmSync(path.join(root, f));
      done.push(`delete ${f}`);
    } else if (op === 2) {
      const to = f.replace(/\.md$/, `-r${trial}.md`);
      fs.renameSync(path.join(root, f), path.join(root, to));
      done.push(`rename ${f} -> ${to}`);
    } else {
      // Edit in the middle, so every later offset of the file moves.
      const abs = path.join(root, f);
      const t = readText(abs);
      const at = t.indexOf('\n## ');
      const cut = at > 0 ? at : t.length;
      fs.writeFileSync(abs, t.slice(0, cut) + `\n\n## inserted ${trial}\n\n${sentence(r)} ${sentence(r)}\n` + t.slice(cut));
      done.push(`edit ${f}`);
    }
  }
  return done;
}

interface ChildRun {
  /** ms from "ready" to exit (or to the kill). */
  ms: number;
  readyAt: number;
  finished: boolean;
  killed: boolean;
  /** Index-folder operations counted by a child that ran to the end with a crash plan. */
  indexOps: number | null;
  stderr: string;
}

/**
 * Runs the indexing child. `killAfterMs` after its "ready" line it gets SIGKILL (if still
 * running); with `crash` it counts its index-folder operations and kills itself at one.
 */
function runChild(root: string, indexDir: string, o: { killAfterMs?: number; crash?: CrashPlan } = {}): Promise<ChildRun> {
  const { killAfterMs } = o;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, CHILD, root, indexDir, JSON.stringify({ modelDir: MODEL, crash: o.crash })], {
      cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    let readyAt = 0;
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!readyAt && out.includes('ready\n')) {
        readyAt = Date.now();
        if (killAfterMs !== undefined) {
          timer = setTimeout(() => {
            killed = child.kill('SIGKILL');
          }, killAfterMs);
        }
      }
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      const finished = out.includes('opened\n');
      if (!readyAt) return reject(new Error(`the child exited before "ready" (code ${code}, signal ${signal}): ${stderr}`));
      if (signal === 'SIGKILL') killed = true; // killed by itself (crash plan) or by the timer
      if (!killed && code !== 0) return reject(new Error(`the child failed (code ${code}, signal ${signal}): ${stderr}`));
      const last = out.trimEnd().split('\n').pop() ?? '';
      const indexOps = finished && last.startsWith('{') ? (JSON.parse(last).indexOps as number | null) : null;
      resolve({ ms: Date.now() - readyAt, readyAt, finished, killed: killed && signal === 'SIGKILL', indexOps, stderr });
    });
  });
}

type R = Pick<SearchResult, 'path' | 'start' | 'end' | 'score' | 'highlights'>;

function checkResultsAgainstDisk(root: string, results: R[], spans: Set<string>, what: string): void {
  for (const r of results) {
    const abs = path.join(root, r.path);
    assert.ok(fs.existsSync(abs), `${what}: result in a file that no longer exists: ${r.path}`);
    const text = readText(abs);
    assert.ok(0 <= r.start && r.start < r.end && r.end <= text.length, `${what}: ${r.path} [${r.start},${r.end}) inside 0..${text.length}`);
    assert.ok(spans.has(`${r.path}:${r.start}:${r.end}`), `${what}: ${r.path} [${r.start},${r.end}) is a passage of the current file (from-scratch index)`);
    let last = r.start - 1;
    for (const [s, e] of r.highlights) {
      assert.ok(r.start <= s && s < e && e <= r.end && s > last, `${what}: highlight [${s},${e}) inside [${r.start},${r.end}), sorted, disjoint`);
      assert.ok(text.slice(s, e).trim().length > 0, `${what}: highlight [${s},${e}) of ${r.path} is not blank`);
      last = e;
    }
  }
}

const QUERIES = ['when is the session cache evicted', 'retry after the client disconnects', 'how is the upload schema validated'];

describe('kill -9 during indexing', () => {
  let encoder: Encoder;
  before(async () => {
    encoder = await Encoder.load(MODEL);
  });
  after(async () => {
    await encoder?.dispose();
  });

  it(`the index on disk is always the previous or the new one, and the next open serves the current files (seed ${SEED}, ${TRIALS} trials)`, async (t) => {
    const r = rng(SEED);
    const root = fs.realpathSync(tmpDir('es-crash-ws-'));
    const indexDir = path.join(tmpDir('es-crash-ix-'), 'index');
    for (let i = 0; i < 24; i++) {
      const p = path.join(root, i % 3 === 0 ? 'docs' : i % 3 === 1 ? 'guide' : '', `file-${i}.md`);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, markdownFile(r, `File ${i}`));
    }
    const expect = { root, model: encoder.fingerprint, dim: encoder.dim };

    // First build, then an incremental run to time an untargeted kill against.
    await runChild(root, indexDir);
    mutate(root, r, -1);
    const cal = await runChild(root, indexDir);
    assert.ok(cal.finished);
    t.diagnostic(`calibration: an incremental run takes ${cal.ms} ms after ready`);

    let previous = workspaceState(root); // what the saved index holds now
    let kills = 0;
    let killedInSave = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const edits = mutate(root, r, trial);
      const current = workspaceState(root);
      let run: ChildRun;
      let how: string;
      if (trial % 2 === 0) {
        const delay = r() * cal.ms * 1.1;
        run = await runChild(root, indexDir, { killAfterMs: delay });
        how = `SIGKILL ${delay.toFixed(0)} ms after ready`;
      } else {
        // Rehearsal: the same run to the end on a copy of the index folder, counting its file
        // operations on the index folder; then the real run from the same starting index dies
        // right before one of them (or halfway through it, for a write).
        const backup = `${indexDir}.backup`;
        fs.cpSync(indexDir, backup, { recursive: true });
        const rehearsal = await runChild(root, indexDir, { crash: {} });
        fs.rmSync(indexDir, { recursive: true });
        fs.renameSync(backup, indexDir);
        const ops = rehearsal.indexOps ?? 0;
        assert.ok(ops > 0, 'the rehearsal saved its index through the fs module (crash-points.ts saw it)');
        const at = 1 + Math.floor(r() * ops);
        const torn = r() < 0.5;
        run = await runChild(root, indexDir, { crash: { at, torn } });
        how = `SIGKILL at index-folder operation ${at} of ${ops}${torn ? ', halfway through it' : ''}`;
      }
      const label = `seed ${SEED} trial ${trial} (${edits.join(', ')}; ${how})`;

      const loaded = loadIndex(indexDir, expect);
      assert.ok('index' in loaded, `${label}: after the kill the saved index must still load; got: ${'reason' in loaded ? loaded.reason : ''}`);
      const onDisk = new Map(loaded.index.files.map((f) => [f.path, f.hash]));
      const isOld = sameState(onDisk, previous);
      const isNew = sameState(onDisk, current);
      assert.ok(isOld || isNew, `${label}: the index holds the previous or the new workspace state, not a mix: ${JSON.stringify([...onDisk.keys()])}`);
      if (run.killed) kills++;
      if (run.killed && isNew) killedInSave++;
      t.diagnostic(`${label}: ${run.killed ? 'killed' : 'finished first'} after ${run.ms} ms; the index on disk is the ${isNew ? 'new' : 'previous'} one`);

      // The next open: reuses what it can, re-encodes the rest, saves, and serves current text.
      const ws = await WorkspaceSearch.open(root, { modelDir: MODEL, indexDir, encoder });
      const fresh = await WorkspaceSearch.open(root, { modelDir: MODEL, persist: false, encoder });
      try {
        assert.equal(ws.report.stats.files, current.size, `${label}: every file indexed`);
        assert.equal(ws.report.stats.filesReused + ws.report.stats.filesEncoded, current.size);
        const all = await fresh.search(QUERIES[0], { mode: 'dense', top: 1_000_000, evidence: false });
        assert.equal(all.length, fresh.report.stats.units, 'dense search with a huge top lists every passage');
        const spans = new Set(all.map((x) => `${x.path}:${x.start}:${x.end}`));
        for (const q of QUERIES) {
          checkResultsAgainstDisk(root, await ws.search(q, { top: 10 }), spans, `${label}, "${q}"`);
          const lexA = (await ws.search(q, { mode: 'lexical', top: 20, evidence: false })).map((x) => [x.path, x.start, x.end, x.score]);
          const lexB = (await fresh.search(q, { mode: 'lexical', top: 20, evidence: false })).map((x) => [x.path, x.start, x.end, x.score]);
          assert.deepEqual(lexA, lexB, `${label}, "${q}": BM25 over the reopened index equals a from-scratch index`);
        }
      } finally {
        await ws.dispose();
        await fresh.dispose();
      }
      const reloaded = loadIndex(indexDir, expect);
      assert.ok('index' in reloaded && sameState(new Map(reloaded.index.files.map((f) => [f.path, f.hash])), current), `${label}: after the next open the saved index is the current state`);
      previous = current;
    }
    t.diagnostic(`${kills} of ${TRIALS} children were killed before they finished (${killedInSave} of them after their index was saved)`);
    // A run where no child was ever killed would prove nothing: the crash-plan trials always die.
    assert.ok(kills > 0, 'at least one child was killed mid-run');
  });
  it('a crash at every file operation of one save leaves the previous or the new index', async (t) => {
    // The random trials above hit a seeded few of a save's operations; this walks all of them
    // once, so a window of a single operation (e.g. the old token file removed before the new
    // index.json is in place) is always found.
    const r = rng(SEED + 1);
    const root = fs.realpathSync(tmpDir('es-crash-ws-'));
    const indexDir = path.join(tmpDir('es-crash-ix-'), 'index');
    for (let i = 0; i < 12; i++) fs.writeFileSync(path.join(root, `file-${i}.md`), markdownFile(r, `File ${i}`));
    const expect = { root, model: encoder.fingerprint, dim: encoder.dim };
    await runChild(root, indexDir);
    const previous = workspaceState(root);
    const edits = mutate(root, r, 0);
    const current = workspaceState(root);
    const backup = `${indexDir}.backup`;
    fs.cpSync(indexDir, backup, { recursive: true });
    const rehearsal = await runChild(root, indexDir, { crash: {} });
    const ops = rehearsal.indexOps ?? 0;
    assert.ok(ops > 0, 'the rehearsal saved its index through the fs module');
    const seen: string[] = [];
    for (let at = 1; at <= ops; at++) {
      fs.rmSync(indexDir, { recursive: true });
      fs.cpSync(backup, indexDir, { recursive: true });
      const run = await runChild(root, indexDir, { crash: { at, torn: true } });
      const label = `after ${edits.join(', ')}: a crash at index-folder operation ${at} of ${ops} (writes torn halfway)`;
      assert.ok(run.killed, `${label}: the child died there`);
      const loaded = loadIndex(indexDir, expect);
      assert.ok('index' in loaded, `${label}: the saved index must still load; got: ${'reason' in loaded ? loaded.reason : ''}`);
      const onDisk = new Map(loaded.index.files.map((f) => [f.path, f.hash]));
      const which = sameState(onDisk, previous) ? 'previous' : sameState(onDisk, current) ? 'new' : 'neither';
      assert.notEqual(which, 'neither', `${label}: the index holds the previous or the new workspace state`);
      seen.push(`${at}:${which}`);
    }
    t.diagnostic(`index on disk after a crash at each operation: ${seen.join(' ')}`);
    // The next open after the last crash works and serves the current files.
    const ws = await WorkspaceSearch.open(root, { modelDir: MODEL, indexDir, encoder });
    try {
      assert.equal(ws.report.stats.files, current.size);
      const res = await ws.search(QUERIES[1], { top: 5 });
      assert.ok(res.length > 0);
      for (const x of res) assert.ok(x.end <= readText(path.join(root, x.path)).length);
    } finally {
      await ws.dispose();
    }
  });
});
