// Shared helpers of the extractors: whitespace trimming by offsets, building verbatim
// segments, and splitting a long passage body into pieces of about `maxChars`.
// Everything works on offsets into the file text, so every segment stays an exact slice.

import type { TextSegment } from '../types';

export const DEFAULT_MAX_CHARS = 1000;

/** True for the characters String.prototype.trim removes (plus nothing else). */
export function isWs(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 160) return false;
  return (
    c === 160 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

export function isLineBreak(c: number): boolean {
  return c === 10 || c === 13;
}

/** `[s, e)` of `text.slice(start, end).trim()` as file offsets (s === e when blank). */
export function trimRange(text: string, start: number, end: number): [number, number] {
  let s = start;
  let e = end;
  while (s < e && isWs(text.charCodeAt(s))) s++;
  while (e > s && isWs(text.charCodeAt(e - 1))) e--;
  return [s, e];
}

const LETTER = /\p{L}/u;
const ALNUM = /[\p{L}\p{N}]/u;

export function hasLetter(s: string): boolean {
  return LETTER.test(s);
}

export function hasAlnum(s: string): boolean {
  return ALNUM.test(s);
}

export function segmentsHaveLetter(segs: readonly TextSegment[]): boolean {
  for (const s of segs) if (LETTER.test(s.text)) return true;
  return false;
}

/** Pushes the trimmed `[start, end)` as a segment when non-empty. */
export function pushTrimmed(text: string, start: number, end: number, out: TextSegment[]): void {
  const [s, e] = trimRange(text, start, end);
  if (e > s) out.push({ text: text.slice(s, e), offset: s });
}

/**
 * Segments for a region of prose: one segment per paragraph (run of non-blank lines).
 * Lines joined by a CR or CRLF break are separate segments, so no segment contains '\r'.
 * Each segment is trimmed.
 */
export function paragraphSegments(text: string, start: number, end: number, out: TextSegment[]): void {
  let segStart = -1; // start of the current paragraph run
  let segEnd = -1; // end of its last non-blank line
  let i = start;
  while (i < end) {
    // one line: [i, eol)
    let eol = i;
    while (eol < end && !isLineBreak(text.charCodeAt(eol))) eol++;
    const [ls, le] = trimRange(text, i, eol);
    if (le > ls) {
      if (segStart < 0) segStart = ls;
      segEnd = le;
    } else if (segStart >= 0) {
      pushTrimmed(text, segStart, segEnd, out);
      segStart = -1;
    }
    if (eol >= end) break;
    const crlf = text.charCodeAt(eol) === 13;
    i = eol + (crlf && text.charCodeAt(eol + 1) === 10 ? 2 : 1);
    if (crlf && segStart >= 0) {
      pushTrimmed(text, segStart, segEnd, out);
      segStart = -1;
    }
  }
  if (segStart >= 0) pushTrimmed(text, segStart, segEnd, out);
}

// ---------------------------------------------------------------------------------------
// Splitting long bodies.

interface Atom {
  s: number;
  e: number;
  /** Index of the segment it was cut from; adjacent atoms of one segment merge back. */
  seg: number;
}

const enum Level {
  Paragraph,
  Sentence,
  Line,
  Hard,
}

/** Counts line breaks (CRLF counts once) in `[start, end)`, stopping at 2. */
function lineBreaks(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) n++;
    else if (c === 13) {
      n++;
      if (text.charCodeAt(i + 1) === 10) i++;
    }
    if (n >= 2) return n;
  }
  return n;
}

function isSentenceEnd(c: number): boolean {
  return c === 46 /* . */ || c === 33 /* ! */ || c === 63 /* ? */ || c === 0x3002 || c === 0xff01 || c === 0xff1f;
}

function isClosingPunct(c: number): boolean {
  return c === 41 /* ) */ || c === 93 /* ] */ || c === 34 /* " */ || c === 39 /* ' */ || c === 0x201d || c === 0x2019 || c === 42 /* * */ || c === 95 /* _ */;
}

export interface SplitOptions {
  /**
   * Ranges (sorted, non-overlapping) inside which a blank line is not a paragraph boundary,
   * e.g. fenced code blocks in Markdown.
   */
  noBreak?: ReadonlyArray<readonly [number, number]>;
}

/**
 * Splits a passage body (segments in file order) into pieces whose joined length is about
 * `maxChars` at most: whole paragraphs (separated by a blank line in the file) are packed
 * greedily; a paragraph too long on its own is cut at sentence ends, then at line breaks,
 * then hard at `maxChars` (preferring whitespace, never inside a surrogate pair).
 * Returns one segment list per piece; each piece's segments are verbatim, trimmed slices.
 * Linear in the body size.
 */
