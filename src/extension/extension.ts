// Extension entry point (thin glue over src/core). Filled in by the extension work.
import * as vscode from 'vscode';

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('evidenceSearch.search', () => {
      void vscode.window.showInformationMessage('Evidence Search is not wired up yet.');
    }),
  );
}

export function deactivate(): void {}
