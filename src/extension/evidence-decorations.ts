// Draws a result's evidence words (and a faint band over its passage) in text editors, keeps the
// ranges valid while the document is edited, and steps through them. One result is shown at a
// time: showing another clears the previous one.
import * as vscode from 'vscode';
import { rangesAfterChanges, stepRange, type OffsetChange, type OffsetRange } from './evidence-ranges';
import type { HighlightStyle } from './settings';

export interface EvidenceMarks {
  query: string;
  score: number;
  /** 1-based rank of the result in its list, and the list's length. */
  rank: number;
  total: number;
  passage: OffsetRange | undefined;
  evidence: OffsetRange[];
}

const HAS_EVIDENCE_KEY = 'evidenceSearch.editorHasEvidence';

function evidenceTypeOptions(style: HighlightStyle): vscode.DecorationRenderOptions {
  const common: vscode.DecorationRenderOptions = {
    fontWeight: 'bold',
    overviewRulerColor: new vscode.ThemeColor('evidenceSearch.evidenceOverviewRuler'),
    overviewRulerLane: vscode.OverviewRulerLane.Center,
    rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
  };
  switch (style) {
    case 'border':
      return { ...common, border: '1px solid', borderColor: new vscode.ThemeColor('evidenceSearch.evidenceBorder'), borderRadius: '2px' };
    case 'underline':
      return { ...common, textDecoration: 'underline solid 2px var(--vscode-evidenceSearch-evidenceBorder)' };
    default:
      return {
        ...common,
        backgroundColor: new vscode.ThemeColor('evidenceSearch.evidenceBackground'),
        border: '1px solid',
        borderColor: new vscode.ThemeColor('evidenceSearch.evidenceBackground'),
        borderRadius: '2px',
      };
  }
}

export class EvidenceDecorations implements vscode.Disposable {
  private evidenceType: vscode.TextEditorDecorationType;
  private readonly passageType: vscode.TextEditorDecorationType;
  private current: { uri: string; marks: EvidenceMarks } | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private style: HighlightStyle) {
    this.evidenceType = vscode.window.createTextEditorDecorationType(evidenceTypeOptions(style));
    this.passageType = vscode.window.createTextEditorDecorationType({
      isWholeLine: true,
      backgroundColor: new vscode.ThemeColor('evidenceSearch.passageBackground'),
    });
    this.disposables.push(
      vscode.workspace.onDidChangeTextDocument((e) => this.onEdit(e)),
      vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((ed) => this.draw(ed))),
      vscode.window.onDidChangeActiveTextEditor(() => this.updateContextKey()),
      // A closed document may change on disk before it is opened again: forget its ranges.
      vscode.workspace.onDidCloseTextDocument((d) => {
        if (this.current?.uri === d.uri.toString()) this.clear();
      }),
    );
  }

  setStyle(style: HighlightStyle): void {
    if (style === this.style) return;
    this.style = style;
    this.evidenceType.dispose();
    this.evidenceType = vscode.window.createTextEditorDecorationType(evidenceTypeOptions(style));
    vscode.window.visibleTextEditors.forEach((ed) => this.draw(ed));
  }

  /** Shows `marks` in `editor`'s document (and clears any other result). */
  show(editor: vscode.TextEditor, marks: EvidenceMarks): void {
    this.clear();
    this.current = { uri: editor.document.uri.toString(), marks };
    for (const ed of vscode.window.visibleTextEditors) this.draw(ed);
    this.updateContextKey();
  }

  clear(): void {
    const had = this.current;
    this.current = undefined;
    if (had) for (const ed of vscode.window.visibleTextEditors) if (ed.document.uri.toString() === had.uri) this.erase(ed);
    this.updateContextKey();
  }

  /** The evidence ranges (offsets) shown in a document now. */
  evidence(uri: vscode.Uri): OffsetRange[] {
    return this.current?.uri === uri.toString() ? [...this.current.marks.evidence] : [];
  }

  passage(uri: vscode.Uri): OffsetRange | undefined {
    return this.current?.uri === uri.toString() ? this.current.marks.passage : undefined;
  }

  /** Moves the selection to the next (1) or previous (-1) evidence range of the active editor. */
  step(direction: 1 | -1): boolean {
    const editor = vscode.window.activeTextEditor;
    if (!editor) return false;
    const ranges = this.evidence(editor.document.uri);
    // From the selection's start: a selected evidence range counts as the current one.
    const at = editor.document.offsetAt(editor.selection.start);
    const i = stepRange(ranges, at, direction);
    if (i < 0) return false;
    const r = this.toRange(editor.document, ranges[i]);
    editor.selection = new vscode.Selection(r.start, r.end);
    editor.revealRange(r, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    return true;
  }

  dispose(): void {
    this.clear();
    this.evidenceType.dispose();
    this.passageType.dispose();
    this.disposables.forEach((d) => d.dispose());
  }

  private toRange(doc: vscode.TextDocument, [s, e]: OffsetRange): vscode.Range {
    return new vscode.Range(doc.positionAt(s), doc.positionAt(e));
  }

  private draw(editor: vscode.TextEditor): void {
    const cur = this.current;
    if (!cur || editor.document.uri.toString() !== cur.uri) return;
    const { marks } = cur;
    const doc = editor.document;
    const hover = new vscode.MarkdownString();
    hover.appendMarkdown(`**${vscode.l10n.t('Evidence Search')}**  \n`);
    hover.appendText(vscode.l10n.t('Answers “{0}”: result {1} of {2}, relevance {3}', marks.query, marks.rank, marks.total, marks.score.toFixed(4)));
    editor.setDecorations(this.evidenceType, marks.evidence.map((r) => ({ range: this.toRange(doc, r), hoverMessage: hover })));
    editor.setDecorations(this.passageType, marks.passage ? [this.toRange(doc, marks.passage)] : []);
  }

  private erase(editor: vscode.TextEditor): void {
    editor.setDecorations(this.evidenceType, []);
    editor.setDecorations(this.passageType, []);
  }

  private onEdit(e: vscode.TextDocumentChangeEvent): void {
    const cur = this.current;
    if (!cur || e.document.uri.toString() !== cur.uri || e.contentChanges.length === 0) return;
    const changes: OffsetChange[] = e.contentChanges.map((c) => ({ offset: c.rangeOffset, length: c.rangeLength, insertedLength: c.text.length }));
    const evidence = rangesAfterChanges(cur.marks.evidence, changes);
    const passage = cur.marks.passage ? rangesAfterChanges([cur.marks.passage], changes)[0] : undefined;
    if (evidence.length === 0 && !passage) {
      this.clear();
      return;
    }
    cur.marks = { ...cur.marks, evidence, passage };
    for (const ed of vscode.window.visibleTextEditors) if (ed.document === e.document) this.draw(ed);
    this.updateContextKey();
  }

  private updateContextKey(): void {
    const ed = vscode.window.activeTextEditor;
    const has = !!ed && this.evidence(ed.document.uri).length > 0;
    void vscode.commands.executeCommand('setContext', HAS_EVIDENCE_KEY, has);
  }
}
