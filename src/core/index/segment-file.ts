// One immutable segment of an index (index-file.ts): the token vectors and the units (passage
// windows) of some files, written once and never changed. Layout, little-endian, sections in
// this order and the head at the end (so that the sections can be streamed out without knowing
// their sizes first):
//
//   centroid ids   uint16 × tokens       kept in memory (candidate generation scans them)
//   norms          uint8 × tokens        kept in memory (1 B: residual length code, 7 bits, and
//                                        the word-start flag, WORD_START_BIT; decoding needs it
//                                        with the ids, evidence reads the flags)
//   residuals      R × tokens            read on demand: one positional read per unit scored
//   texts          per unit, JSON [[offset, text], …] of its text segments, then its vectors'
//                  file spans packed (span-code.ts; none where a build had none), read on demand
//                  (for the results shown: snippets, and evidence)
//   terms          BM25's analysed terms (bm25-analysis.ts), read once when BM25 is first built:
//                  the segment's distinct terms (UTF-8, '\n'-separated: a term never holds one),
//                  per unit its first pair (int32 × units + 1), then per pair a term number
//                  (uint16 or uint32) and its count in the unit (uint8, uint16 or uint32) — the
//                  narrowest that fits, as the head says. A loaded index builds BM25 from these
//                  without reading or analysing any text.
//   unit table     int32 × UNIT_FIELDS × units, kept in memory
//   head           JSON: counts, string table (kinds, languages, contexts), section offsets
//   head length    uint32
//   magic          8 bytes
//
// Segments of the earlier layouts are not read: their index is rebuilt. ESSEG006 stored no
// spans (evidence recovered them from each shown unit's text: ~50 µs a unit between searches);
// ESSEG005 had 8-bit length codes and no word-start flags either; ESSEG004 stored every vector's
// file span unpacked (int32 start and uint8 length, 5 bytes a vector, beside the vectors), and
// ESSEG003 had no terms section either.
//
// The whole file's size and crc32 are in the manifest (index.json). Opening a segment checks
// both by streaming the file once through zlib's crc32 (~0.5 GB/s measured here on a loaded
// machine, from the page cache; sha256, which v2 used, is slower and v2 also parsed all texts),
// so a torn or corrupt segment is found at load, when the index can still be rebuilt, not in the
// middle of a search. A process verifies a segment file once: reopening the same index (a
// refresh, a re-open with the model loaded) reuses the verified segment while the file's inode,
// size and times are unchanged — segments are never rewritten in place.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { Passage, PassageKind, TextSegment } from '../types';
import { indexText, TermCounter, type CountedTerms } from '../search/bm25-analysis';
import type { TermLists } from '../search/bm25';

const MAGIC = Buffer.from('ESSEG007', 'latin1');
/** Magics of the earlier layouts, named in the reason a segment is refused, with what they lacked or had. */
const OLDER_MAGICS: Record<string, string> = {
  ESSEG003: 'with unpacked token spans',
  ESSEG004: 'with unpacked token spans',
  ESSEG005: 'without word-start flags',
  ESSEG006: 'without stored token spans',
};
/** start, end, tokenFirst (in the segment), tokenCount, kind, language, context (string ids), text offset, text bytes, span bytes (after the text). */
export const UNIT_FIELDS = 10;
const VERIFY_CHUNK = 1 << 20;

interface SegmentHead {
  tokens: number;
  units: number;
  residualBytes: number;
  strings: string[];
  /** Byte offset of each section in the file. */
  ids: number;
  norms: number;
  residuals: number;
  texts: number;
  unitTable: number;
  /** The terms section: offsets of its parts and their widths. */
  terms: { dict: number; dictBytes: number; words: number; starts: number; ids: number; tfs: number; pairs: number; idBytes: 2 | 4; tfBytes: 1 | 2 | 4 };
}

