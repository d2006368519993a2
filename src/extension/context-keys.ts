// Context keys read by `when` clauses in package.json (welcome views, menus, enablement).
import * as vscode from 'vscode';
import type { IndexSummary } from './index-status';

export function setIndexContext(s: IndexSummary): void {
  void vscode.commands.executeCommand('setContext', 'evidenceSearch.state', s.kind);
  const empty = (s.kind === 'ready' || s.kind === 'stale') && s.passages === 0;
  void vscode.commands.executeCommand('setContext', 'evidenceSearch.indexEmpty', empty);
}

export function setHasResults(has: boolean): void {
  void vscode.commands.executeCommand('setContext', 'evidenceSearch.hasResults', has);
}
