// The extension inside a real extension host, on the multi-root fixture workspace
// (test/fixtures/vscode: folders alpha and beta; gamma is added during the run).
// Every question copies its words from one fixture passage: no dependence on ranking quality.
import * as assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'mocha';
import * as vscode from 'vscode';
import type { EvidenceSearchApi } from '../../../src/extension/test-api';

const EXTENSION_ID = 'evidence-search.evidence-search';
const Q_SERVER = 'stop the server without dropping requests';
const Q_CACHE = 'evicts the least recently used entry when the cache is full';
const Q_KEYS = 'rotate the signing keys every ninety days';
const Q_SECRET = 'zebra parade passphrase purple vault';
const Q_RETRY = 'retries the upload with exponential backoff';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

function folder(name: string): vscode.WorkspaceFolder {
  const f = vscode.workspace.workspaceFolders?.find((w) => w.name === name);
  assert.ok(f, `workspace folder ${name}`);
  return f;
}

let api: EvidenceSearchApi;

async function settled(): Promise<void> {
  await eventually('the indexes to settle', async () => {
    await api.whenIndexed();
    return api.states().every((s) => s.status === 'ready' && !s.stale) || undefined;
  });
}

/** Runs the real "Search…" quick pick with `question`, accepts the first result, returns its editor. */
async function searchAndAccept(question: string): Promise<vscode.TextEditor> {
  await vscode.commands.executeCommand('evidenceSearch.clearResults');
  await vscode.commands.executeCommand('evidenceSearch.search', question);
  await eventually('the quick pick to accept a result', async () => {
    await sleep(400); // past the 250 ms debounce
    if (api.sidebarQuery() !== question) await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    await sleep(100);
    return api.sidebarQuery() === question || undefined;
  }, 30_000);
  const first = api.sidebarResults()[0];
  assert.ok(first, 'the accepted quick pick lists results');
  return eventually('the result to open', () => {
    const ed = vscode.window.activeTextEditor;
    return ed && ed.document.uri.fsPath === path.join(first.folder.root, ...first.path.split('/')) ? ed : undefined;
  }, 10_000);
}

/** Reverts the active editor's unsaved edits and closes all editors; returns once no document is dirty. */
async function revertAndClose(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.files.revert');
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  // A revert still in flight could otherwise land after the next test's own edit and undo it.
  await eventually('the reverted documents to be clean', () => vscode.workspace.textDocuments.every((d) => !d.isDirty) || undefined, 10_000);
}

