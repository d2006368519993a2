// Freshness of WorkspaceSearch with the shipped model, on temporary copies of the fixture
// workspace: a file edited after indexing gives stale hits without highlights (never old
// offsets), or is re-indexed first; a deleted file's hits are dropped; reopening an unchanged
// folder reads no file; a cancelled refresh leaves the saved index as it was; several folders
// are searched together with a deterministic merge.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkspaceSearch, defaultModelDir } from '../../src/core/engine';
import { loadIndex } from '../../src/core/index/index-file';
import { Encoder } from '../../src/core/model/encoder';
import { MultiRootSearch } from '../../src/core/multi-root';
import { tempDirFactory } from '../temp-dirs';

const REPO = path.resolve(__dirname, '../..');
const MODEL = defaultModelDir();
const FIXTURE = path.join(REPO, 'test', 'fixtures', 'workspace');
const tmpDir = tempDirFactory('es-fresh-');

const QUESTION = 'When several routes could match the same URL, static segments win over parameters and parameters win over wildcards';
const read = (root: string, rel: string): string => new TextDecoder('utf-8', { ignoreBOM: true }).decode(fs.readFileSync(path.join(root, rel)));

function copyFixture(): string {
  const root = path.join(tmpDir(), 'ws');
  fs.cpSync(FIXTURE, root, { recursive: true });
  return root;
}

