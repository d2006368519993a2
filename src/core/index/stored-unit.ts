// A unit loaded from a segment: its metadata as plain fields (what ranking, result lists and
// the store need), its text segments read from the segment file when asked for. At 100k passages
// the texts were most of the v2 index's resident memory (index.json parsed into objects); here a
// unit costs ~100 bytes resident, and a text is read (from the OS page cache, usually) only for
// the units whose text is used: snippets of results shown, BM25's build where a segment's stored
// terms cannot be used, and evidence where the segment holds no spans of the unit's vectors.
import type { PassageKind, TextSegment } from '../types';
import type { IndexedUnit } from './workspace-index';
import type { StoredTermsRef, TermLists } from '../search/bm25';
import { UNIT_FIELDS, type Segment } from './segment-file';

export class StoredUnit implements IndexedUnit {
  readonly start: number;
  readonly end: number;
  readonly kind: PassageKind;
  readonly language: string;
  readonly context: string;
  readonly tokenCount: number;

  constructor(
    readonly path: string,
    /** The unit's first token in the whole store (the segment's base + its first in the segment). */
    readonly tokenFirst: number,
    readonly segment: Segment,
    /** Unit number in the segment. */
    readonly local: number,
  ) {
    const t = segment.unitTable;
    const o = local * UNIT_FIELDS;
    this.start = t[o];
    this.end = t[o + 1];
    this.tokenCount = t[o + 3];
    this.kind = segment.string(t[o + 4]) as PassageKind;
    this.language = segment.string(t[o + 5]);
    this.context = segment.string(t[o + 6]);
  }

  /** Read from the segment on each access: callers that need it twice keep it. */
  get segments(): TextSegment[] {
    return this.segment.text(this.local);
  }

  /** Read from the segment on each access (undefined where none were stored). */
  get spans(): Uint8Array | undefined {
    return this.segment.spans(this.local);
  }
}

/**
 * The unit with its tokens elsewhere in the store (compaction moves them). A StoredUnit keeps its
 * text where it is; a plain unit is copied (a spread would drop a StoredUnit's `segments` getter).
 */
export function relocateUnit(u: IndexedUnit, tokenFirst: number): IndexedUnit {
  if (u.tokenFirst === tokenFirst) return u;
  if (u instanceof StoredUnit) return new StoredUnit(u.path, tokenFirst, u.segment, u.local);
  return { ...u, tokenFirst };
}

/**
 * For Bm25Index: unit d's term lists when it is a StoredUnit (each segment's lists read once, on
 * first use, and held only while BM25 is being built from them); undefined for other units, and
 * for a segment whose lists are inconsistent, whose texts BM25 then analyses.
 */
export function storedTerms(units: readonly IndexedUnit[]): (d: number) => StoredTermsRef | undefined {
  const lists = new Map<Segment, TermLists | null>();
  return (d) => {
    const u = units[d];
    if (!(u instanceof StoredUnit)) return undefined;
    let l = lists.get(u.segment);
    if (l === undefined) {
      try {
        l = u.segment.termLists();
      } catch {
        l = null; // inconsistent lists (a writer's bug, not corruption: crc32 covers that): use the texts
      }
      lists.set(u.segment, l);
    }
    return l ? { lists: l, local: u.local } : undefined;
  };
}
