// Indexing progress as text: the CLI's line (redrawn on a terminal, periodic otherwise) and the
// extension's status-bar suffix. Pure; the clock is injected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressPrinter } from '../../src/cli';
import type { IndexProgress } from '../../src/core/index/indexer';
import { formatEta, formatProgress } from '../../src/core/index/progress-text';
import { indexingProgressText, summarize, type FolderState } from '../../src/extension/index-status';

const p = (filesDone: number, tokensDone: number, fraction: number, etaSeconds?: number): IndexProgress =>
  ({ filesDone, filesTotal: 10, filesEncoded: filesDone, tokensDone, tokensTotal: 50_000, fraction, ...(etaSeconds !== undefined ? { etaSeconds } : {}) });

test('formatProgress and formatEta', () => {
  assert.equal(formatProgress(p(3, 12_345, 0.246, 42.4)), '3/10 files, 12k/50k tokens 24%, 42 s left');
  assert.equal(formatProgress({ filesDone: 7, filesEncoded: 2, tokensDone: 900 }), '7 files, 900 tokens');
  assert.equal(formatProgress({ ...p(10, 50_000, 1, 0), tokensTotal: 50_000 }), '10/10 files, 50k/50k tokens 100%');
  assert.equal(formatEta(0.2), '1 s');
  assert.equal(formatEta(125), '2 min 5 s');
  assert.equal(formatEta(7300), '2 h 2 min');
});

function sink(isTTY: boolean): { out: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  return { out: { isTTY, write: (s: string) => (written.push(s), true) } as unknown as NodeJS.WriteStream, written };
}

test('progressPrinter on a terminal: one line redrawn in place, at most every 100 ms, ended by the final event', () => {
  let now = 1000;
  const { out, written } = sink(true);
  const print = progressPrinter(out, () => now);
  print(p(1, 100, 0.01));
  now += 50;
  print(p(2, 200, 0.02)); // too soon: skipped
  now += 100;
  print(p(3, 300, 0.5, 9));
  now += 1;
  print(p(10, 50_000, 1, 0)); // final: always shown
  assert.equal(written.length, 4);
  assert.ok(written.slice(0, 3).every((w) => w.startsWith('\r\x1b[2K') && !w.endsWith('\n')));
  assert.match(written[1], /3\/10 files.* 50%, 9 s left$/);
  assert.match(written[2], /10\/10 files.* 100%$/);
  assert.equal(written[3], '\n');
});

test('progressPrinter elsewhere (logs, CI): a line every 5 s and the final one, never carriage returns', () => {
  let now = 0;
  const { out, written } = sink(false);
  const print = progressPrinter(out, () => now);
  for (let i = 1; i <= 9; i++) {
    now += 1500;
    print(p(i, i * 1000, i / 10));
  }
  print(p(10, 50_000, 1, 0));
  assert.equal(written.length, 3, written.join(''));
  assert.ok(written.every((w) => w.endsWith('\n') && !w.includes('\r')));
  assert.match(written[2], /100%/);
});

test('status bar: percent and time left while indexing, no time left while paused', () => {
  const state: FolderState = { key: 'a', name: 'a', status: 'indexing', stale: false, filesScanned: 4, filesTotal: 10, percent: 37, etaSeconds: 95, files: 0, passages: 0, skipped: 0 };
  const s = summarize([state]);
  assert.deepEqual(s, { kind: 'indexing', filesScanned: 4, filesTotal: 10, percent: 37, etaSeconds: 95, folder: 1, folders: 1, name: 'a' });
  assert.equal(indexingProgressText(s as Parameters<typeof indexingProgressText>[0]), '37% · 1 min 35 s left');
  const paused = summarize([{ ...state, paused: true }]);
  assert.equal(indexingProgressText(paused as Parameters<typeof indexingProgressText>[0]), '37%');
  assert.equal(indexingProgressText({}), '');
});
