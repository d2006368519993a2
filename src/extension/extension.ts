// Extension entry point: builds the app (nothing heavy happens here) and hands back its API.
import type * as vscode from 'vscode';
import { EvidenceSearchApp } from './evidence-search-app';
import type { EvidenceSearchApi } from './test-api';

let app: EvidenceSearchApp | undefined;

export function activate(context: vscode.ExtensionContext): EvidenceSearchApi {
  app = new EvidenceSearchApp(context);
  return app.api();
}

export async function deactivate(): Promise<void> {
  const a = app;
  app = undefined;
  await a?.dispose();
}
