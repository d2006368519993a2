// Packed token spans (span-code.ts): what a segment stores of each unit's vectors' file spans.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packSpans, unpackSpans } from '../../src/core/index/span-code';
import { mulberry32 } from '../../src/core/bench/metrics';

const spans = (pairs: Array<[number, number]>): { starts: Int32Array; ends: Int32Array } => ({ starts: Int32Array.from(pairs, (p) => p[0]), ends: Int32Array.from(pairs, (p) => p[1]) });

describe('packed token spans', () => {
  it('come back as they were: leading vectors without a span, pieces of a word, gaps, shared spans, empty spans, large offsets', () => {
    const cases: Array<{ base: number; pairs: Array<[number, number]> }> = [
      { base: 0, pairs: [] },
      { base: 10, pairs: [[-1, -1], [-1, -1]] },
      { base: 10, pairs: [[-1, -1], [-1, -1], [-1, -1], [10, 13], [13, 17], [18, 22], [22, 22]] },
      // A character that gave two tokens the same span: the second starts before the first ends.
      { base: 100, pairs: [[-1, -1], [105, 106], [105, 106], [107, 300]] },
      { base: 2_000_000_000, pairs: [[2_000_000_000, 2_000_000_100], [2_100_000_000, 2_100_000_001]] },
    ];
    for (const { base, pairs } of cases) {
      const packed = packSpans(spans(pairs), base);
      assert.ok(packed, JSON.stringify(pairs));
      assert.deepEqual(unpackSpans(packed, pairs.length, base), spans(pairs), JSON.stringify(pairs));
    }
    // Random texts' spans: tokens of 1–12 characters, 0–3 characters apart, a few leading markers.
    const r = mulberry32(5);
    for (let trial = 0; trial < 200; trial++) {
      const base = Math.floor(r() * 100000);
      const pairs: Array<[number, number]> = Array.from({ length: Math.floor(r() * 4) }, () => [-1, -1]);
      for (let at = base + Math.floor(r() * 3), n = Math.floor(r() * 300); n > 0; n--) {
        const len = 1 + Math.floor(r() * 12);
        pairs.push([at, at + len]);
        at += len + Math.floor(r() * 4);
      }
      const packed = packSpans(spans(pairs), base)!;
      assert.deepEqual(unpackSpans(packed, pairs.length, base), spans(pairs));
      const body = pairs.filter(([s]) => s >= 0).length;
      assert.ok(packed.length <= 1 + 3 * body, `${packed.length} bytes for ${body} spans`);
    }
  });

  it('about 2 bytes a vector for words of text', () => {
    const text = 'The server drains open connections before it stops, then closes the listening socket.';
    const pairs: Array<[number, number]> = [[-1, -1], [-1, -1]];
    for (const m of text.matchAll(/\w+/g)) pairs.push([m.index, m.index + m[0].length]);
    assert.equal(packSpans(spans(pairs), 0)!.length, 1 + 2 * (pairs.length - 2));
  });

  it('are not packed when a vector without a span follows the body, or a span ends before it starts', () => {
    assert.equal(packSpans(spans([[-1, -1], [3, 5], [-1, -1]]), 0), undefined);
    assert.equal(packSpans(spans([[3, 5], [7, 6]]), 0), undefined);
  });

  it('do not unpack from bytes that hold fewer or more spans than the unit has vectors, or a cut varint', () => {
    const pairs: Array<[number, number]> = [[-1, -1], [4, 8], [9, 12]];
    const packed = packSpans(spans(pairs), 4)!;
    assert.ok(unpackSpans(packed, 3, 4));
    assert.equal(unpackSpans(packed, 4, 4), undefined, 'one vector more');
    assert.equal(unpackSpans(packed, 2, 4), undefined, 'one vector fewer');
    assert.equal(unpackSpans(packed.subarray(0, packed.length - 1), 3, 4), undefined, 'cut');
    assert.equal(unpackSpans(Uint8Array.from([...packed, 0]), 3, 4), undefined, 'a byte more');
    assert.equal(unpackSpans(Uint8Array.from([0, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 1, 0), undefined, 'a varint longer than 5 bytes');
    assert.equal(unpackSpans(Uint8Array.from([5]), 3, 0), undefined, 'more leading vectors than vectors');
    assert.equal(unpackSpans(Uint8Array.from([0, 3, 1]), 1, 0), undefined, 'a start before the file');
  });
});