/** What a new segment holds: vectors in flat arrays (local token numbers) and its units. */
export interface SegmentContent {
  residualBytes: number;
  tokens: number;
  centroidIds: Uint16Array;
  norms: Uint8Array;
  residuals: Uint8Array;
  /**
   * In the order written; tokenFirst is local to the segment. `from`: where the unit is stored
   * already (compaction, a rewrite), so that its terms are copied from there, not analysed again;
   * the unit's `terms`: counted already (by the build, IndexedUnit.terms), so not analysed again;
   * its `spans`: written after its text (none where it has none).
   */
  units: Array<{ unit: Passage & { terms?: CountedTerms; readonly spans?: Uint8Array }; tokenFirst: number; tokenCount: number; from?: { segment: Segment; local: number } }>;
}

export interface SegmentRef {
  name: string;
  bytes: number;
  crc32: number;
}

const view = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** Writes and fsyncs a segment file; returns its size and checksum. */
export function writeSegment(file: string, c: SegmentContent): SegmentRef {
  const n = c.tokens;
  const fd = fs.openSync(file, 'w');
  let at = 0;
  let crc = 0;
  const write = (b: Buffer): void => {
    for (let off = 0; off < b.length; ) off += fs.writeSync(fd, b, off, b.length - off);
    crc = zlib.crc32(b, crc);
    at += b.length;
  };
  try {
    const strings: string[] = [];
    const stringIds = new Map<string, number>();
    const sid = (s: string): number => {
      let id = stringIds.get(s);
      if (id === undefined) {
        id = strings.length;
        strings.push(s);
        stringIds.set(s, id);
      }
      return id;
    };
    const R = c.residualBytes;
    const head: Omit<SegmentHead, 'terms'> & { terms?: SegmentHead['terms'] } = { tokens: n, units: c.units.length, residualBytes: R, strings, ids: 0, norms: 0, residuals: 0, texts: 0, unitTable: 0 };
    head.ids = at;
    write(view(c.centroidIds.subarray(0, n)));
    head.norms = at;
    write(view(c.norms.subarray(0, n)));
    head.residuals = at;
    write(view(c.residuals.subarray(0, n * R)));
    head.texts = at;
    const table = new Int32Array(c.units.length * UNIT_FIELDS);
    // Each unit's terms, counted from the text at hand (the same counting as BM25's in-memory build).
    const counter = new TermCounter();
    const termStarts = new Int32Array(c.units.length + 1);
    let pairIds = new Int32Array(1024);
    let pairTfs = new Int32Array(1024);
    let pairs = 0;
    let maxTf = 0;
    /** Source segments' term lists and their term numbers here (-1: not met yet). */
    const sources = new Map<Segment, { lists: TermLists; ids: Int32Array } | null>();
    const sourceOf = (g: Segment): { lists: TermLists; ids: Int32Array } | null => {
      let src = sources.get(g);
      if (src === undefined) {
        let lists: TermLists | undefined;
        try {
          lists = g.termLists();
        } catch {
          lists = undefined; // inconsistent lists: analyse the texts instead
        }
        src = lists ? { lists, ids: new Int32Array(lists.dictionary.length).fill(-1) } : null;
        sources.set(g, src);
      }
      return src;
    };
    /** Terms counted by a build (the units' `terms`), by that count's dictionary: their term numbers here (-1: not met yet). */
    const counted = new Map<readonly string[], Int32Array>();
    const addPair = (id: number, tf: number): void => {
      if (pairs === pairIds.length) {
        pairIds = grown(pairIds, 2 * pairIds.length);
        pairTfs = grown(pairTfs, 2 * pairTfs.length);
      }
      pairIds[pairs] = id;
      pairTfs[pairs++] = tf;
      if (tf > maxTf) maxTf = tf;
    };
    /** Pairs lo..hi of term lists numbered by `dictionary`, in order, renumbered into this segment's (`here`: the numbering so far, -1 where none yet). */
    const addRenumbered = (dictionary: readonly string[], here: Int32Array, ids: ArrayLike<number>, tfs: ArrayLike<number>, lo: number, hi: number): void => {
      for (let i = lo; i < hi; i++) {
        const t = ids[i];
        if (here[t] < 0) here[t] = counter.termId(dictionary[t]);
        addPair(here[t], tfs[i]);
      }
    };
    // Texts go out in ~1 MB writes: a first build's texts are never all copied at once.
    let chunk: Buffer[] = [];
    let chunkBytes = 0;
    c.units.forEach(({ unit, tokenFirst, tokenCount, from }, u) => {
      const segments = unit.segments; // read once (a StoredUnit reads it from its segment)
      const text = Buffer.from(JSON.stringify(segments.map((s) => [s.offset, s.text])));
      const spans = unit.spans; // (a StoredUnit's: read from its segment, like its text)
      const src = from && sourceOf(from.segment);
      if (src) {
        const { dictionary, start, ids, tfs } = src.lists;
        addRenumbered(dictionary, src.ids, ids, tfs, start[from.local], start[from.local + 1]);
      } else if (unit.terms) {
        // (the same pairs in the same order as counting the text here would give)
        const { dictionary, ids, tfs } = unit.terms;
        // (a build's dictionary does not grow during this synchronous write: sized once)
        let here = counted.get(dictionary);
        if (!here) counted.set(dictionary, (here = new Int32Array(dictionary.length).fill(-1)));
        addRenumbered(dictionary, here, ids, tfs, 0, ids.length);
      } else {
        counter.add(indexText(unit.context, segments));
        for (const id of counter.seen) addPair(id, counter.count(id));
      }
      termStarts[u + 1] = pairs;
      const o = u * UNIT_FIELDS;
      table[o] = unit.start;
      table[o + 1] = unit.end;
      table[o + 2] = tokenFirst;
      table[o + 3] = tokenCount;
      table[o + 4] = sid(unit.kind);
      table[o + 5] = sid(unit.language);
      table[o + 6] = sid(unit.context);
      table[o + 7] = at + chunkBytes - head.texts;
      table[o + 8] = text.length;
      table[o + 9] = spans?.length ?? 0;
      chunk.push(text);
      chunkBytes += text.length;
      if (spans) {
        chunk.push(view(spans));
        chunkBytes += spans.length;
      }
      if (chunkBytes >= VERIFY_CHUNK) {
        write(Buffer.concat(chunk));
        chunk = [];
        chunkBytes = 0;
      }
    });
    if (chunkBytes > 0) write(Buffer.concat(chunk));
    const dict = Buffer.from(counter.terms.join('\n'));
    const idBytes = counter.terms.length <= 0x10000 ? 2 : 4;
    const tfBytes = maxTf <= 0xff ? 1 : maxTf <= 0xffff ? 2 : 4;
    const terms: SegmentHead['terms'] = { dict: at, dictBytes: dict.length, words: counter.terms.length, starts: 0, ids: 0, tfs: 0, pairs, idBytes, tfBytes };
    write(dict);
    terms.starts = at;
    write(view(termStarts));
    terms.ids = at;
    write(view(idBytes === 2 ? Uint16Array.from(pairIds.subarray(0, pairs)) : Uint32Array.from(pairIds.subarray(0, pairs))));
    terms.tfs = at;
    write(view(tfBytes === 1 ? Uint8Array.from(pairTfs.subarray(0, pairs)) : tfBytes === 2 ? Uint16Array.from(pairTfs.subarray(0, pairs)) : Uint32Array.from(pairTfs.subarray(0, pairs))));
    head.terms = terms;
    head.unitTable = at;
    write(view(table));
    const headBytes = Buffer.from(JSON.stringify(head));
    const tail = Buffer.alloc(4 + MAGIC.length);
    tail.writeUInt32LE(headBytes.length, 0);
    MAGIC.copy(tail, 4);
    write(headBytes);
    write(tail);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return { name: path.basename(file), bytes: at, crc32: crc >>> 0 };
}

function grown(a: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size);
  b.set(a);
  return b;
}

