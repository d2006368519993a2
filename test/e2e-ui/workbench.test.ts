// The extension as a person uses it, in a real VS Code workbench (code-server + headless
// Chromium, see scripts/lib/code-server.mjs): ask a question through the command palette and
// through the sidebar, open results, and check in the DOM that the evidence words are decorated
// and that document text full of markup renders as text.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { installVsix, openWorkbench, startCodeServer, workbenchUrl, type CodeServer } from '../../scripts/lib/code-server.mjs';

const repo = path.resolve(__dirname, '..', '..');
const Q_SERVER = 'stop the server without dropping requests';
const Q_XSS = 'escape angle brackets in untrusted markup';
const T = 60_000;

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const shotsDir = process.env.EVIDENCE_SEARCH_SCREENSHOTS || path.join(os.tmpdir(), 'evidence-search-screenshots', stamp);
const shots: string[] = [];
const dialogs: string[] = [];
let scratch = '';
let server: CodeServer | undefined;
let workbench: Awaited<ReturnType<typeof openWorkbench>> | undefined;
let page: Page;

const log = (m: string): void => console.log(`[e2e] ${m}`);

async function shot(name: string): Promise<string> {
  fs.mkdirSync(shotsDir, { recursive: true });
  const file = path.join(shotsDir, name);
  await page.screenshot({ path: file });
  shots.push(file);
  return file;
}

/** Opens the command palette, runs a command by its title. */
async function runCommand(title: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: T });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: T });
  await page.keyboard.press('Enter');
}

/** Types a question into the open Evidence Search quick pick and waits for a row with `expect`. */
async function askInQuickPick(question: string, expect: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await page.waitForFunction(`(() => {
    const el = document.querySelector('.quick-input-widget .quick-input-box input');
    return !!el && el.offsetParent !== null && /Ask a question/.test(el.placeholder || el.getAttribute('aria-label') || '');
  })()`, undefined, { timeout: T });
  await input.pressSequentially(question, { delay: 15 });
  await page.locator('.quick-input-list .monaco-list-row', { hasText: expect }).first().waitFor({ timeout: T });
}

/** Texts of the inline evidence decorations rendered in the visible editor. */
async function decoratedWords(): Promise<string[]> {
  await page.waitForSelector('.editor-instance .view-lines span[class*="ced-"]', { timeout: T });
  const texts = await page.$$eval('.editor-instance .view-lines span[class*="ced-"]', (els) => els.map((e) => e.textContent ?? ''));
  // The editor renders spaces as no-break spaces.
  return texts.map((t) => t.replace(/\u00a0/g, ' ')).filter((t) => t.trim());
}

async function waitForActiveTab(name: RegExp): Promise<void> {
  const deadline = Date.now() + T;
  while (Date.now() < deadline) {
    if (name.test(await activeTab().catch(() => ''))) return;
    await page.waitForTimeout(200);
  }
  throw new Error(`no active editor tab matching ${name}`);
}

async function activeTab(): Promise<string> {
  return (await page.locator('.tabs-container .tab.active').first().textContent({ timeout: T })) ?? '';
}

before(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'evidence-search-e2e-'));
  const folder = path.join(scratch, 'workspace', 'alpha');
  fs.cpSync(path.join(repo, 'test', 'fixtures', 'vscode', 'alpha'), folder, { recursive: true });
  const userDataDir = path.join(scratch, 'user-data');
  const extensionsDir = path.join(scratch, 'extensions');
  // EVIDENCE_SEARCH_E2E_VSIX=path: test the packaged extension, installed as a user would,
  // instead of the development folder.
  const vsix = process.env.EVIDENCE_SEARCH_E2E_VSIX;
  if (vsix) log(installVsix({ vsix: path.resolve(vsix), scratch, userDataDir, extensionsDir }));
  server = await startCodeServer({
    scratch,
    userDataDir,
    extensionsDir,
    settings: { 'workbench.colorTheme': 'Default Dark Modern', 'editor.minimap.enabled': false, 'workbench.activityBar.location': 'default' },
    log,
  });
  workbench = await openWorkbench({
    url: workbenchUrl(server.url, { target: folder, extensionDevelopmentPath: vsix ? undefined : repo }),
    profileDir: path.join(scratch, 'chromium'),
    log,
    hooks: {
      onDialog: (d) => {
        dialogs.push(`${d.type()}: ${d.message()}`);
        void d.dismiss().catch(() => {});
      },
    },
  });
  page = workbench.page;
});

after(async () => {
  await workbench?.close();
  await server?.stop();
  if (process.env.EVIDENCE_SEARCH_SCREENSHOTS_TO_MEDIA === '1') {
    const media = path.join(repo, 'media', 'screenshots');
    fs.mkdirSync(media, { recursive: true });
    for (const name of ['editor-evidence.png', 'sidebar-results.png']) {
      const from = shots.find((s) => path.basename(s) === name);
      if (from) {
        fs.copyFileSync(from, path.join(media, name));
        log(`copied ${name} to ${path.join(media, name)}`);
      }
    }
  }
  log(`screenshots:\n${shots.map((s) => `  ${s}`).join('\n')}`);
  fs.rmSync(scratch, { recursive: true, force: true });
});

