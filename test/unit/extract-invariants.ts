// Shared test helper: the invariants every extracted passage must satisfy.
import assert from 'node:assert/strict';
import type { Passage } from '../../src/core/types';
import { passageText } from '../../src/core/extract/passage-text';

/** Asserts the passage/segment invariants for all passages of one file text. */
export function assertPassageInvariants(text: string, passages: readonly Passage[], label = ''): void {
  for (const [k, p] of passages.entries()) {
    const where = `${label} passage ${k} (${p.context})`;
    assert.ok(Number.isInteger(p.start) && Number.isInteger(p.end), `${where}: integer region`);
    assert.ok(0 <= p.start && p.start < p.end && p.end <= text.length, `${where}: region [${p.start}, ${p.end}) inside the text`);
    assert.ok(p.segments.length > 0, `${where}: has segments`);
    assert.ok(['markdown', 'comment'].includes(p.kind), `${where}: kind`);
    assert.equal(typeof p.context, 'string');
    let prevEnd = p.start;
    for (const [j, s] of p.segments.entries()) {
      const sw = `${where} segment ${j} ${JSON.stringify(s.text.slice(0, 40))}`;
      assert.ok(s.text.length > 0, `${sw}: non-empty`);
      assert.equal(text.slice(s.offset, s.offset + s.text.length), s.text, `${sw}: verbatim slice`);
      assert.ok(s.offset >= prevEnd, `${sw}: increasing and non-overlapping`);
      assert.ok(s.offset + s.text.length <= p.end, `${sw}: inside [start, end)`);
      assert.ok(!s.text.includes('\r'), `${sw}: no CR`);
      assert.equal(s.text, s.text.trim(), `${sw}: trimmed`);
      // never a lone surrogate at a cut
      const first = s.text.charCodeAt(0);
      const last = s.text.charCodeAt(s.text.length - 1);
      assert.ok(!(first >= 0xdc00 && first <= 0xdfff), `${sw}: starts inside a surrogate pair`);
      assert.ok(!(last >= 0xd800 && last <= 0xdbff), `${sw}: ends inside a surrogate pair`);
      prevEnd = s.offset + s.text.length;
    }
    assert.ok(/\p{L}/u.test(passageText(p).text), `${where}: has a letter`);
  }
  // Passages of one file do not overlap and come in file order.
  for (let k = 1; k < passages.length; k++) {
    assert.ok(passages[k].start >= passages[k - 1].end, `${label} passages ${k - 1} and ${k} overlap or are out of order`);
  }
}

/** Joined body text of all passages (for "contains / does not contain" checks). */
export function allText(passages: readonly Passage[]): string {
  return passages.map((p) => passageText(p).text).join('\n\n');
}
