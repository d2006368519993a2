// The text the encoder sees for a passage body, and the map from its indices back to
// file offsets (used to turn highlighted token spans into editor ranges).

import type { Passage } from '../types';
import { lastAtOrBefore } from '../text-lines';

export interface PassageText {
  /** The segments' texts joined with '\n'. */
  text: string;
  /**
   * Maps an index into `text` (0 ≤ i ≤ text.length) to a file offset. An index inside a
   * segment maps into that segment; a joining '\n' maps to the end of the previous segment;
   * `text.length` maps to the end of the last segment. Out-of-range indices are clamped.
   */
  toFileOffset(i: number): number;
}

export function passageText(p: Pick<Passage, 'segments' | 'start'>): PassageText {
  const segs = p.segments;
  if (segs.length === 1) {
    // (most passages: evidence maps every word of a shown one)
    const { text, offset } = segs[0];
    return { text, toFileOffset: (i) => offset + (i > 0 ? Math.min(Math.floor(i), text.length) : 0) };
  }
  const text = segs.map((s) => s.text).join('\n');
  // starts[k] = index in `text` where segment k begins.
  const starts = new Array<number>(segs.length);
  let at = 0;
  for (let k = 0; k < segs.length; k++) {
    starts[k] = at;
    at += segs[k].text.length + 1;
  }
  // The segment of the index mapped last: callers map indices mostly in increasing order.
  let lo = 0;
  const toFileOffset = (i: number): number => {
    if (segs.length === 0) return p.start;
    i = Math.floor(i);
    if (!(i > 0)) return segs[0].offset; // also handles NaN
    if (i >= text.length) {
      const last = segs[segs.length - 1];
      return last.offset + last.text.length;
    }
    // the last segment whose start ≤ i
    if (!(starts[lo] <= i && (lo + 1 === segs.length || i < starts[lo + 1]))) lo = lastAtOrBefore(starts, i);
    const seg = segs[lo];
    const within = Math.min(i - starts[lo], seg.text.length); // the joining '\n' → segment end
    return seg.offset + within;
  };
  return { text, toFileOffset };
}
