// The indexer's pause gate: encoding waits while the gate is closed, completes once it opens,
// and an abort while paused ends the wait with 'indexing cancelled'. Shipped model, files in memory.
// Then the extension's FolderIndexes on top of it: pause → paused n/m status, searches served → resume.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultModelDir } from '../../src/core/engine';
import { FolderIndexes, type FolderSpec } from '../../src/extension/folder-indexes';
import { summarize } from '../../src/extension/index-status';
import { buildIndex, type SourceFile } from '../../src/core/index/indexer';
import { Encoder } from '../../src/core/model/encoder';

const files: SourceFile[] = Array.from({ length: 6 }, (_, i) => ({
  path: `docs/page-${i}.md`,
  text: `# Page ${i}\n\nThe server drains open connections before it stops, so requests are not dropped (${i}).\n\n## Caching ${i}\n\nResponses are cached for ten minutes unless the header says otherwise.\n`,
}));

function closedGate(): { gate: () => Promise<void>; open: () => void; calls: () => number } {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  let calls = 0;
  return { gate: () => (calls++, promise), open: () => open(), calls: () => calls };
}

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('buildIndex pause gate', () => {
  let encoder: Encoder;
  before(async () => {
    encoder = await Encoder.load(defaultModelDir());
  });
  after(async () => {
    await encoder.dispose();
  });

  it('waits while the gate is closed and completes after it opens', async () => {
    const g = closedGate();
    let filesDone = 0;
    let settled = false;
    const run = buildIndex('/virtual', files, encoder, undefined, {
      batchPassages: 2,
      pauseGate: g.gate,
      onProgress: (p) => (filesDone = p.filesDone),
    }).finally(() => (settled = true));
    await tick(200);
    assert.equal(settled, false, 'still waiting at the closed gate');
    assert.equal(filesDone, 0, 'no file done while paused');
    assert.ok(g.calls() >= 1);
    g.open();
    const { index, stats } = await run;
    assert.equal(stats.files, files.length);
    assert.equal(stats.filesEncoded, files.length);
    assert.ok(index.units.length >= files.length);
    assert.ok(g.calls() > files.length, 'the gate is awaited between files and before each batch');
  });

  it('an abort while paused rejects with indexing cancelled', async () => {
    const g = closedGate();
    const ac = new AbortController();
    let filesDone = 0;
    const run = buildIndex('/virtual', files, encoder, undefined, {
      batchPassages: 2,
      signal: ac.signal,
      pauseGate: g.gate,
      onProgress: (p) => (filesDone = p.filesDone),
    });
    await tick(100);
    ac.abort();
    await assert.rejects(run, /indexing cancelled/);
    assert.equal(filesDone, 0);
  });

  it('an open gate changes nothing', async () => {
    const a = await buildIndex('/virtual', files, encoder, undefined, { batchPassages: 2 });
    const b = await buildIndex('/virtual', files, encoder, undefined, { batchPassages: 2, pauseGate: () => Promise.resolve() });
    assert.deepEqual(b.index.units.map((u) => [u.path, u.start, u.end]), a.index.units.map((u) => [u.path, u.start, u.end]));
    assert.equal(b.stats.tokens, a.stats.tokens);
  });
});

describe('FolderIndexes pause/resume', () => {
  let tmp: string;
  let indexes: FolderIndexes;
  const spec = (): FolderSpec => ({ key: 'file://alpha', name: 'alpha', root: path.join(tmp, 'alpha'), scan: {}, extract: {} });
  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !cond(); i++) await tick(25);
    assert.ok(cond(), 'condition reached');
  };

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'es-pause-'));
    fs.cpSync(path.join(__dirname, '..', 'fixtures', 'vscode', 'alpha'), path.join(tmp, 'alpha'), { recursive: true });
    indexes = new FolderIndexes({ storageDir: path.join(tmp, 'storage'), modelDir: defaultModelDir(), log: () => {} });
    indexes.setFolders([spec()]);
    await indexes.index();
  });
  after(async () => {
    await indexes.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a paused refresh shows paused n/m, searches use the previous index, resume finishes it', async () => {
    const files = indexes.states()[0].files;
    assert.equal(indexes.pause(), true);
    assert.equal(indexes.pause(), false, 'already paused');
    let done = false;
    const job = indexes.index().then(() => (done = true));
    await until(() => indexes.states()[0].filesTotal !== undefined);
    const s = summarize(indexes.states());
    assert.deepEqual(s, { kind: 'indexing', filesScanned: 0, filesTotal: files, percent: 0, paused: true, folder: 1, folders: 1, name: 'alpha' });
    const r = await indexes.search('stop the server without dropping requests', { top: 1 });
    assert.equal(r[0].path, 'docs/lifecycle.md', 'the previous index answers while paused');
    await tick(100);
    assert.equal(done, false, 'the refresh waits while paused');
    assert.equal(indexes.resume(), true);
    await job;
    assert.deepEqual(indexes.states().map((x) => [x.status, x.paused, x.filesTotal]), [['ready', undefined, undefined]]);
    assert.equal(indexes.paused, false);
  });

  it('cancel while paused ends the job and the pause; the previous index stays', async () => {
    indexes.pause();
    const job = indexes.index();
    await until(() => indexes.states()[0].status === 'indexing' && indexes.states()[0].paused === true);
    indexes.cancel();
    await job;
    assert.equal(indexes.paused, false);
    assert.equal(indexes.states()[0].status, 'ready');
    const r = await indexes.search('stop the server without dropping requests', { top: 1 });
    assert.equal(r[0].path, 'docs/lifecycle.md');
  });
});
