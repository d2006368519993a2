// Reads the `evidenceSearch.*`, `files.exclude` and `search.exclude` settings of a folder.
import * as vscode from 'vscode';
import type { FolderSpec } from './folder-indexes';
import { extractOptionsFor, normalizeSettings, scanOptionsFor, type EvidenceSettings } from './settings';

export const SECTION = 'evidenceSearch';

export function readSettings(scope?: vscode.ConfigurationScope): EvidenceSettings {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  return normalizeSettings((key) => c.get(key));
}

/** What to index in a workspace folder; undefined for folders not on disk (virtual file systems). */
export function folderSpec(folder: vscode.WorkspaceFolder): FolderSpec | undefined {
  if (folder.uri.scheme !== 'file') return undefined;
  const s = readSettings(folder.uri);
  const filesExclude = vscode.workspace.getConfiguration('files', folder.uri).get('exclude');
  const searchExclude = vscode.workspace.getConfiguration('search', folder.uri).get('exclude');
  return {
    key: folder.uri.toString(),
    name: folder.name,
    root: folder.uri.fsPath,
    scan: scanOptionsFor(s, filesExclude, searchExclude),
    extract: extractOptionsFor(s),
  };
}

/** Whether a configuration change can change what is indexed. */
export function affectsIndexing(e: vscode.ConfigurationChangeEvent): boolean {
  return ['include', 'exclude', 'useExcludeSettings', 'maxFileSize', 'languages'].some((k) => e.affectsConfiguration(`${SECTION}.${k}`))
    || e.affectsConfiguration('files.exclude') || e.affectsConfiguration('search.exclude');
}
