// The "Search…" quick pick: results while the user pauses typing (debounced, stale answers
// dropped), `file:line` as description, the evidence snippet as detail.
import * as vscode from 'vscode';
import { escapeCodicons } from './escape';
import type { FolderResult } from './folder-indexes';
import { LatestOnly } from './latest-only';
import { presentResult } from './result-presentation';

export const SEARCH_DEBOUNCE_MS = 250;

interface ResultItem extends vscode.QuickPickItem {
  result?: FolderResult;
  rank?: number;
}

export interface QuickSearchDeps {
  search(query: string): Promise<FolderResult[]>;
  /** The user picked a result: show the list in the sidebar and open the result. */
  accept(query: string, results: FolderResult[], picked: FolderResult, rank: number): Promise<void>;
  multiRoot(): boolean;
  /** Shown in the title while the index is being built. */
  indexingNote(): string | undefined;
  log(message: string): void;
}

export function showQuickSearch(deps: QuickSearchDeps, initialQuery = ''): vscode.QuickPick<ResultItem> {
  const qp = vscode.window.createQuickPick<ResultItem>();
  qp.title = vscode.l10n.t('Evidence Search');
  qp.placeholder = vscode.l10n.t('Ask a question about this workspace, e.g. “how do I stop the server”');
  qp.matchOnDescription = false;
  qp.matchOnDetail = false;
  let answered: { query: string; results: FolderResult[] } | undefined;

  const note = deps.indexingNote();
  if (note) qp.title = `${vscode.l10n.t('Evidence Search')} — ${note}`;

  const runner = new LatestOnly<string, FolderResult[]>(
    SEARCH_DEBOUNCE_MS,
    (q) => deps.search(q),
    (results, query) => {
      answered = { query, results };
      qp.title = vscode.l10n.t('Evidence Search');
      const multi = deps.multiRoot();
      qp.items = results.length
        ? results.map((r, i): ResultItem => {
          const v = presentResult(r, multi);
          return {
            label: `$(${r.kind === 'markdown' ? 'book' : 'comment'}) ${escapeCodicons(v.title)}`,
            description: escapeCodicons(v.location),
            detail: escapeCodicons(v.snippet.text),
            alwaysShow: true,
            result: r,
            rank: i + 1,
          };
        })
        : [{ label: vscode.l10n.t('No passage answers this question'), detail: vscode.l10n.t('Try other words, or check the Evidence Search log for skipped files.'), alwaysShow: true }];
    },
    (error) => {
      const message = (error as Error).message ?? String(error);
      deps.log(`search failed: ${message}`);
      qp.items = [{ label: `$(error) ${vscode.l10n.t('Search failed')}`, detail: escapeCodicons(message), alwaysShow: true }];
    },
    (busy) => {
      qp.busy = busy;
    },
  );

  qp.onDidChangeValue((value) => {
    if (value.trim()) runner.push(value);
    else {
      runner.cancel();
      qp.items = [];
    }
  });
  qp.onDidAccept(async () => {
    const item = qp.activeItems[0];
    if (item?.result && answered) {
      qp.hide();
      await deps.accept(answered.query, answered.results, item.result, item.rank ?? 1);
    } else if (qp.value.trim() && answered?.query !== qp.value) {
      await runner.now(qp.value);
    }
  });
  qp.onDidHide(() => {
    runner.dispose();
    qp.dispose();
  });
  qp.show();
  if (initialQuery) {
    qp.value = initialQuery;
    runner.push(initialQuery);
  }
  return qp;
}
