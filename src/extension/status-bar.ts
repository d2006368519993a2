// The status-bar item: index state (indexing n/m files with percent and time left, paused,
// ready, stale, error); a click opens the log.
import * as vscode from 'vscode';
import { indexingProgressText, type IndexSummary } from './index-status';

export class IndexStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;

  constructor(command: string) {
    this.item = vscode.window.createStatusBarItem('evidenceSearch.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = vscode.l10n.t('Evidence Search');
    this.item.command = { command, title: vscode.l10n.t('Show Log') };
  }

  update(s: IndexSummary): void {
    const item = this.item;
    item.backgroundColor = undefined;
    const click = vscode.l10n.t('Click to show the log.');
    switch (s.kind) {
      case 'none':
        item.hide();
        return;
      case 'idle':
        item.text = `$(search) ${vscode.l10n.t('Evidence')}`;
        item.tooltip = `${vscode.l10n.t('Evidence Search: not indexed yet. The index is built on the first search.')} ${click}`;
        break;
      case 'indexing': {
        const where = s.folders > 1 ? ` (${s.folder}/${s.folders})` : '';
        const count = s.filesTotal !== undefined ? `${s.filesScanned}/${s.filesTotal}` : `${s.filesScanned}`;
        const more = indexingProgressText(s);
        if (s.paused) {
          item.text = `$(debug-pause) ${vscode.l10n.t('Evidence: paused at {0} files', count)}${where}`;
          item.tooltip = `${vscode.l10n.t('Evidence Search: indexing {0} is paused; searches use the previous index. Run Resume Indexing to continue.', s.name)} ${click}`;
          item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
        } else {
          item.text = `$(sync~spin) ${vscode.l10n.t('Evidence: indexing {0} files', count)}${more ? ` · ${more}` : ''}${where}`;
          item.tooltip = `${vscode.l10n.t('Evidence Search: indexing {0}, folder {1} of {2}.', s.name, s.folder, s.folders)} ${click}`;
        }
        break;
      }
      case 'error':
        item.text = `$(error) ${vscode.l10n.t('Evidence: error')}`;
        item.tooltip = `${vscode.l10n.t('Evidence Search could not index {0}: {1}', s.name, s.message)} ${click}`;
        item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
        break;
      case 'stale':
        item.text = `$(history) ${vscode.l10n.t('Evidence: stale')}`;
        item.tooltip = `${vscode.l10n.t('Evidence Search: files changed since indexing; refreshing. {0} passages in {1} files.', s.passages, s.files)} ${click}`;
        break;
      case 'ready':
        item.text = `$(search) ${vscode.l10n.t('Evidence')}`;
        item.tooltip = `${s.folders > 1
          ? vscode.l10n.t('Evidence Search: ready. {0} passages in {1} files of {2} folders.', s.passages, s.files, s.folders)
          : vscode.l10n.t('Evidence Search: ready. {0} passages in {1} files.', s.passages, s.files)} ${click}`;
        break;
    }
    if ((s.kind === 'ready' || s.kind === 'stale') && s.unsaved) {
      // Searches work; what the user should know is that the index is not kept.
      item.text = `$(warning) ${vscode.l10n.t('Evidence: index not saved')}`;
      item.tooltip = `${vscode.l10n.t('Evidence Search could not save the index of {0}: {1}. Searches work from memory; the folder is indexed again on the next start.', s.unsaved.name, s.unsaved.message)} ${click}`;
      item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    }
    item.accessibilityInformation = { label: typeof item.tooltip === 'string' ? item.tooltip : item.text };
    item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