describe('Evidence Search in a real VS Code', () => {
  before(async () => {
    const ext = vscode.extensions.getExtension<EvidenceSearchApi>(EXTENSION_ID);
    assert.ok(ext, `extension ${EXTENSION_ID} is installed`);
    api = await ext.activate();
    assert.ok(ext.isActive);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('activates and registers its commands', async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const c of ['search', 'reindex', 'clearIndex', 'showLog', 'nextEvidence', 'previousEvidence', 'clearHighlights', 'clearResults', 'openResult', 'pauseIndexing', 'resumeIndexing']) {
      assert.ok(commands.includes(`evidenceSearch.${c}`), `evidenceSearch.${c} is registered`);
    }
  });

  it('indexes every workspace folder, outside the workspace', async () => {
    await settled();
    const states = api.states();
    assert.deepEqual(states.map((s) => s.name), ['alpha', 'beta']);
    for (const s of states) assert.ok(s.passages > 0, `${s.name} has passages`);
    for (const f of vscode.workspace.workspaceFolders ?? []) {
      assert.ok(!api.storageDir.startsWith(f.uri.fsPath + path.sep), 'indexes live outside the workspace');
    }
    const saved = fs.readdirSync(path.join(api.storageDir, 'indexes'));
    assert.equal(saved.length, 2, `one saved index per folder: ${saved.join(', ')}`);
  });

  it('finds the passage a question was copied from, with evidence inside it', async () => {
    const results = await api.search(Q_SERVER);
    const top = results[0];
    assert.ok(top, 'a result');
    assert.equal(top.folder.name, 'alpha');
    assert.equal(top.path, 'docs/lifecycle.md');
    const passage = top.indexedText.slice(top.start, top.end);
    assert.match(passage, /stop the server without dropping requests/);
    for (const [s, e] of top.highlights) assert.ok(s >= top.start - 20 && e <= top.end + 20 && e > s, 'evidence lies in the passage');
  });

  it('searches all folders of a multi-root workspace together', async () => {
    const keys = await api.search(Q_KEYS);
    assert.equal(keys[0]?.folder.name, 'beta');
    assert.equal(keys[0]?.path, 'guide.md');
    const names = new Set(keys.map((r) => r.folder.name));
    assert.ok(names.has('alpha') && names.has('beta'), `results from both folders, merged by score: ${[...names].join(', ')}`);
    for (let i = 1; i < keys.length; i++) assert.ok(keys[i - 1].score >= keys[i].score, 'sorted by score');
  });

  describe('decorations', () => {
    before(async () => {
      // Threshold 0: every word of the passage is evidence, so there are ranges to test with
      // whatever model is installed.
      await vscode.workspace.getConfiguration('evidenceSearch').update('evidenceThreshold', 0, vscode.ConfigurationTarget.Global);
    });
    after(async () => {
      await vscode.workspace.getConfiguration('evidenceSearch').update('evidenceThreshold', undefined, vscode.ConfigurationTarget.Global);
      await revertAndClose();
    });

    it('opens the picked result and decorates its evidence at the indexed offsets', async () => {
      const expected = (await api.search(Q_CACHE))[0];
      assert.equal(expected.path, 'src/lru.ts');
      const editor = await searchAndAccept(Q_CACHE);
      const doc = editor.document;
      assert.equal(path.basename(doc.uri.fsPath), 'lru.ts');
      const ranges = api.evidenceRanges(doc.uri);
      assert.deepEqual(ranges.map((r) => [...r]), expected.highlights);
      assert.ok(ranges.length >= 2, `several evidence ranges: ${JSON.stringify(ranges)}`);
      const text = doc.getText();
      for (const [s, e] of ranges) assert.equal(text.slice(s, e), expected.indexedText.slice(s, e));
      assert.ok(text.slice(ranges[0][0], ranges[ranges.length - 1][1]).includes('least recently used'));
      assert.equal(doc.offsetAt(editor.selection.active), ranges[0][0], 'the cursor is on the first evidence word');
      assert.deepEqual(api.sidebarResults()[0]?.path, expected.path, 'the sidebar lists the results');
    });

    it('steps through evidence with next / previous', async () => {
      const editor = vscode.window.activeTextEditor!;
      const ranges = api.evidenceRanges(editor.document.uri);
      await vscode.commands.executeCommand('cursorTop');
      await eventually('the cursor at the top', () => editor.selection.active.line === 0 || undefined, 5_000);
      await vscode.commands.executeCommand('evidenceSearch.nextEvidence');
      assert.equal(editor.document.offsetAt(editor.selection.start), ranges[0][0]);
      assert.equal(editor.document.offsetAt(editor.selection.end), ranges[0][1]);
      await vscode.commands.executeCommand('evidenceSearch.nextEvidence');
      assert.equal(editor.document.offsetAt(editor.selection.start), ranges[1][0]);
      await vscode.commands.executeCommand('evidenceSearch.previousEvidence');
      assert.equal(editor.document.offsetAt(editor.selection.start), ranges[0][0]);
    });

    it('drops a highlight when the text under it is edited, and shifts the others', async () => {
      const editor = vscode.window.activeTextEditor!;
      const doc = editor.document;
      const before = api.evidenceRanges(doc.uri).map((r) => [...r]);
      const textsBefore = before.map(([s, e]) => doc.getText().slice(s, e));
      const [s0, e0] = before[0];
      const inside = doc.positionAt(s0 + Math.min(2, e0 - s0 - 1));
      assert.ok(await editor.edit((b) => b.insert(inside, 'XY')));
      const after = await eventually('the edited highlight to go', () => {
        const now = api.evidenceRanges(doc.uri).map((r) => [...r]);
        return now.length === before.length - 1 ? now : undefined;
      }, 5_000);
      assert.deepEqual(after, before.slice(1).map(([s, e]) => [s + 2, e + 2]));
      const text = doc.getText();
      assert.deepEqual(after.map(([s, e]) => text.slice(s, e)), textsBefore.slice(1), 'the shifted ranges cover the same words');
    });

    it('clears highlights on command', async () => {
      const doc = vscode.window.activeTextEditor!.document;
      await vscode.commands.executeCommand('evidenceSearch.clearHighlights');
      assert.equal(api.evidenceRanges(doc.uri).length, 0);
      await revertAndClose();
    });

    it('draws nothing when the document no longer reads as indexed', async () => {
      const uri = vscode.Uri.joinPath(folder('alpha').uri, 'docs', 'lifecycle.md');
      const doc = await vscode.workspace.openTextDocument(uri);
      const editor = await vscode.window.showTextDocument(doc);
      const at = doc.getText().indexOf('stop the server');
      assert.ok(at > 0);
      assert.ok(await editor.edit((b) => b.insert(doc.positionAt(at), 'please ')));
      const opened = await searchAndAccept(Q_SERVER);
      assert.equal(opened.document.uri.toString(), uri.toString());
      await sleep(300);
      assert.match(opened.document.getText(), /please stop the server/, 'the edit is still there');
      assert.equal(api.evidenceRanges(uri).length, 0, 'no highlight on changed text');
      await revertAndClose();
    });
  });

  it('honours evidenceSearch.exclude', async () => {
    const before = await api.search(Q_SECRET);
    assert.equal(before[0]?.path, 'secret/notes.md');
    const config = vscode.workspace.getConfiguration('evidenceSearch', folder('alpha').uri);
    await config.update('exclude', ['secret/**'], vscode.ConfigurationTarget.WorkspaceFolder);
    try {
      await eventually('secret/notes.md to leave the index', async () => {
        await settled();
        const results = await api.search(Q_SECRET);
        return results.every((r) => r.path !== 'secret/notes.md') || undefined;
      });
    } finally {
      await config.update('exclude', undefined, vscode.ConfigurationTarget.WorkspaceFolder);
    }
    await eventually('secret/notes.md to come back', async () => {
      await settled();
      return (await api.search(Q_SECRET))[0]?.path === 'secret/notes.md' || undefined;
    });
  });

  it('maps files.exclude into the scan', async () => {
    const config = vscode.workspace.getConfiguration('files', folder('beta').uri);
    assert.equal((await api.search(Q_RETRY))[0]?.path, 'lib/retry.py');
    await config.update('exclude', { '**/lib': true }, vscode.ConfigurationTarget.WorkspaceFolder);
    try {
      await eventually('lib/retry.py to leave the index', async () => {
        await settled();
        return (await api.search(Q_RETRY)).every((r) => r.path !== 'lib/retry.py') || undefined;
      });
    } finally {
      await config.update('exclude', undefined, vscode.ConfigurationTarget.WorkspaceFolder);
    }
  });

  it('refreshes the index after a file is saved', async () => {
    const uri = vscode.Uri.joinPath(folder('alpha').uri, 'docs', 'festival.md');
    const edit = new vscode.WorkspaceEdit();
    edit.createFile(uri, { ignoreIfExists: true });
    edit.insert(uri, new vscode.Position(0, 0), '# Festival\n\nThe quokka lantern festival starts at dusk on the harbour.\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    const doc = await vscode.workspace.openTextDocument(uri);
    assert.ok(await doc.save());
    const hit = await eventually('the saved file to be searchable', async () => {
      await settled();
      const r = (await api.search('quokka lantern festival starts at dusk'))[0];
      return r?.path === 'docs/festival.md' ? r : undefined;
    });
    assert.equal(hit.folder.name, 'alpha');
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('pauses a refresh (status paused, searches use the previous index) and resumes it', async () => {
    await settled();
    await vscode.commands.executeCommand('evidenceSearch.pauseIndexing');
    const uri = vscode.Uri.joinPath(folder('alpha').uri, 'docs', 'paused.md');
    const edit = new vscode.WorkspaceEdit();
    edit.createFile(uri, { ignoreIfExists: true });
    edit.insert(uri, new vscode.Position(0, 0), '# Ferry\n\nThe walrus ferry timetable changes every solstice.\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    const doc = await vscode.workspace.openTextDocument(uri);
    assert.ok(await doc.save());
    try {
      await eventually('the refresh to be paused', () => api.states().some((s) => s.name === 'alpha' && s.status === 'indexing' && s.paused) || undefined, 30_000);
      assert.equal((await api.search(Q_SERVER))[0]?.path, 'docs/lifecycle.md', 'the previous index answers while paused');
    } finally {
      await vscode.commands.executeCommand('evidenceSearch.resumeIndexing');
    }
    const hit = await eventually('the resumed refresh to finish', async () => {
      await settled();
      const r = (await api.search('walrus ferry timetable changes every solstice'))[0];
      return r?.path === 'docs/paused.md' ? r : undefined;
    });
    assert.equal(hit.folder.name, 'alpha');
    assert.ok(api.states().every((s) => !s.paused));
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('indexes a folder added to the workspace, and forgets a removed one', async () => {
    const gamma = vscode.Uri.file(path.join(path.dirname(folder('alpha').uri.fsPath), 'gamma'));
    const added = new Promise<void>((resolve) => {
      const sub = vscode.workspace.onDidChangeWorkspaceFolders(() => {
        sub.dispose();
        resolve();
      });
    });
    assert.ok(vscode.workspace.updateWorkspaceFolders(vscode.workspace.workspaceFolders!.length, 0, { uri: gamma, name: 'gamma' }));
    await added;
    const hit = await eventually('gamma to be searchable', async () => {
      await settled();
      const r = (await api.search('calibrate the telescope mirrors before observing faint galaxies'))[0];
      return r?.folder.name === 'gamma' ? r : undefined;
    });
    assert.equal(hit.path, 'observing.md');
    const removed = new Promise<void>((resolve) => {
      const sub = vscode.workspace.onDidChangeWorkspaceFolders(() => {
        sub.dispose();
        resolve();
      });
    });
    assert.ok(vscode.workspace.updateWorkspaceFolders(vscode.workspace.workspaceFolders!.length - 1, 1));
    await removed;
    assert.deepEqual(api.states().map((s) => s.name), ['alpha', 'beta']);
  });

  it('clears the saved index and rebuilds it on the next search', async () => {
    await vscode.commands.executeCommand('evidenceSearch.clearIndex');
    assert.ok(!fs.existsSync(path.join(api.storageDir, 'indexes')), 'saved indexes deleted');
    assert.ok(api.states().every((s) => s.status === 'idle'));
    const results = await api.search(Q_KEYS);
    assert.equal(results[0]?.path, 'guide.md');
    await settled();
  });
});
