// What `activate` returns: a small handle for the integration tests (and for other extensions
// that want to search the workspace by meaning). Offsets are UTF-16 offsets into the document.
import type * as vscode from 'vscode';
import type { FolderResult } from './folder-indexes';
import type { FolderState } from './index-status';

export interface EvidenceSearchApi {
  /** Starts indexing if it has not started, and resolves when no indexing job is left. */
  whenIndexed(): Promise<void>;
  search(query: string): Promise<FolderResult[]>;
  states(): FolderState[];
  /** Evidence ranges currently drawn in a document. */
  evidenceRanges(uri: vscode.Uri): Array<readonly [number, number]>;
  passageRange(uri: vscode.Uri): readonly [number, number] | undefined;
  /** Results listed in the sidebar, best first. */
  sidebarResults(): FolderResult[];
  /** The question whose results the sidebar lists ('' when none). */
  sidebarQuery(): string;
  /** The folder under which index folders are written. */
  readonly storageDir: string;
}
