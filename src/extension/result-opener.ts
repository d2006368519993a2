// Opens a result: the file, scrolled to the passage, cursor on the first evidence word, and the
// evidence decorated — only if the document still reads as it was indexed.
import * as vscode from 'vscode';
import type { EvidenceDecorations } from './evidence-decorations';
import type { FolderResult } from './folder-indexes';
import { passageShift } from './text-offsets';

export interface OpenContext {
  query: string;
  rank: number;
  total: number;
}

export function resultUri(r: FolderResult): vscode.Uri {
  return vscode.Uri.joinPath(vscode.Uri.file(r.folder.root), ...r.path.split('/'));
}

export async function openResult(
  r: FolderResult,
  ctx: OpenContext,
  decorations: EvidenceDecorations,
  onChangedSinceIndexed: (r: FolderResult) => void,
  options: { preserveFocus?: boolean } = {},
): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(resultUri(r));
  const lo = Math.min(r.start, ...r.highlights.map((h) => h[0]));
  const hi = Math.max(r.end, ...r.highlights.map((h) => h[1]));
  // A stale result (its file changed since indexing) has no text to compare with: never highlight.
  const shift = r.stale ? undefined : passageShift(r.indexedText, doc.getText(), lo, hi);
  if (shift === undefined) {
    decorations.clear();
    const editor = await vscode.window.showTextDocument(doc, { preview: true, preserveFocus: options.preserveFocus });
    onChangedSinceIndexed(r);
    void vscode.window.showWarningMessage(
      vscode.l10n.t('{0} changed since it was indexed, so its evidence is not highlighted. The index is being refreshed; search again in a moment.', r.path),
    );
    return editor;
  }
  const passage: [number, number] = [r.start + shift, r.end + shift];
  const evidence = r.highlights.map(([s, e]): [number, number] => [s + shift, e + shift]);
  const caret = doc.positionAt((evidence[0] ?? passage)[0]);
  const editor = await vscode.window.showTextDocument(doc, {
    preview: true,
    preserveFocus: options.preserveFocus,
    selection: new vscode.Range(caret, caret),
  });
  // Show the passage's start with the first evidence word when both fit, else the evidence.
  const top = doc.positionAt(passage[0]);
  const target = caret.line - top.line < 15 ? new vscode.Range(top, caret) : new vscode.Range(caret, caret);
  editor.revealRange(target, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  decorations.show(editor, { query: ctx.query, score: r.score, rank: ctx.rank, total: ctx.total, passage, evidence });
  return editor;
}
