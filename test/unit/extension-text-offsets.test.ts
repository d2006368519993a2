import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineNumberAt, lineStarts, passageShift, positionAt } from '../../src/extension/text-offsets';

test('lineStarts and positionAt: \\n, \\r\\n and a lone \\r end lines', () => {
  const text = 'a\nbc\r\nd\re';
  const starts = lineStarts(text);
  assert.deepEqual(starts, [0, 2, 6, 8]);
  assert.deepEqual(positionAt(starts, 0), { line: 0, character: 0 });
  assert.deepEqual(positionAt(starts, 3), { line: 1, character: 1 });
  assert.deepEqual(positionAt(starts, 6), { line: 2, character: 0 });
  assert.deepEqual(positionAt(starts, 9), { line: 3, character: 1 });
});

test('lineNumberAt is one-based and agrees with lineStarts', () => {
  const text = 'a\nbc\r\nd\re\n';
  const starts = lineStarts(text);
  for (let i = 0; i <= text.length; i++) assert.equal(lineNumberAt(text, i), positionAt(starts, i).line + 1, `offset ${i}`);
});

test('passageShift: same text → 0; changed passage → undefined', () => {
  const indexed = 'intro\nthe passage text\n';
  const s = indexed.indexOf('the');
  const e = indexed.indexOf('text') + 4;
  assert.equal(passageShift(indexed, indexed, s, e), 0);
  assert.equal(passageShift(indexed, 'intro\nthe passage TEXT\n', s, e), undefined);
  assert.equal(passageShift(indexed, 'intro changed\nthe passage text\n', s, e), undefined);
  assert.equal(passageShift(indexed, 'intro\nthe passage text\nmore after\n', s, e), 0, 'edits outside the passage do not matter');
  assert.equal(passageShift(indexed, 'short', s, e), undefined);
  assert.equal(passageShift(indexed, indexed, 5, 2), undefined);
});

test('passageShift: a byte-order mark kept by the index and stripped by the editor shifts by -1', () => {
  const indexed = '\uFEFF# Title\n\nBody words.\n';
  const doc = indexed.slice(1);
  const s = indexed.indexOf('Body');
  assert.equal(passageShift(indexed, doc, s, s + 5), -1);
  assert.equal(doc.slice(s - 1, s + 4), 'Body ');
  assert.equal(passageShift(indexed, doc, 0, 8), -1, 'a passage starting at the mark');
  assert.equal(passageShift(indexed, indexed, s, s + 5), 0, 'an editor that keeps the mark');
});
