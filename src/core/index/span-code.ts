// The file spans of a unit's token vectors, packed for its segment (segment-file.ts): evidence
// reads them back for the ~10 results shown instead of recovering them from the unit's text
// (unit-spans.ts), which took ~50 µs a unit between searches — most of the evidence overhead
// at 10k passages. About 2 bytes a vector, read from the segment with the unit's text, never
// kept in memory once written.
//
// Layout: varint count of leading vectors without a span (the marker and context tokens), then
// for each other vector zigzag-varint(start − the previous vector's end, the unit's start for
// the first) and varint(end − start). Pieces of one word follow each other (delta 0); the
// delta is negative only where a character gave several tokens the same span.
import type { TokenSpans } from '../model/encoder';

let scratch = new Uint8Array(4096);

/** The spans packed, relative to `base` (the unit's start); undefined when they cannot be (a vector without a span after the body began, an end before its start). */
export function packSpans(spans: TokenSpans, base: number): Uint8Array | undefined {
  const { starts, ends } = spans;
  const n = starts.length;
  let lead = 0;
  while (lead < n && starts[lead] < 0) lead++;
  // Written into a buffer kept from call to call (at most 5 + 10 bytes a vector), then copied
  // out at its size: the indexing thread packs every unit's spans, and typed arrays made there
  // set off full collections (indexer.ts).
  if (scratch.length < 5 + 10 * (n - lead)) scratch = new Uint8Array(Math.max(5 + 10 * (n - lead), 2 * scratch.length));
  const out = scratch;
  let at = putVarint(out, 0, lead);
  let prev = base;
  for (let t = lead; t < n; t++) {
    const s = starts[t];
    const e = ends[t];
    if (s < 0 || e < s) return undefined;
    const d = s - prev;
    at = putVarint(out, at, d >= 0 ? 2 * d : -2 * d - 1);
    at = putVarint(out, at, e - s);
    prev = e;
  }
  return out.slice(0, at);
}

/** The spans of `count` vectors from packSpans's bytes (relative to the same `base`); undefined when the bytes do not hold exactly that many. */
export function unpackSpans(bytes: Uint8Array, count: number, base: number): TokenSpans | undefined {
  const starts = new Int32Array(count);
  const ends = new Int32Array(count);
  const r = { at: 0 };
  const lead = getVarint(bytes, r);
  if (lead < 0 || lead > count) return undefined;
  starts.fill(-1, 0, lead);
  ends.fill(-1, 0, lead);
  let prev = base;
  for (let t = lead; t < count; t++) {
    const z = getVarint(bytes, r);
    const len = z < 0 ? -1 : getVarint(bytes, r);
    if (len < 0) return undefined;
    const s = prev + (z % 2 === 0 ? z / 2 : -(z + 1) / 2);
    if (s < 0) return undefined;
    starts[t] = s;
    ends[t] = prev = s + len;
  }
  return r.at === bytes.length ? { starts, ends } : undefined;
}

function putVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[at++] = v;
  return at;
}

/** The next varint (at most 5 bytes, below 2^32), or -1 past the end or when too long. */
function getVarint(b: Uint8Array, r: { at: number }): number {
  let v = 0;
  let scale = 1;
  for (let k = 0; k < 5; k++) {
    if (r.at >= b.length) return -1;
    const byte = b[r.at++];
    v += (byte & 0x7f) * scale;
    if (byte < 0x80) return v;
    scale *= 128;
  }
  return -1;
}
