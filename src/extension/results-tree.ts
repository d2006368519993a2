// The sidebar's result list: files (best result first) → results (in file order), each result a
// one-line snippet with its evidence words highlighted.
import * as vscode from 'vscode';
import type { FolderResult } from './folder-indexes';
import { presentResult, type ResultPresentation } from './result-presentation';
import { resultUri } from './result-opener';

export interface ResultNode {
  type: 'result';
  result: FolderResult;
  /** 1-based rank in the whole list. */
  rank: number;
  view: ResultPresentation;
  parent: FileNode;
}

export interface FileNode {
  type: 'file';
  key: string;
  uri: vscode.Uri;
  folderName: string;
  path: string;
  results: ResultNode[];
}

export type ResultsTreeNode = FileNode | ResultNode;

export class ResultsTree implements vscode.TreeDataProvider<ResultsTreeNode> {
  private readonly changed = new vscode.EventEmitter<ResultsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private files: FileNode[] = [];
  query = '';
  results: FolderResult[] = [];

  set(query: string, results: FolderResult[], multiRoot: boolean): void {
    this.query = query;
    this.results = results;
    const byFile = new Map<string, FileNode>();
    results.forEach((result, i) => {
      const key = `${result.folder.key}\0${result.path}`;
      let file = byFile.get(key);
      if (!file) {
        file = { type: 'file', key, uri: resultUri(result), folderName: result.folder.name, path: result.path, results: [] };
        byFile.set(key, file);
      }
      file.results.push({ type: 'result', result, rank: i + 1, view: presentResult(result, multiRoot), parent: file });
    });
    this.files = [...byFile.values()];
    for (const f of this.files) f.results.sort((a, b) => a.result.start - b.result.start);
    this.multiRoot = multiRoot;
    this.changed.fire(undefined);
  }

  clear(): void {
    this.set('', [], this.multiRoot);
  }

  get isEmpty(): boolean {
    return this.files.length === 0;
  }

  /** The first result in tree order (for tests and "open first"). */
  firstResult(): ResultNode | undefined {
    return this.files[0]?.results[0];
  }

  private multiRoot = false;

  getChildren(node?: ResultsTreeNode): ResultsTreeNode[] {
    if (!node) return this.files;
    return node.type === 'file' ? node.results : [];
  }

  getParent(node: ResultsTreeNode): ResultsTreeNode | undefined {
    return node.type === 'result' ? node.parent : undefined;
  }

  getTreeItem(node: ResultsTreeNode): vscode.TreeItem {
    if (node.type === 'file') {
      const item = new vscode.TreeItem(node.uri, vscode.TreeItemCollapsibleState.Expanded);
      item.id = node.key;
      const dir = node.path.includes('/') ? node.path.slice(0, node.path.lastIndexOf('/')) : '';
      item.description = this.multiRoot ? (dir ? `${node.folderName} • ${dir}` : node.folderName) : dir;
      item.tooltip = this.multiRoot ? `${node.folderName}/${node.path}` : node.path;
      item.contextValue = 'evidenceSearch.file';
      return item;
    }
    const { view, result } = node;
    // The line number leads the label: a long snippet is cut at the end, never the line number.
    const prefix = `${view.line}: `;
    const label: vscode.TreeItemLabel = {
      label: prefix + (view.snippet.text || view.title),
      highlights: view.snippet.highlights.map(([s, e]): [number, number] => [s + prefix.length, e + prefix.length]),
    };
    const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
    item.id = `${node.parent.key}\0${result.start}`;
    const tip = new vscode.MarkdownString();
    tip.appendText(view.title);
    tip.appendMarkdown('\n\n');
    tip.appendText(`${view.location} · ${vscode.l10n.t('result {0} of {1}, relevance {2}', node.rank, this.results.length, result.score.toFixed(4))}`);
    item.tooltip = tip;
    item.iconPath = new vscode.ThemeIcon(result.kind === 'markdown' ? 'book' : 'comment');
    item.contextValue = 'evidenceSearch.result';
    item.command = { command: 'evidenceSearch.openResult', title: vscode.l10n.t('Open Result'), arguments: [node] };
    item.accessibilityInformation = { label: vscode.l10n.t('{0}, line {1}: {2}', node.parent.path, view.line, view.snippet.text) };
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
