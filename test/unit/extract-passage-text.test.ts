import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractPassages } from '../../src/core/extract/index';
import { passageText } from '../../src/core/extract/passage-text';
import type { Passage } from '../../src/core/types';

const mk = (segments: Array<[string, number]>): Passage => ({
  path: 'a', start: 0, end: 100, kind: 'comment', language: 'typescript', context: '',
  segments: segments.map(([text, offset]) => ({ text, offset })),
});

describe('passageText', () => {
  it('joins segments with \\n and maps indices back to file offsets', () => {
    const { text, toFileOffset } = passageText(mk([['abc', 10], ['de', 20], ['f', 30]]));
    assert.equal(text, 'abc\nde\nf');
    assert.deepEqual([0, 1, 2].map(toFileOffset), [10, 11, 12]);
    assert.equal(toFileOffset(3), 13, "the joining '\\n' maps to the end of the previous segment");
    assert.deepEqual([4, 5].map(toFileOffset), [20, 21]);
    assert.equal(toFileOffset(6), 22);
    assert.equal(toFileOffset(7), 30);
    assert.equal(toFileOffset(8), 31, 'text.length maps to the end of the last segment');
  });

  it('maps any index the same whatever was mapped before (it remembers the last segment)', () => {
    const segs: Array<[string, number]> = [['abc', 10], ['', 15], ['de', 20], ['f', 30], ['ghij', 40]];
    const text = passageText(mk(segs)).text;
    const indices = Array.from({ length: text.length + 3 }, (_, i) => i - 1).concat([2.5, Number.NaN]);
    const want = indices.map((i) => passageText(mk(segs)).toFileOffset(i)); // each from a fresh map
    for (let seed = 1; seed <= 20; seed++) {
      const order = indices.map((_, k) => k).sort((a, b) => ((a * 7919 + seed * 104729) % 97) - ((b * 7919 + seed * 104729) % 97));
      const { toFileOffset } = passageText(mk(segs));
      for (const k of order) assert.equal(toFileOffset(indices[k]), want[k], `index ${indices[k]} (order ${seed})`);
    }
    assert.deepEqual(want.slice(0, 6), [10, 10, 11, 12, 13, 15]);
  });

  it('clamps out-of-range indices and handles no segments', () => {
    const { toFileOffset } = passageText(mk([['abc', 10]]));
    assert.equal(toFileOffset(-5), 10);
    assert.equal(toFileOffset(99), 13);
    assert.equal(toFileOffset(Number.NaN), 10);
    assert.equal(toFileOffset(1.7), 11);
    const empty = passageText({ ...mk([]), start: 7 });
    assert.equal(empty.text, '');
    assert.equal(empty.toFileOffset(0), 7);
  });

  it('round-trips every character of real passages', () => {
    const file = '/**\r\n * First line of the doc.\r\n * Second line 😀.\r\n */\r\nfunction f() {}\r\n# Not md\n';
    for (const p of extractPassages('a.ts', file)) {
      const { text, toFileOffset } = passageText(p);
      for (let i = 0; i < text.length; i++) {
        if (text[i] === '\n') continue;
        assert.equal(file[toFileOffset(i)], text[i], `index ${i}`);
      }
      // a highlight [i, j) maps to a file range with the same text when inside one segment
      const i = text.indexOf('Second');
      assert.equal(file.slice(toFileOffset(i), toFileOffset(i + 'Second line'.length)), 'Second line');
    }
  });
});