/** Closes a segment's descriptor once no index refers to it any more. */
const closer = new FinalizationRegistry<number>((fd) => {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed
  }
});

/**
 * Segments verified by this process, by path, size and checksum: a reopen of the same index (a
 * refresh, the extension's next open) reuses them instead of reading every segment again.
 */
const opened = new Map<string, WeakRef<Segment>>();

/** Bytes of unit texts read at a time (see Segment.text). */
const TEXT_WINDOW = 256 * 1024;

/** An opened, verified segment: the in-memory sections, and positional reads for the rest. */
export class Segment {
  private scratch = new Uint8Array(0);
  private textWindow = Buffer.alloc(0);
  private textAt = 0;
  /** The unit whose text was read last: the next one in order reads a whole window. */
  private lastTextUnit = -2;

  private constructor(
    readonly dir: string,
    readonly ref: SegmentRef,
    private readonly fd: number,
    private readonly head: SegmentHead,
    readonly centroidIds: Uint16Array,
    readonly norms: Uint8Array,
    /** UNIT_FIELDS int32 per unit (see UNIT_FIELDS). */
    readonly unitTable: Int32Array,
    /** The file when it was verified. */
    readonly stat: fs.Stats,
    /** Largest centroid id of its vectors (-1 without any): checked against the codec's size. */
    readonly maxCentroidId: number,
  ) {}