export function splitSegments(
  text: string,
  segments: readonly TextSegment[],
  maxChars: number,
  options: SplitOptions = {},
): TextSegment[][] {
  const max = Math.max(1, Math.floor(maxChars));
  let total = 0;
  for (const s of segments) total += s.text.length + 1;
  if (total - 1 <= max || segments.length === 0) return segments.length ? [segments.slice()] : [];

  const pieces: Atom[][] = [];
  let cur: Atom[] = [];
  let curSize = 0;

  const flush = (): void => {
    if (cur.length) pieces.push(cur);
    cur = [];
    curSize = 0;
  };
  const measure = (atoms: Atom[]): number => {
    let size = 0;
    for (let k = 0; k < atoms.length; k++) {
      const a = atoms[k];
      if (k === 0) size = a.e - a.s;
      else if (atoms[k - 1].seg === a.seg) size += a.e - atoms[k - 1].e;
      else size += 1 + a.e - a.s;
    }
    return size;
  };
  /** Characters added between the current piece's last atom and `first` in the joined text. */
  const joinCost = (first: Atom): number => {
    if (!cur.length) return 0;
    const last = cur[cur.length - 1];
    return last.seg === first.seg ? first.s - last.e : 1;
  };
  const append = (atoms: Atom[], size: number): void => {
    curSize += joinCost(atoms[0]) + size;
    for (const a of atoms) cur.push(a);
  };
  const trimAtom = (a: Atom): Atom | undefined => {
    const [s, e] = trimRange(text, a.s, a.e);
    return e > s ? { s, e, seg: a.seg } : undefined;
  };

  const sentences = (atoms: Atom[]): Atom[][] => {
    const out: Atom[][] = [];
    let unit: Atom[] = [];
    for (const a of atoms) {
      let from = a.s;
      for (let i = a.s; i < a.e; i++) {
        if (!isSentenceEnd(text.charCodeAt(i))) continue;
        let j = i + 1;
        while (j < a.e && (isSentenceEnd(text.charCodeAt(j)) || isClosingPunct(text.charCodeAt(j)))) j++;
        if (j < a.e && isWs(text.charCodeAt(j))) {
          const piece = trimAtom({ s: from, e: j, seg: a.seg });
          if (piece) unit.push(piece);
          if (unit.length) out.push(unit);
          unit = [];
          from = j;
        }
        i = j - 1;
      }
      const rest = trimAtom({ s: from, e: a.e, seg: a.seg });
      if (rest) unit.push(rest);
    }
    if (unit.length) out.push(unit);
    return out;
  };

  const lines = (atoms: Atom[]): Atom[][] => {
    const out: Atom[][] = [];
    for (const a of atoms) {
      let from = a.s;
      for (let i = a.s; i <= a.e; i++) {
        if (i === a.e || isLineBreak(text.charCodeAt(i))) {
          const piece = trimAtom({ s: from, e: i, seg: a.seg });
          if (piece) out.push([piece]);
          from = i + 1;
        }
      }
    }
    return out;
  };

  const hard = (a: Atom): Atom[] => {
    const out: Atom[] = [];
    let s = a.s;
    while (s < a.e) {
      if (a.e - s <= max) {
        out.push({ s, e: a.e, seg: a.seg });
        break;
      }
      let cut = s + max;
      // Prefer the last whitespace in the second half of the window.
      const floor = s + Math.floor(max / 2);
      let k = cut;
      while (k > floor && !isWs(text.charCodeAt(k))) k--;
      if (k > floor) cut = k;
      else {
        // Never split a surrogate pair (with maxChars 1 the pair goes whole, one over the limit).
        const hi = text.charCodeAt(cut - 1);
        if (hi >= 0xd800 && hi <= 0xdbff) cut += cut - 1 > s ? -1 : 1;
      }
      const piece = trimAtom({ s, e: cut, seg: a.seg });
      if (piece) out.push(piece);
      s = cut;
      while (s < a.e && isWs(text.charCodeAt(s))) s++;
    }
    return out;
  };

  const place = (atoms: Atom[], level: Level): void => {
    if (!atoms.length) return;
    const size = measure(atoms);
    // (A hard chunk can exceed max only by one half of a surrogate pair, when max is 1.)
    if (size <= max || level === Level.Hard) {
      if (cur.length && curSize + joinCost(atoms[0]) + size > max) flush();
      append(atoms, size);
      return;
    }
    if (level === Level.Paragraph) {
      const units = sentences(atoms);
      if (units.length > 1) for (const u of units) place(u, Level.Sentence);
      else for (const u of lines(atoms)) place(u, Level.Line);
    } else if (level === Level.Sentence) {
      for (const u of lines(atoms)) place(u, Level.Line);
    } else {
      for (const a of atoms) for (const h of hard(a)) place([h], Level.Hard);
    }
  };

  // Paragraph units.
  const noBreak = options.noBreak ?? [];
  let nb = 0;
  let unit: Atom[] = [];
  for (let k = 0; k < segments.length; k++) {
    const seg = segments[k];
    if (k > 0 && unit.length) {
      const prevEnd = segments[k - 1].offset + segments[k - 1].text.length;
      if (lineBreaks(text, prevEnd, seg.offset) >= 2) {
        while (nb < noBreak.length && noBreak[nb][1] <= prevEnd) nb++;
        const inside = nb < noBreak.length && noBreak[nb][0] <= prevEnd && seg.offset < noBreak[nb][1];
        if (!inside) {
          place(unit, Level.Paragraph);
          unit = [];
        }
      }
    }
    unit.push({ s: seg.offset, e: seg.offset + seg.text.length, seg: k });
  }
  place(unit, Level.Paragraph);
  flush();

  return pieces.map((atoms) => {
    const segs: TextSegment[] = [];
    let k = 0;
    while (k < atoms.length) {
      let j = k;
      while (j + 1 < atoms.length && atoms[j + 1].seg === atoms[k].seg) j++;
      const s = atoms[k].s;
      const e = atoms[j].e;
      segs.push({ text: text.slice(s, e), offset: s });
      k = j + 1;
    }
    return segs;
  });
}

/** The `[start, end)` region of piece `i` of `n`, given the whole passage region. */
export function pieceRegion(
  piece: readonly TextSegment[],
  i: number,
  n: number,
  regionStart: number,
  regionEnd: number,
): [number, number] {
  const first = piece[0];
  const last = piece[piece.length - 1];
  const start = i === 0 ? Math.min(regionStart, first.offset) : first.offset;
  const end = i === n - 1 ? Math.max(regionEnd, last.offset + last.text.length) : last.offset + last.text.length;
  return [start, end];
}

/** Collapses runs of whitespace to one space (for heading text used in a context). */
export function collapseWs(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
