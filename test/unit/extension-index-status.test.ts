import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarize, type FolderState } from '../../src/extension/index-status';

const folder = (name: string, o: Partial<FolderState> = {}): FolderState => ({
  key: name, name, status: 'ready', stale: false, filesScanned: 0, files: 2, passages: 5, skipped: 0, ...o,
});

test('summarize: none, idle, indexing, error, stale, ready', () => {
  assert.deepEqual(summarize([]), { kind: 'none' });
  assert.deepEqual(summarize([folder('a', { status: 'idle' })]), { kind: 'idle', folders: 1 });
  assert.deepEqual(summarize([folder('a'), folder('b', { status: 'indexing', filesScanned: 7 })]), { kind: 'indexing', filesScanned: 7, folder: 2, folders: 2, name: 'b' });
  assert.deepEqual(summarize([folder('a', { status: 'error', error: 'no model' }), folder('b')]), { kind: 'error', message: 'no model', name: 'a', folders: 2 });
  assert.deepEqual(summarize([folder('a', { stale: true }), folder('b')]), { kind: 'stale', files: 4, passages: 10, folders: 2 });
  assert.deepEqual(summarize([folder('a'), folder('b', { passages: 0, files: 0 })]), { kind: 'ready', files: 2, passages: 5, folders: 2 });
});


test('summarize: a folder whose index could not be saved is named, ready or stale', () => {
  const unsaved = { name: 'b', message: 'ENOSPC: no space left on device' };
  assert.deepEqual(summarize([folder('a'), folder('b', { notSaved: unsaved.message })]), { kind: 'ready', files: 4, passages: 10, folders: 2, unsaved });
  assert.deepEqual(summarize([folder('a', { stale: true }), folder('b', { notSaved: unsaved.message })]), { kind: 'stale', files: 4, passages: 10, folders: 2, unsaved });
  // an error or indexing elsewhere comes first
  assert.equal(summarize([folder('a', { status: 'error', error: 'x' }), folder('b', { notSaved: unsaved.message })]).kind, 'error');
});

test('summarize: indexing n/m files when the total is known, and paused', () => {
  assert.deepEqual(summarize([folder('a', { status: 'indexing', filesScanned: 20, filesTotal: 50 })]), { kind: 'indexing', filesScanned: 20, filesTotal: 50, folder: 1, folders: 1, name: 'a' });
  // more files than the previous index had: the total is no longer honest, so only n
  assert.deepEqual(summarize([folder('a', { status: 'indexing', filesScanned: 60, filesTotal: 50 })]), { kind: 'indexing', filesScanned: 60, folder: 1, folders: 1, name: 'a' });
  assert.deepEqual(summarize([folder('a'), folder('b', { status: 'indexing', filesScanned: 3, filesTotal: 9, paused: true })]), { kind: 'indexing', filesScanned: 3, filesTotal: 9, paused: true, folder: 2, folders: 2, name: 'b' });
  // a paused flag left on a folder that is not indexing does not change its summary
  assert.deepEqual(summarize([folder('a', { paused: true })]), { kind: 'ready', files: 2, passages: 5, folders: 1 });
});
