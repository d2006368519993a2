// The index state of each workspace folder and its one-line summary (status bar, context keys,
// welcome views). Pure.
import { formatEta } from '../core/index/progress-text';

export type FolderIndexStatus = 'idle' | 'indexing' | 'ready' | 'error';

export interface FolderState {
  key: string;
  name: string;
  status: FolderIndexStatus;
  /** Files changed since the index was built; a refresh is scheduled or running. */
  stale: boolean;
  /** While indexing: files scanned so far (from the core's progress callback). */
  filesScanned: number;
  /** While indexing: files expected in all (the previous index's count), when known. */
  filesTotal?: number;
  /** While indexing: the job is paused (Pause Indexing); searches use the previous index. */
  paused?: boolean;
  /** While indexing: whole percent of the work done (encoder tokens, estimated), never decreasing. */
  percent?: number;
  /** While indexing: seconds left at the rate so far, once something was encoded. */
  etaSeconds?: number;
  files: number;
  passages: number;
  skipped: number;
  error?: string;
  /** The index is searched from memory: it could not be saved, for this reason. */
  notSaved?: string;
}

export type IndexSummary =
  | { kind: 'none' }
  | { kind: 'idle'; folders: number }
  | { kind: 'indexing'; filesScanned: number; filesTotal?: number; percent?: number; etaSeconds?: number; paused?: true; folder: number; folders: number; name: string }
  | { kind: 'error'; message: string; name: string; folders: number }
  | { kind: 'stale'; files: number; passages: number; folders: number; unsaved?: Unsaved }
  | { kind: 'ready'; files: number; passages: number; folders: number; unsaved?: Unsaved };

/** A folder whose index could not be saved (the first such folder), and why. */
export interface Unsaved {
  name: string;
  message: string;
}

export function summarize(states: readonly FolderState[]): IndexSummary {
  const folders = states.length;
  if (folders === 0) return { kind: 'none' };
  const indexing = states.findIndex((s) => s.status === 'indexing');
  if (indexing >= 0) {
    const s = states[indexing];
    // n/m only while it is honest: more files than the previous index had means m is unknown.
    const total = s.filesTotal !== undefined && s.filesTotal >= s.filesScanned ? { filesTotal: s.filesTotal } : {};
    const percent = s.percent !== undefined ? { percent: s.percent } : {};
    const eta = s.etaSeconds !== undefined && !s.paused ? { etaSeconds: s.etaSeconds } : {};
    return {
      kind: 'indexing', filesScanned: s.filesScanned, ...total, ...percent, ...eta, ...(s.paused ? { paused: true as const } : {}),
      folder: indexing + 1, folders, name: s.name,
    };
  }
  const failed = states.find((s) => s.status === 'error');
  if (failed) return { kind: 'error', message: failed.error ?? '', name: failed.name, folders };
  if (states.some((s) => s.status === 'idle')) return { kind: 'idle', folders };
  const files = states.reduce((n, s) => n + s.files, 0);
  const passages = states.reduce((n, s) => n + s.passages, 0);
  const notSaved = states.find((s) => s.notSaved !== undefined);
  const unsaved = notSaved ? { unsaved: { name: notSaved.name, message: notSaved.notSaved! } } : {};
  if (states.some((s) => s.stale)) return { kind: 'stale', files, passages, folders, ...unsaved };
  return { kind: 'ready', files, passages, folders, ...unsaved };
}


/** "35% · about 2 min left" while indexing (empty when neither is known yet). Pure, not localised numbers. */
export function indexingProgressText(s: { percent?: number; etaSeconds?: number; paused?: true }): string {
  const parts: string[] = [];
  if (s.percent !== undefined) parts.push(`${s.percent}%`);
  if (s.etaSeconds !== undefined && !s.paused) parts.push(`${formatEta(s.etaSeconds)} left`);
  return parts.join(' · ');
}
