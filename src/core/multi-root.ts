// Several workspace folders searched as one: one index per folder (each a WorkspaceSearch), their
// results merged deterministically by re-fusing dense and lexical ranks across folders (see
// search/result-merge.ts). Used by the extension for multi-root workspaces.
import type { IndexedUnit } from './index/workspace-index';
import type { SearchResult, WorkspaceSearch, WorkspaceSearchOptions } from './engine';
import { DEFAULT_FUSION, mergeFolderResults } from './search/result-merge';

export interface RootFolder {
  /** Stable identity (the extension uses the folder URI). */
  key: string;
  name: string;
  root: string;
}

export interface RootResult extends SearchResult {
  folder: RootFolder;
  /**
   * The text the offsets refer to: the file as read and verified against the index for a fresh
   * result; for a stale one, only the passage as indexed (its words at their indexed offsets,
   * blanks elsewhere), so a snippet can still be shown.
   */
  text: string;
}

export class MultiRootSearch {
  constructor(private readonly folders: ReadonlyArray<RootFolder & { search: WorkspaceSearch }>) {}

  async search(query: string, options: WorkspaceSearchOptions = {}): Promise<RootResult[]> {
    if (this.folders.length === 0) return [];
    const top = options.top ?? 10;
    // One folder after another: the searches share one model and run on one thread anyway.
    const lists: RootResult[][] = [];
    for (const f of this.folders) {
      const hits = await f.search.searchHits(query, { ...options, top });
      const folder = { key: f.key, name: f.name, root: f.root };
      lists.push(hits.map((h): RootResult => ({
        path: h.unit.path, start: h.unit.start, end: h.unit.end, score: h.score, dense: h.dense, lexical: h.lexical,
        highlights: h.highlights, kind: h.unit.kind, language: h.unit.language, context: h.unit.context, stale: h.stale,
        folder, text: h.stale ? passageAsIndexed(h.unit) : f.search.fileText(h.unit.path),
      })));
    }
    const fusion = this.folders[0].search.encoder.manifest.fusion ?? DEFAULT_FUSION;
    return mergeFolderResults(lists, top, fusion);
  }
}

/** A text of length unit.end with the unit's segments at their offsets and spaces elsewhere. */
export function passageAsIndexed(unit: IndexedUnit): string {
  const chars = new Array<string>(unit.end).fill(' ');
  for (const s of unit.segments) for (let i = 0; i < s.text.length && s.offset + i < unit.end; i++) chars[s.offset + i] = s.text[i];
  return chars.join('');
}
