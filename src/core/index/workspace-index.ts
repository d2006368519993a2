// The in-memory index of one workspace folder: searchable units (passages, or windows of
// passages too long for the encoder) and their token vectors in one TokenStore.
import type { Passage } from '../types';
import type { TokenStore } from './token-store';

/** A passage (or one window of a long passage) with its token vectors [tokenFirst, tokenFirst+tokenCount). */
export interface IndexedUnit extends Passage {
  tokenFirst: number;
  tokenCount: number;
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
  store: TokenStore;
}

export function emptyIndex(root: string, modelFingerprint: string, dim: number): WorkspaceIndex {
  return {
    root, modelFingerprint, files: [], units: [],
    store: { dim, count: 0, codes: new Int8Array(0), scales: new Float32Array(0), starts: new Int32Array(0), ends: new Int32Array(0) },
  };
}
