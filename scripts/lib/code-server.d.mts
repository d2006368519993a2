// Types for code-server.mjs (used from the TypeScript UI tests).
import type { BrowserContext, Dialog, Page } from 'playwright-core';

export const NODE_VERSION: string;
export const CODE_SERVER_VERSION: string;
export const CHROMIUM: string;
export const CHROMIUM_FLAGS: string[];
export const QUIET_SETTINGS: Record<string, unknown>;
export function testCache(): { cache: string; node: string; codeServerEntry: string };
export function checkInstalled(): { cache: string; node: string; codeServerEntry: string };
export function killGroup(pid: number | undefined, signal?: NodeJS.Signals): void;
export function installVsix(o: { vsix: string; scratch: string; userDataDir: string; extensionsDir: string }): string;
export function tail(file: string, lines?: number): string;
export interface CodeServer { url: string; pid: number; logFile: string; stop(): Promise<void> }
export function startCodeServer(o: {
  scratch: string; userDataDir: string; extensionsDir: string; settings?: Record<string, unknown>;
  log?: (m: string) => void; attempts?: number; startTimeoutMs?: number;
}): Promise<CodeServer>;
export function workbenchUrl(baseUrl: string, o: { target?: string; extensionDevelopmentPath?: string; extensionTestsPath?: string }): string;
export interface WorkbenchHooks {
  onLog?: (level: number | string, text: string) => void;
  onExit?: (code: number) => void;
  onDialog?: (d: Dialog) => void;
  onPageError?: (e: Error) => void;
}
export function openWorkbench(o: {
  url: string; profileDir: string; hooks?: WorkbenchHooks; log?: (m: string) => void; attempts?: number;
  loadTimeoutMs?: number; viewport?: { width: number; height: number };
}): Promise<{ context: BrowserContext; page: Page; close(): Promise<void> }>;