test('the status bar shows the index state and settles on ready', async () => {
  const item = page.locator('.statusbar-item', { hasText: 'Evidence' }).first();
  await item.waitFor({ timeout: T });
  // The item's accessible label is its tooltip: "Evidence Search: ready. N passages in M files."
  await page.waitForFunction(`[...document.querySelectorAll('.statusbar [aria-label]')]
    .some((e) => /Evidence Search: ready/.test(e.getAttribute('aria-label') || ''))`, undefined, { timeout: 120_000 });
  const text = (await item.textContent()) ?? '';
  assert.match(text, /Evidence/);
  assert.doesNotMatch(text, /error/i, 'the index was built (the log says why otherwise)');
});

test('command palette: Search… lists the answer; accepting it decorates the evidence words', async () => {
  await runCommand('Evidence Search: Search');
  await askInQuickPick(Q_SERVER, 'lifecycle.md');
  const first = page.locator('.quick-input-list .monaco-list-row').first();
  assert.match((await first.textContent()) ?? '', /lifecycle\.md:\d+/);
  await shot('palette-quick-pick.png');
  await page.keyboard.press('Enter');
  await waitForActiveTab(/lifecycle\.md/);
  const words = await decoratedWords();
  assert.ok(words.length > 0, 'evidence words are decorated');
  const file = fs.readFileSync(path.join(repo, 'test', 'fixtures', 'vscode', 'alpha', 'docs', 'lifecycle.md'), 'utf8');
  const section = file.slice(file.indexOf('## Graceful shutdown'), file.indexOf('## Logging')).replace(/\s+/g, ' ');
  for (const w of words) assert.ok(section.includes(w.replace(/\s+/g, ' ').trim()), `decorated text "${w}" is from the answering passage`);
  await shot('editor-evidence.png');
});

test('sidebar: the view offers Search…, lists results with highlighted evidence, and shows markup as text', async () => {
  await page.keyboard.press('Escape');
  const container = page.locator('.activitybar .action-item a[aria-label^="Evidence Search"], .activitybar .action-item[aria-label^="Evidence Search"]').first();
  await container.click({ timeout: T });
  const pane = page.locator('.part.sidebar .pane', { hasText: 'Results' }).first();
  await pane.waitFor({ timeout: T });
  // The palette search above filled the list; the view's title button starts a new search.
  await page.locator('.part.sidebar .actions-container a[aria-label^="Search…"], .part.sidebar .actions-container a[aria-label*="Search…"]').first().click({ timeout: T });
  await askInQuickPick(Q_XSS, 'rendering.md');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: 'rendering.md' }).first();
  const rowText = (await row.textContent()) ?? '';
  // The result's title is its heading path, which carries the markup and a codicon lookalike.
  for (const literal of ['<img src=x onerror=alert(1)>', '</script>', '$(zap)']) {
    assert.ok(rowText.includes(literal), `the quick pick shows ${literal} as text: ${rowText}`);
  }
  assert.equal(await row.locator('img, .codicon-zap').count(), 0, 'no element was made from the markup');
  await page.keyboard.press('Enter');
  await waitForActiveTab(/rendering\.md/);
  const treeRow = page.locator('.part.sidebar .monaco-list-row', { hasText: 'onerror=alert(1)' }).first();
  await treeRow.waitFor({ timeout: T });
  const treeText = (await treeRow.textContent()) ?? '';
  assert.ok(treeText.includes('<img src=x onerror=alert(1)>'), `the tree shows the markup as text: ${treeText}`);
  assert.equal(await page.locator('.part.sidebar .monaco-list-row img').count(), 0, 'no <img> element was created from document text');
  assert.equal(await page.locator('img[src="x"]').count(), 0, 'no <img src=x> anywhere in the workbench');
  assert.ok((await treeRow.locator('.highlight').count()) > 0, 'the snippet highlights its evidence words');
  assert.deepEqual(dialogs, [], 'no script from document text ran (no alert dialog)');
  assert.ok((await decoratedWords()).length > 0, 'the opened result is decorated');
  await shot('sidebar-results.png');
});

test('sidebar: clicking another result opens and decorates it', async () => {
  const serverRow = page.locator('.part.sidebar .monaco-list-row', { hasText: /\d+: / }).filter({ hasNotText: 'onerror' }).first();
  if ((await serverRow.count()) === 0) {
    log('only one result in the list; reopening the first one');
  }
  const target = (await serverRow.count()) ? serverRow : page.locator('.part.sidebar .monaco-list-row', { hasText: /\d+: / }).first();
  await target.click({ timeout: T });
  await page.waitForTimeout(500);
  const tab = await activeTab();
  assert.ok(tab.length > 0, 'an editor is open');
  assert.ok((await decoratedWords()).length > 0, `the result opened in ${tab} is decorated`);
  assert.deepEqual(dialogs, []);
  await shot('sidebar-open-result.png');
});