  get tokens(): number {
    return this.head.tokens;
  }

  get units(): number {
    return this.head.units;
  }

  string(id: number): string {
    return this.head.strings[id];
  }

  /**
   * Opens and verifies a segment (size, crc32, structure); a reason instead when anything is off.
   * `residualBytes` is the codec's: a segment written for another dimension is refused.
   */
  static open(dir: string, ref: SegmentRef, residualBytes: number): Segment | { reason: string } {
    const file = path.join(dir, ref.name);
    const key = `${path.resolve(file)}:${ref.bytes}:${ref.crc32}:${residualBytes}`;
    const cached = opened.get(key)?.deref();
    if (cached) {
      // Segments are never rewritten in place (a save writes new names), so the same file —
      // same inode, size and mtime as when it was verified — needs no second pass.
      try {
        const st = fs.statSync(file);
        if (st.ino === cached.stat.ino && st.size === cached.stat.size && st.mtimeMs === cached.stat.mtimeMs && st.ctimeMs === cached.stat.ctimeMs) return cached;
      } catch {
        return { reason: `index segment ${ref.name} is missing` };
      }
    }
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return { reason: `index segment ${ref.name} is missing` };
    }
    try {
      const stat = fs.fstatSync(fd);
      const size = stat.size;
      if (size !== ref.bytes) throw new Error(`index segment ${ref.name} has ${size} bytes, not ${ref.bytes}`);
      const buf = Buffer.allocUnsafe(Math.min(VERIFY_CHUNK, size));
      let crc = 0;
      for (let off = 0; off < size; ) {
        const got = fs.readSync(fd, buf, 0, Math.min(buf.length, size - off), off);
        if (got <= 0) throw new Error(`index segment ${ref.name} could not be read`);
        crc = zlib.crc32(buf.subarray(0, got), crc);
        off += got;
      }
      if (crc >>> 0 !== ref.crc32) throw new Error(`index segment ${ref.name} fails its checksum`);
      const readAt = (pos: number, len: number): Uint8Array => {
        const out = new Uint8Array(len); // own ArrayBuffer: aligned for any typed view
        for (let off = 0; off < len; ) {
          const got = fs.readSync(fd, out, off, len - off, pos + off);
          if (got <= 0) throw new Error(`index segment ${ref.name} is truncated`);
          off += got;
        }
        return out;
      };
      const tailLen = 4 + MAGIC.length;
      if (size < tailLen) throw new Error(`index segment ${ref.name} is truncated`);
      const tail = Buffer.from(readAt(size - tailLen, tailLen));
      const magic = tail.subarray(4).toString('latin1');
      if (Object.hasOwn(OLDER_MAGICS, magic)) throw new Error(`index segment ${ref.name} has an older layout (${magic}, ${OLDER_MAGICS[magic]})`);
      if (!tail.subarray(4).equals(MAGIC)) throw new Error(`index segment ${ref.name} is not an index segment`);
      const headLen = tail.readUInt32LE(0);
      if (headLen > size - tailLen) throw new Error(`index segment ${ref.name} is truncated`);
      const head = JSON.parse(Buffer.from(readAt(size - tailLen - headLen, headLen)).toString('utf8')) as SegmentHead;
      const n = head.tokens;
      const R = head.residualBytes;
      const ok = Number.isInteger(n) && n >= 0 && Number.isInteger(head.units) && head.units >= 0 && R === residualBytes && Array.isArray(head.strings)
        && head.ids === 0 && head.norms === 2 * n && head.residuals === 3 * n && head.texts === head.residuals + R * n
        && head.unitTable >= head.texts && head.unitTable + 4 * UNIT_FIELDS * head.units === size - tailLen - headLen
        && termsLayoutOk(head);
      if (!ok) throw new Error(`index segment ${ref.name} has an inconsistent layout`);
      const ids = new Uint16Array(readAt(head.ids, 2 * n).buffer);
      const norms = readAt(head.norms, n);
      const table = new Int32Array(readAt(head.unitTable, 4 * UNIT_FIELDS * head.units).buffer);
      const textBytes = textsEnd(head) - head.texts;
      for (let u = 0; u < head.units; u++) {
        const o = u * UNIT_FIELDS;
        const bad = table[o + 2] < 0 || table[o + 3] < 0 || table[o + 2] + table[o + 3] > n || table[o] > table[o + 1]
          || [4, 5, 6].some((k) => table[o + k] < 0 || table[o + k] >= head.strings.length || typeof head.strings[table[o + k]] !== 'string')
          || table[o + 7] < 0 || table[o + 8] < 0 || table[o + 9] < 0 || table[o + 7] + table[o + 8] + table[o + 9] > textBytes;
        if (bad) throw new Error(`index segment ${ref.name} has an invalid unit record`);
      }
      let maxId = -1;
      for (let j = 0; j < n; j++) if (ids[j] > maxId) maxId = ids[j];
      const seg = new Segment(dir, ref, fd, head, ids, norms, table, stat, maxId);
      closer.register(seg, fd);
      if (opened.size >= 256) for (const [k, r] of opened) if (!r.deref()) opened.delete(k);
      opened.set(key, new WeakRef(seg));
      return seg;
    } catch (e) {
      fs.closeSync(fd);
      return { reason: e instanceof SyntaxError ? `index segment ${ref.name} has a corrupt head` : (e as Error).message };
    }
  }

  private read(pos: number, out: Uint8Array, len: number): void {
    for (let off = 0; off < len; ) {
      const got = fs.readSync(this.fd, out, off, len - off, pos + off);
      if (got <= 0) throw new Error(`index segment ${this.ref.name}: short read`);
      off += got;
    }
  }

  /**
   * Residual codes of tokens [first, first + n) (local numbers), R bytes each, in a buffer reused
   * by the next call: one positional read, served by the OS page cache once the file is warm.
   */
  residuals(first: number, n: number): Uint8Array {
    const len = n * this.head.residualBytes;
    if (this.scratch.length < len) this.scratch = new Uint8Array(Math.max(len, 2 * this.scratch.length));
    this.readResiduals(first, n, this.scratch);
    return this.scratch;
  }

  /** Residual codes of tokens [first, first + n) read straight into `out` (n · R bytes). */
  readResiduals(first: number, n: number, out: Uint8Array): void {
    const R = this.head.residualBytes;
    this.read(this.head.residuals + first * R, out, n * R);
  }

  /** A unit's text segments (unit number local to the segment). */
  text(unit: number): TextSegment[] {
    const o = unit * UNIT_FIELDS;
    const raw = JSON.parse(this.record(unit, this.unitTable[o + 7], this.unitTable[o + 8]).toString('utf8')) as Array<[number, string]>;
    return raw.map(([offset, text]) => ({ offset, text }));
  }

  /** The packed file spans of a unit's vectors (span-code.ts), a copy; undefined where none were stored. */
  spans(unit: number): Uint8Array | undefined {
    const o = unit * UNIT_FIELDS;
    const len = this.unitTable[o + 9];
    if (len === 0) return undefined;
    return Uint8Array.from(this.record(unit, this.unitTable[o + 7] + this.unitTable[o + 8], len));
  }

  /**
   * Bytes [at, at + len) of the texts section (unit `unit`'s text or spans): a view of the
   * window read that holds them (copy what is kept: the view keeps the window alive). A scan in
   * unit order (BM25's build from texts, compaction) reads through a window: one read a window
   * instead of one a unit. A lone unit (evidence of a shown result) reads its own bytes only: a
   * 256 KB window for it cost ~40 µs.
   */
  private record(unit: number, at: number, len: number): Buffer {
    if (!(at >= this.textAt && at + len <= this.textAt + this.textWindow.length)) {
      const sequential = unit === this.lastTextUnit + 1;
      const n = sequential ? Math.min(Math.max(len, TEXT_WINDOW), textsEnd(this.head) - this.head.texts - at) : len;
      const buf = Buffer.allocUnsafe(n);
      this.read(this.head.texts + at, buf, n);
      this.textWindow = buf;
      this.textAt = at;
    }
    this.lastTextUnit = unit;
    return this.textWindow.subarray(at - this.textAt, at - this.textAt + len);
  }

  /**
   * The units' BM25 term lists, read from the file (not kept: BM25 is built once per open and
   * keeps only its own arrays). The crc32 check at open covers the bytes; what is checked here is
   * that they are consistent (a writer's bug would otherwise index out of range): inconsistent
   * lists throw, and the caller analyses the texts instead.
   */
  termLists(): TermLists {
    const t = this.head.terms;
    const bytes = (pos: number, len: number): Uint8Array => {
      const out = new Uint8Array(len); // own ArrayBuffer: aligned for any typed view
      this.read(pos, out, len);
      return out;
    };
    const dictionary = t.words === 0 ? [] : Buffer.from(bytes(t.dict, t.dictBytes)).toString('utf8').split('\n');
    const start = new Int32Array(bytes(t.starts, 4 * (this.units + 1)).buffer);
    const idRaw = bytes(t.ids, t.idBytes * t.pairs).buffer;
    const ids = t.idBytes === 2 ? new Uint16Array(idRaw) : new Uint32Array(idRaw);
    const tfRaw = bytes(t.tfs, t.tfBytes * t.pairs).buffer;
    const tfs = t.tfBytes === 1 ? new Uint8Array(tfRaw) : t.tfBytes === 2 ? new Uint16Array(tfRaw) : new Uint32Array(tfRaw);
    let ok = dictionary.length === t.words && start[0] === 0 && start[this.units] === t.pairs;
    for (let u = 0; ok && u < this.units; u++) ok = start[u] <= start[u + 1];
    for (let i = 0; ok && i < t.pairs; i++) ok = ids[i] < t.words && tfs[i] > 0;
    if (!ok) throw new Error(`index segment ${this.ref.name} has inconsistent term lists`);
    return { dictionary, start, ids, tfs };
  }

  kind(unit: number): PassageKind {
    return this.string(this.unitTable[unit * UNIT_FIELDS + 4]) as PassageKind;
  }
}

/** End of the texts section: the terms section follows it. */
function textsEnd(head: SegmentHead): number {
  return head.terms.dict;
}

/** The terms section lies between the texts and the unit table, its parts in order and sized as the head says. */
function termsLayoutOk(head: SegmentHead): boolean {
  const t = head.terms;
  const int = (x: unknown): boolean => Number.isInteger(x) && (x as number) >= 0;
  return typeof t === 'object' && t !== null && [t.dict, t.dictBytes, t.words, t.starts, t.ids, t.tfs, t.pairs].every(int)
    && (t.idBytes === 2 || t.idBytes === 4) && (t.tfBytes === 1 || t.tfBytes === 2 || t.tfBytes === 4)
    && (t.idBytes === 4 || t.words <= 0x10000)
    && t.dict >= head.texts && t.starts === t.dict + t.dictBytes && t.ids === t.starts + 4 * (head.units + 1)
    && t.tfs === t.ids + t.idBytes * t.pairs && head.unitTable === t.tfs + t.tfBytes * t.pairs;
}
