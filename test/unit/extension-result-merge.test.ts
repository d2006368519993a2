import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeFolderResults } from '../../src/extension/result-merge';

interface R { id: string; score: number; dense?: number; lexical?: number }

test('one folder: its own ranking, cut to top', () => {
  const a: R[] = [{ id: 'a1', score: 0.03 }, { id: 'a2', score: 0.02 }, { id: 'a3', score: 0.01 }];
  assert.deepEqual(mergeFolderResults([a, []], 2).map((r) => r.id), ['a1', 'a2']);
});

test('several folders: fused again on dense and lexical ranks across folders', () => {
  // Each folder's best result has about the same fused score; only the component scores tell
  // that b1 and b2 match the question's words and a1 and a2 do not.
  const a: R[] = [{ id: 'a1', score: 0.0328, dense: 15.1, lexical: 0 }, { id: 'a2', score: 0.016, dense: 14.0, lexical: 0 }];
  const b: R[] = [{ id: 'b1', score: 0.0328, dense: 15.0, lexical: 7.2 }, { id: 'b2', score: 0.016, dense: 13.0, lexical: 1.1 }];
  const merged = mergeFolderResults([a, b], 10);
  assert.deepEqual(merged.map((r) => r.id), ['b1', 'b2', 'a1', 'a2']);
  for (let i = 1; i < merged.length; i++) assert.ok(merged[i - 1].score >= merged[i].score);
  assert.ok(Math.abs(merged[0].score - (1 / 62 + 1 / 61)) < 1e-12);
});

test('several folders without component scores: by the folders\' scores, ties in folder order', () => {
  const a: R[] = [{ id: 'a1', score: 2 }, { id: 'a2', score: 1 }];
  const b: R[] = [{ id: 'b1', score: 2 }, { id: 'b2', score: 3 }];
  assert.deepEqual(mergeFolderResults([a, b], 3).map((r) => r.id), ['b2', 'a1', 'b1']);
});
