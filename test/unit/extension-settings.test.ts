import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import {
  DEFAULT_SETTINGS, enabledGlobs, extractOptionsFor, indexingKey, normalizeSettings, resolveModelDir, scanOptionsFor, searchOptionsFor,
  type EvidenceSettings,
} from '../../src/extension/settings';

const from = (raw: Partial<Record<keyof EvidenceSettings, unknown>>): EvidenceSettings => normalizeSettings((k) => raw[k]);

test('normalizeSettings: defaults for missing values', () => {
  assert.deepEqual(from({}), DEFAULT_SETTINGS);
});

test('normalizeSettings: wrong types fall back, numbers are clamped and rounded', () => {
  const s = from({ include: 'docs/**', exclude: ['a', 3, ' ', ' b '], maxFileSize: 10, maxResults: 1e9, evidenceThreshold: 7, highlightStyle: 'neon', modelFolder: ' ~/m ', indexOnStartup: 'yes' });
  assert.deepEqual(s.include, []);
  assert.deepEqual(s.exclude, ['a', 'b']);
  assert.equal(s.maxFileSize, 1000);
  assert.equal(s.maxResults, 200);
  assert.equal(s.evidenceThreshold, 1);
  assert.equal(s.highlightStyle, 'background');
  assert.equal(s.modelFolder, '~/m');
  assert.equal(s.indexOnStartup, true);
  assert.equal(from({ maxResults: 7.6 }).maxResults, 8);
  assert.equal(from({ evidenceThreshold: null }).evidenceThreshold, null);
  assert.equal(from({ evidenceThreshold: Number.NaN }).evidenceThreshold, null);
  assert.equal(from({ evidenceThreshold: 0 }).evidenceThreshold, 0);
  assert.equal(from({ highlightStyle: 'underline' }).highlightStyle, 'underline');
});

test('enabledGlobs: only entries switched on; `when` clauses are not applied', () => {
  assert.deepEqual(enabledGlobs({ '**/.git': true, '**/node_modules': false, '**/*.js': { when: '$(basename).ts' }, './out/**': true, '/abs/**': true }), ['**/.git', 'out/**', 'abs/**']);
  assert.deepEqual(enabledGlobs(undefined), []);
  assert.deepEqual(enabledGlobs('**/x'), []);
});

test('scanOptionsFor: our globs plus files.exclude and search.exclude, deduplicated', () => {
  const s = from({ include: ['docs/**'], exclude: ['**/fixtures/**', '**/.git'], languages: ['ts', 'python'], maxFileSize: 5000 });
  const scan = scanOptionsFor(s, { '**/.git': true, '**/.DS_Store': true }, { '**/node_modules': true, '**/bower_components': false });
  assert.deepEqual(scan, {
    maxFileBytes: 5000,
    exclude: ['**/fixtures/**', '**/.git', '**/.DS_Store', '**/node_modules'],
    include: ['docs/**'],
    languages: ['ts', 'python'],
  });
  const off = scanOptionsFor(from({ useExcludeSettings: false }), { '**/.git': true }, { '**/node_modules': true });
  assert.deepEqual(off, { maxFileBytes: DEFAULT_SETTINGS.maxFileSize, exclude: [] });
});

test('extract and search options', () => {
  assert.deepEqual(extractOptionsFor(from({})), {});
  assert.deepEqual(extractOptionsFor(from({ languages: ['rust'] })), { languages: ['rust'] });
  assert.deepEqual(searchOptionsFor(from({})), { top: 20 });
  assert.deepEqual(searchOptionsFor(from({ maxResults: 5, evidenceThreshold: 0.3 })), { top: 5, threshold: 0.3 });
});

test('resolveModelDir: shipped model by default; ~ and relative paths from the home folder', () => {
  assert.equal(resolveModelDir('', '/ext/models/m', '/home/u'), '/ext/models/m');
  assert.equal(resolveModelDir('~', '/x', '/home/u'), '/home/u');
  assert.equal(resolveModelDir('~/models/big', '/x', '/home/u'), path.join('/home/u', 'models', 'big'));
  assert.equal(resolveModelDir('models/big', '/x', '/home/u'), path.join('/home/u', 'models', 'big'));
  assert.equal(resolveModelDir('/opt/m', '/x', '/home/u'), '/opt/m');
});

test('indexingKey: changes with what is indexed, ignores callbacks and signals', () => {
  const a = indexingKey({ exclude: ['x'], onSkip: () => {}, signal: new AbortController().signal }, {});
  assert.equal(a, indexingKey({ exclude: ['x'] }, {}));
  assert.notEqual(a, indexingKey({ exclude: ['y'] }, {}));
  assert.notEqual(a, indexingKey({ exclude: ['x'] }, { languages: ['go'] }));
});
