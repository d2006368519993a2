// Wires the pieces together: settings and workspace folders → folder indexes → quick pick,
// sidebar, decorations, status bar. Activation only builds this; the model loads and indexing
// starts on first use (or shortly after startup when `evidenceSearch.indexOnStartup` is on).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { defaultModelDir } from '../core/engine';
import { isSupportedPath } from '../core/extract/index';
import { setHasResults, setIndexContext } from './context-keys';
import { EvidenceDecorations } from './evidence-decorations';
import { CancelledError, FolderIndexes, type FolderResult, type FolderSpec } from './folder-indexes';
import { indexingProgressText, summarize } from './index-status';
import { openResult } from './result-opener';
import { ResultsTree, type ResultNode } from './results-tree';
import { showQuickSearch } from './quick-search';
import { affectsIndexing, folderSpec, readSettings, SECTION } from './settings-reader';
import { resolveModelDir, searchOptionsFor } from './settings';
import { IndexStatusBar } from './status-bar';
import type { EvidenceSearchApi } from './test-api';

/** Pause after the last save before a folder's index is refreshed. */
const REFRESH_DELAY_MS = 1500;

export class EvidenceSearchApp implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  private readonly indexes: FolderIndexes;
  private readonly tree = new ResultsTree();
  private readonly treeView: vscode.TreeView<unknown>;
  private readonly decorations: EvidenceDecorations;
  private readonly statusBar = new IndexStatusBar('evidenceSearch.showLog');
  private readonly indexChanged = new vscode.EventEmitter<void>();
  private readonly refreshTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly storageDir: string;
  private started = false;

  constructor(context: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('Evidence Search', { log: true });
    this.storageDir = (context.storageUri ?? context.globalStorageUri).fsPath;
    const settings = readSettings();
    this.indexes = new FolderIndexes({
      storageDir: this.storageDir,
      modelDir: this.modelDir(),
      log: (level, message) => this.log[level](message),
      onDidChange: () => this.indexChanged.fire(),
      // A search met a file changed since indexing: its hits had no highlights; refresh now.
      onStaleResults: (keys) => this.started && this.scheduleRefresh(keys, 0),
    });
    this.decorations = new EvidenceDecorations(settings.highlightStyle);
    this.treeView = vscode.window.createTreeView('evidenceSearch.results', { treeDataProvider: this.tree, showCollapseAll: true });
    this.disposables.push(
      this.log, this.tree, this.treeView, this.decorations, this.statusBar, this.indexChanged,
      this.indexChanged.event(() => this.renderIndexState()),
      this.treeView.onDidChangeVisibility((e) => e.visible && this.start()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.syncFolders()),
      vscode.workspace.onDidChangeConfiguration((e) => this.onConfiguration(e)),
      vscode.workspace.onDidSaveTextDocument((d) => this.onFilesChanged([d.uri])),
      vscode.workspace.onDidCreateFiles((e) => this.onFilesChanged(e.files)),
      vscode.workspace.onDidDeleteFiles((e) => this.onFilesChanged(e.files)),
      vscode.workspace.onDidRenameFiles((e) => this.onFilesChanged(e.files.flatMap((f) => [f.oldUri, f.newUri]))),
      ...this.registerCommands(),
    );
    this.log.info(`Evidence Search activated; indexes are stored under ${this.storageDir}`);
    this.syncFolders();
    setHasResults(false);
    if (settings.indexOnStartup) {
      // After activation returns: activation itself never waits for the model or the index.
      const t = setTimeout(() => this.start(), 0);
      this.disposables.push({ dispose: () => clearTimeout(t) });
    }
  }

  api(): EvidenceSearchApi {
    return {
      whenIndexed: async () => {
        this.start();
        await this.indexes.idle();
      },
      search: (q) => this.search(q),
      states: () => this.indexes.states(),
      evidenceRanges: (uri) => this.decorations.evidence(uri),
      passageRange: (uri) => this.decorations.passage(uri),
      sidebarResults: () => [...this.tree.results],
      sidebarQuery: () => this.tree.query,
      storageDir: this.storageDir,
    };
  }

  /** First use: build or load the indexes in the background. */
  private start(): void {
    if (this.started) return;
    this.started = true;
    void this.indexes.index().catch(() => {});
  }

  private modelDir(): string {
    return resolveModelDir(readSettings().modelFolder, defaultModelDir());
  }

  private multiRoot(): boolean {
    return (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
  }

  private syncFolders(): void {
    const specs = (vscode.workspace.workspaceFolders ?? []).map(folderSpec).filter((s): s is FolderSpec => !!s);
    const rebuild = this.indexes.setFolders(specs);
    if (this.started && rebuild.length) void this.indexes.index(rebuild).catch(() => {});
    this.renderIndexState();
  }

  private onConfiguration(e: vscode.ConfigurationChangeEvent): void {
    if (!e.affectsConfiguration(SECTION) && !affectsIndexing(e)) return;
    if (e.affectsConfiguration(`${SECTION}.highlightStyle`)) this.decorations.setStyle(readSettings().highlightStyle);
    if (e.affectsConfiguration(`${SECTION}.modelFolder`) && this.indexes.setModelDir(this.modelDir())) {
      this.log.info(`model folder changed to ${this.modelDir()}; rebuilding the indexes`);
      if (this.started) void this.indexes.index().catch(() => {});
    }
    if (affectsIndexing(e)) {
      this.log.info('indexing settings changed; refreshing the indexes');
      this.syncFolders();
    }
  }

  private onFilesChanged(uris: readonly vscode.Uri[]): void {
    if (!this.started) return;
    const keys = new Set<string>();
    for (const uri of uris) {
      const folder = vscode.workspace.getWorkspaceFolder(uri);
      if (!folder || uri.scheme !== 'file') continue;
      const rel = path.relative(folder.uri.fsPath, uri.fsPath).split(path.sep).join('/');
      // A folder rename or delete has no extension: refresh for those too.
      if (isSupportedPath(rel) || !path.extname(rel)) keys.add(folder.uri.toString());
    }
    if (keys.size) this.scheduleRefresh([...keys], REFRESH_DELAY_MS);
  }

  private scheduleRefresh(keys: readonly string[], delay: number): void {
    this.indexes.markStale(keys);
    for (const key of keys) {
      clearTimeout(this.refreshTimers.get(key));
      this.refreshTimers.set(key, setTimeout(() => {
        this.refreshTimers.delete(key);
        void this.indexes.index([key]).catch(() => {});
      }, delay));
    }
  }

  private renderIndexState(): void {
    const summary = summarize(this.indexes.states());
    this.statusBar.update(summary);
    setIndexContext(summary);
    void vscode.commands.executeCommand('setContext', 'evidenceSearch.indexingPaused', this.indexes.paused);
  }

  private indexingNote(): string | undefined {
    const s = summarize(this.indexes.states());
    if (this.indexes.paused) return vscode.l10n.t('indexing is paused; results come from the previous index');
    if (s.kind === 'indexing' || s.kind === 'idle') return vscode.l10n.t('indexing the workspace; results appear when it is done');
    return undefined;
  }

  private search(query: string): Promise<FolderResult[]> {
    this.start();
    return this.indexes.search(query, searchOptionsFor(readSettings()));
  }

  private async open(result: FolderResult, query: string, rank: number, total: number, preserveFocus = false): Promise<void> {
    try {
      await openResult(result, { query, rank, total }, this.decorations, (r) => this.scheduleRefresh([r.folder.key], 0), { preserveFocus });
    } catch (e) {
      this.log.error(`cannot open ${result.path}: ${(e as Error).message}`);
      void vscode.window.showErrorMessage(vscode.l10n.t('Cannot open {0}: {1}', result.path, (e as Error).message));
    }
  }

  private showInSidebar(query: string, results: FolderResult[]): void {
    this.tree.set(query, results, this.multiRoot());
    const files = new Set(results.map((r) => `${r.folder.key}\0${r.path}`)).size;
    this.treeView.message = results.length
      ? vscode.l10n.t('{0} passages in {1} files answer “{2}”', results.length, files, query)
      : vscode.l10n.t('No passage answers “{0}”', query);
    setHasResults(results.length > 0);
  }

  private registerCommands(): vscode.Disposable[] {
    const reg = vscode.commands.registerCommand;
    return [
      reg('evidenceSearch.search', (query?: unknown) => {
        this.start();
        if (!vscode.workspace.workspaceFolders?.length) {
          void vscode.window.showInformationMessage(vscode.l10n.t('Open a folder to search its Markdown and code comments.'));
          return;
        }
        showQuickSearch({
          search: (q) => this.search(q),
          accept: async (q, results, picked, rank) => {
            this.showInSidebar(q, results);
            await this.open(picked, q, rank, results.length);
          },
          multiRoot: () => this.multiRoot(),
          indexingNote: () => this.indexingNote(),
          log: (m) => this.log.warn(m),
        }, typeof query === 'string' ? query : '');
      }),
      reg('evidenceSearch.openResult', async (node?: ResultNode) => {
        if (node?.type !== 'result') return;
        await this.open(node.result, this.tree.query, node.rank, this.tree.results.length);
      }),
      reg('evidenceSearch.reindex', () => this.reindexWithProgress()),
      reg('evidenceSearch.clearIndex', async () => {
        await this.indexes.clear();
        this.tree.clear();
        this.treeView.message = undefined;
        setHasResults(false);
        this.started = false;
        void vscode.window.showInformationMessage(vscode.l10n.t('Evidence Search: the index was cleared. It is rebuilt on the next search.'));
      }),
      reg('evidenceSearch.pauseIndexing', () => this.indexes.pause()),
      reg('evidenceSearch.resumeIndexing', () => this.indexes.resume()),
      reg('evidenceSearch.showLog', () => this.log.show(true)),
      reg('evidenceSearch.nextEvidence', () => this.decorations.step(1)),
      reg('evidenceSearch.previousEvidence', () => this.decorations.step(-1)),
      reg('evidenceSearch.clearHighlights', () => this.decorations.clear()),
      reg('evidenceSearch.clearResults', () => {
        this.tree.clear();
        this.treeView.message = undefined;
        setHasResults(false);
      }),
    ];
  }

  private async reindexWithProgress(): Promise<void> {
    this.started = true;
    if (!this.indexes.folderCount) {
      void vscode.window.showInformationMessage(vscode.l10n.t('Open a folder to search its Markdown and code comments.'));
      return;
    }
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: vscode.l10n.t('Evidence Search: indexing'), cancellable: true },
      async (progress, token) => {
        const ac = new AbortController();
        const onCancel = token.onCancellationRequested(() => {
          ac.abort();
          this.indexes.cancel();
        });
        const onChange = this.indexChanged.event(() => {
          const s = summarize(this.indexes.states());
          if (s.kind !== 'indexing') return;
          const files = s.filesTotal !== undefined ? `${s.filesScanned}/${s.filesTotal}` : `${s.filesScanned}`;
          const more = indexingProgressText(s);
          progress.report({ message: s.paused ? vscode.l10n.t('{0}: paused at {1} files', s.name, files) : `${vscode.l10n.t('{0}: {1} files', s.name, files)}${more ? ` · ${more}` : ''}` });
        });
        try {
          await this.indexes.index(undefined, ac.signal);
          const s = summarize(this.indexes.states());
          if (s.kind === 'error') void vscode.window.showErrorMessage(vscode.l10n.t('Evidence Search could not index {0}: {1}', s.name, s.message));
        } catch (e) {
          if (e instanceof CancelledError) void vscode.window.showInformationMessage(vscode.l10n.t('Evidence Search: indexing cancelled; the previous index stays in use.'));
          else throw e;
        } finally {
          onCancel.dispose();
          onChange.dispose();
        }
      },
    );
  }

  async dispose(): Promise<void> {
    for (const t of this.refreshTimers.values()) clearTimeout(t);
    this.refreshTimers.clear();
    await this.indexes.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}
