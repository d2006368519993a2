// FolderIndexes (the extension's per-folder index manager) under plain Node, with the shipped
// model and the fixture folders of the real-VS-Code tests (copied to a temporary folder).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultModelDir } from '../../src/core/engine';
import { CancelledError, FolderIndexes, type FolderSpec } from '../../src/extension/folder-indexes';

const fixtures = path.join(__dirname, '..', 'fixtures', 'vscode');

describe('FolderIndexes', () => {
  let tmp: string;
  let storage: string;
  let indexes: FolderIndexes;
  const logs: string[] = [];
  let changes = 0;
  const spec = (name: string, scan: FolderSpec['scan'] = {}): FolderSpec => ({ key: `file://${name}`, name, root: path.join(tmp, name), scan, extract: {} });

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'es-folder-indexes-'));
    for (const n of ['alpha', 'beta']) fs.cpSync(path.join(fixtures, n), path.join(tmp, n), { recursive: true });
    storage = path.join(tmp, 'storage');
    indexes = new FolderIndexes({ storageDir: storage, modelDir: defaultModelDir(), log: (l, m) => logs.push(`${l}: ${m}`), onDidChange: () => changes++ });
  });
  after(async () => {
    await indexes.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('builds nothing until asked; then one index per folder under the storage folder', async () => {
    assert.deepEqual(indexes.setFolders([spec('alpha'), spec('beta')]), ['file://alpha', 'file://beta']);
    assert.ok(indexes.states().every((s) => s.status === 'idle'));
    assert.ok(!fs.existsSync(storage), 'nothing written before the first use');
    await indexes.index();
    const states = indexes.states();
    assert.deepEqual(states.map((s) => [s.name, s.status, s.stale]), [['alpha', 'ready', false], ['beta', 'ready', false]]);
    assert.ok(states.every((s) => s.passages > 0 && s.files > 0));
    assert.equal(fs.readdirSync(path.join(storage, 'indexes')).length, 2);
    assert.ok(changes > 0);
    assert.ok(logs.some((l) => /model .* loaded/.test(l)));
  });

  it('searches both folders and merges their results', async () => {
    const r = await indexes.search('rotate the signing keys every ninety days', { top: 5 });
    assert.equal(r[0].folder.name, 'beta');
    assert.equal(r[0].path, 'guide.md');
    assert.equal(r[0].indexedText, fs.readFileSync(path.join(tmp, 'beta', 'guide.md'), 'utf8'));
    assert.ok(new Set(r.map((x) => x.folder.name)).size === 2);
    const a = await indexes.search('stop the server without dropping requests', { top: 3 });
    assert.equal(a[0].path, 'docs/lifecycle.md');
    assert.match(a[0].indexedText.slice(a[0].start, a[0].end), /stop the server without dropping requests/);
  });

  it('rebuilds only folders whose options changed; exclusions take effect', async () => {
    const rebuild = indexes.setFolders([spec('alpha', { exclude: ['secret/**'] }), spec('beta')]);
    assert.deepEqual(rebuild, ['file://alpha']);
    assert.equal(indexes.states()[0].stale, true, 'the old index serves until the new one is ready');
    await indexes.index(rebuild);
    const r = await indexes.search('zebra parade passphrase purple vault', { top: 10 });
    assert.ok(r.every((x) => x.path !== 'secret/notes.md'));
    assert.deepEqual(indexes.setFolders([spec('alpha', { exclude: ['secret/**'] }), spec('beta')]), []);
  });

  it('picks up saved changes on refresh (unchanged files are reused)', async () => {
    fs.writeFileSync(path.join(tmp, 'beta', 'new.md'), '# New\n\nThe quokka lantern festival starts at dusk.\n');
    indexes.markStale(['file://beta']);
    assert.equal(indexes.states()[1].stale, true);
    await indexes.index(['file://beta']);
    assert.equal(indexes.states()[1].stale, false);
    const r = await indexes.search('quokka lantern festival starts at dusk', { top: 1 });
    assert.equal(r[0].path, 'new.md');
    assert.ok(logs.some((l) => /unchanged/.test(l)));
  });

  it('a cancelled job keeps the previous index', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(indexes.index(['file://beta'], ac.signal), CancelledError);
    assert.equal(indexes.states()[1].status, 'ready');
    const r = await indexes.search('rotate the signing keys every ninety days', { top: 1 });
    assert.equal(r[0].path, 'guide.md');
  });

  it('clear() deletes the saved indexes; the next search rebuilds them', async () => {
    await indexes.clear();
    assert.ok(!fs.existsSync(path.join(storage, 'indexes')));
    assert.ok(indexes.states().every((s) => s.status === 'idle'));
    const r = await indexes.search('retries the upload with exponential backoff', { top: 1 });
    assert.equal(r[0].path, 'lib/retry.py');
    assert.ok(indexes.states().every((s) => s.status === 'ready'));
  });

  it('a missing model is an error state with the reason, not a crash', async () => {
    const broken = new FolderIndexes({ storageDir: path.join(tmp, 'storage2'), modelDir: path.join(tmp, 'no-model'), log: () => {} });
    broken.setFolders([spec('beta')]);
    await broken.index();
    const [s] = broken.states();
    assert.equal(s.status, 'error');
    assert.ok(s.error && s.error.length > 0);
    await assert.rejects(broken.search('anything'), /.+/);
    await broken.dispose();
  });

  it('after a save that failed, a change is indexed into the index in memory (the changed file alone encoded), and the save tried again', async () => {
    fs.cpSync(path.join(fixtures, 'alpha'), path.join(tmp, 'gamma'), { recursive: true });
    const storage3 = path.join(tmp, 'storage3');
    fs.mkdirSync(storage3);
    fs.writeFileSync(path.join(storage3, 'indexes'), 'in the way'); // the index folder cannot be made
    const log3: string[] = [];
    const ix = new FolderIndexes({ storageDir: storage3, modelDir: defaultModelDir(), log: (l, m) => log3.push(`${l}: ${m}`) });
    const indexed = (): number[] => {
      const m = [...log3].reverse().map((l) => /indexed (\d+) files \((\d+) unchanged, (\d+) encoded\)/.exec(l)).find((x) => x);
      assert.ok(m, log3.join('\n'));
      return m.slice(1).map(Number);
    };
    try {
      ix.setFolders([spec('gamma')]);
      await ix.index();
      const [first] = ix.states();
      assert.match(first.notSaved ?? '', /EEXIST|ENOTDIR|not a directory|file already exists/i);
      const [files, , encoded] = indexed();
      assert.equal(encoded, files, 'a first build encodes every file');

      fs.writeFileSync(path.join(tmp, 'gamma', 'docs', 'heron.md'), '# Herons\n\nThe grey heron waits motionless in the shallows at dawn.\n');
      ix.markStale(['file://gamma']);
      await ix.index(['file://gamma']);
      assert.deepEqual(indexed(), [files + 1, files, 1], 'only the new file encoded');
      assert.ok(ix.states()[0].notSaved, 'still not saved');
      assert.equal((await ix.search('grey heron waits motionless in the shallows', { top: 1 }))[0].path, 'docs/heron.md');

      // The obstacle gone, the next change is saved.
      fs.rmSync(path.join(storage3, 'indexes'));
      fs.appendFileSync(path.join(tmp, 'gamma', 'docs', 'heron.md'), '\nAt dusk it flies back to the heronry.\n');
      ix.markStale(['file://gamma']);
      await ix.index(['file://gamma']);
      assert.deepEqual(indexed(), [files + 1, files, 1]);
      assert.equal(ix.states()[0].notSaved, undefined);
      assert.equal(fs.readdirSync(path.join(storage3, 'indexes')).length, 1);
    } finally {
      await ix.dispose();
    }
  });

  it('removed folders are forgotten', async () => {
    indexes.setFolders([spec('beta')]);
    assert.deepEqual(indexes.states().map((s) => s.name), ['beta']);
    const r = await indexes.search('stop the server without dropping requests', { top: 5 });
    assert.ok(r.every((x) => x.folder.name === 'beta'));
  });
});