describe('WorkspaceSearch freshness', () => {
  let encoder: Encoder;
  before(async () => {
    encoder = await Encoder.load(MODEL);
  });
  after(async () => {
    await encoder.dispose();
  });

  it('a file edited after indexing: hits marked stale with no highlights; onStale refresh re-indexes and highlights the new text', async () => {
    const root = copyFixture();
    const ws = await WorkspaceSearch.open(root, { modelDir: MODEL, persist: false, encoder });
    const fresh = await ws.search(QUESTION, { top: 3 });
    assert.equal(fresh[0].path, 'docs/routing.md');
    assert.equal(fresh[0].stale, false);
    assert.ok(fresh[0].highlights.length > 0);
    const oldText = read(root, 'docs/routing.md');

    // Insert a paragraph before the passage: every indexed offset of the file is now wrong.
    const inserted = '# Routing\n\nA new introduction paragraph that shifts every offset below it by many characters.\n';
    fs.writeFileSync(path.join(root, 'docs/routing.md'), oldText.replace('# Routing\n', inserted));
    const marked = await ws.search(QUESTION, { top: 3 });
    const hit = marked.find((r) => r.path === 'docs/routing.md')!;
    assert.equal(hit.stale, true);
    assert.deepEqual(hit.highlights, [], 'no highlights at the old offsets');
    assert.ok(marked.filter((r) => r.path !== 'docs/routing.md').every((r) => !r.stale), 'other files stay fresh');

    const refreshed = await ws.search(QUESTION, { top: 3, onStale: 'refresh' });
    assert.equal(refreshed[0].path, 'docs/routing.md');
    assert.equal(refreshed[0].stale, false);
    assert.equal(refreshed[0].start, fresh[0].start + inserted.length - '# Routing\n'.length, 'the passage moved with the insertion');
    const newText = read(root, 'docs/routing.md');
    assert.equal(ws.fileText('docs/routing.md'), newText);
    assert.deepEqual(
      refreshed[0].highlights.map(([s, e]) => newText.slice(s, e)),
      fresh[0].highlights.map(([s, e]) => oldText.slice(s, e)),
      'the same words are highlighted, at their new offsets',
    );
    assert.equal(ws.report.stats.filesEncoded, 1, 'only the edited file was encoded again');
    await ws.dispose();
  });

  it('a file deleted after indexing: its hits are dropped', async () => {
    const root = copyFixture();
    const ws = await WorkspaceSearch.open(root, { modelDir: MODEL, persist: false, encoder });
    assert.equal((await ws.search(QUESTION, { top: 5 }))[0].path, 'docs/routing.md');
    fs.rmSync(path.join(root, 'docs/routing.md'));
    const after = await ws.search(QUESTION, { top: 5 });
    assert.equal(after.length, 5, 'filled up from the next results');
    assert.ok(after.every((r) => r.path !== 'docs/routing.md' && !r.stale));
    await ws.dispose();
  });

  it('reopening: unchanged files are not read; a touched file is read once and keeps its vectors', async () => {
    const root = copyFixture();
    const indexDir = path.join(tmpDir(), 'ix');
    const a = await WorkspaceSearch.open(root, { modelDir: MODEL, indexDir, encoder });
    assert.equal(a.report.stats.filesRead, 8);
    const b = await WorkspaceSearch.open(root, { modelDir: MODEL, indexDir, encoder });
    assert.deepEqual([b.report.stats.filesRead, b.report.stats.filesReused, b.report.stats.filesEncoded], [0, 8, 0]);
    const later = new Date(Date.now() + 60_000);
    fs.utimesSync(path.join(root, 'README.md'), later, later);
    const c = await WorkspaceSearch.open(root, { modelDir: MODEL, indexDir, encoder });
    assert.deepEqual([c.report.stats.filesRead, c.report.stats.filesEncoded], [1, 0]);
    const d = await WorkspaceSearch.open(root, { modelDir: MODEL, indexDir, encoder });
    assert.equal(d.report.stats.filesRead, 0, 'the new mtime was saved');
    // Results are answered from files read on demand.
    const r = await d.search(QUESTION, { top: 1 });
    assert.equal(r[0].path, 'docs/routing.md');
    assert.ok(r[0].highlights.length > 0);
    for (const ws of [a, b, c, d]) await ws.dispose();
  });

  it('a refresh cancelled mid-way leaves the saved index as it was and keeps answering from it', async () => {
    // 30 pages of 3 sections: several encoding batches, so the cancel lands between two of them.
    const root = path.join(tmpDir(), 'ws');
    fs.mkdirSync(root);
    const pageText = (i: number, note: string): string => `# Page ${i}\n\nThe server drains open connections before it stops (${i}).${note}\n\n## Caching ${i}\n\nResponses are cached for ten minutes.\n\n## Retries ${i}\n\nFailed uploads are retried three times.\n`;
    for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(root, `page-${i}.md`), pageText(i, ''));
    const indexDir = path.join(tmpDir(), 'ix');
    const ws = await WorkspaceSearch.open(root, { modelDir: MODEL, indexDir, encoder });
    const saved = fs.readFileSync(path.join(indexDir, 'index.json'), 'utf8');
    for (let i = 0; i < 30; i++) fs.writeFileSync(path.join(root, `page-${i}.md`), pageText(i, ' Edited after indexing.'));
    const ac = new AbortController();
    let abortedAt: number | undefined;
    await assert.rejects(
      ws.refresh({
        signal: ac.signal,
        onProgress: (p) => {
          if (p.tokensDone > 0 && abortedAt === undefined) {
            abortedAt = p.fraction;
            ac.abort();
          }
        },
      }),
      /indexing cancelled/,
    );
    assert.ok(abortedAt !== undefined && abortedAt < 1, `cancelled mid-way (at ${abortedAt})`);
    assert.equal(fs.readFileSync(path.join(indexDir, 'index.json'), 'utf8'), saved, 'index.json untouched');
    const loaded = loadIndex(indexDir, { root: fs.realpathSync(root), model: encoder.fingerprint, dim: encoder.dim });
    assert.ok('index' in loaded, 'the saved index still loads (its token file is intact)');
    assert.deepEqual(loaded.index.files.map((f) => f.hash), ws.index.files.map((f) => f.hash));
    // The open workspace still serves its last good index; the edited files are stale now.
    const r = await ws.search('how long are responses cached', { top: 1 });
    assert.ok(r.length === 1 && r[0].stale);
    assert.deepEqual(r[0].highlights, []);
    // A new refresh completes and saves.
    await ws.refresh();
    assert.notEqual(fs.readFileSync(path.join(indexDir, 'index.json'), 'utf8'), saved);
    assert.equal((await ws.search('how long are responses cached', { top: 1 }))[0].stale, false);
    await ws.dispose();
  });

  it('several folders searched together: hits from each, merged deterministically', async () => {
    const fixtures = path.join(REPO, 'test', 'fixtures', 'vscode');
    const open = async (name: string): Promise<{ key: string; name: string; root: string; search: WorkspaceSearch }> => ({
      key: name, name, root: path.join(fixtures, name),
      search: await WorkspaceSearch.open(path.join(fixtures, name), { modelDir: MODEL, persist: false, encoder }),
    });
    const folders = [await open('alpha'), await open('beta')];
    const multi = new MultiRootSearch(folders);
    const q = 'rotate the signing keys every ninety days';
    const one = await multi.search(q, { top: 6 });
    assert.equal(one[0].folder.name, 'beta');
    assert.equal(one[0].path, 'guide.md');
    assert.ok(one.some((r) => r.folder.name === 'alpha'), 'results from both folders');
    for (let i = 1; i < one.length; i++) assert.ok(one[i - 1].score >= one[i].score, 'merged by score');
    assert.equal(one[0].text, read(path.join(fixtures, 'beta'), 'guide.md'));
    assert.ok(one[0].highlights.every(([s, e]) => one[0].start <= s && e <= one[0].end));
    // Same question, folders in the same order: the same list, scores and all.
    const two = await new MultiRootSearch(folders).search(q, { top: 6 });
    assert.deepEqual(two.map((r) => [r.folder.key, r.path, r.start, r.score]), one.map((r) => [r.folder.key, r.path, r.start, r.score]));
    // One folder alone: its own ranking.
    const alone = await new MultiRootSearch([folders[1]]).search(q, { top: 3 });
    assert.deepEqual(alone.map((r) => [r.path, r.start]), (await folders[1].search.search(q, { top: 3 })).map((r) => [r.path, r.start]));
    for (const f of folders) await f.search.dispose();
  });
});
