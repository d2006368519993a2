// The index of one workspace folder: searchable units (passages, or windows of passages too long
// for the encoder) and their token vectors in one compressed store. Loaded from disk, the units
// are StoredUnits (texts read on demand) and the store reads residuals from its segment files.
import type { CountedTerms } from '../search/bm25-analysis';
import type { Passage } from '../types';
import { CompressedTokenStore } from './compressed-store';
import { emptyCodec } from './residual-codec';

/** A passage (or one window of a long passage) with its token vectors [tokenFirst, tokenFirst+tokenCount). */
export interface IndexedUnit extends Passage {
  tokenFirst: number;
  tokenCount: number;
  /** Its BM25 terms, when a build counted them for the segment that will store it (dropped once written). */
  terms?: CountedTerms;
  /**
   * The file spans of its token vectors, packed (span-code.ts): a build's units carry them until
   * their segment is written, a StoredUnit reads them from its segment. Absent: evidence
   * recovers them from the unit's text (unit-spans.ts).
   */
  readonly spans?: Uint8Array;
}

export interface IndexedFile {
  path: string;
  /** sha256 of the file's text: unchanged files are never re-encoded. */
  hash: string;
  /** Bytes and modification time when indexed: a file with both unchanged is not even read. */
  size: number;
  mtimeMs?: number;
  /** The bytes were not valid UTF-8 (decoded with U+FFFD). */
  invalidUtf8?: boolean;
  unitFirst: number;
  unitCount: number;
}

export interface WorkspaceIndex {
  /** Absolute root folder. */
  root: string;
  modelFingerprint: string;
  files: IndexedFile[];
  units: IndexedUnit[];
  store: CompressedTokenStore;
  /** Token vectors encoded with the current codec since it was trained (the retrain rule). */
  encodedSinceTraining: number;
}

export function emptyIndex(root: string, modelFingerprint: string, dim: number): WorkspaceIndex {
  return {
    root, modelFingerprint, files: [], units: [], encodedSinceTraining: 0,
    store: new CompressedTokenStore(emptyCodec(dim), new Uint16Array(0), new Uint8Array(0), []),
  };
}
