// The manifest (package.json contributes) agrees with the extension's code: every command the
// code registers is declared and vice versa, menus and welcome links name real commands, every
// theme colour the code uses is declared, every setting is read, and the l10n bundle is current.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DEFAULT_SETTINGS } from '../../src/extension/settings';

const repo = path.join(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
const c = pkg.contributes;
const srcDir = path.join(repo, 'src', 'extension');
const source = fs.readdirSync(srcDir).filter((f) => f.endsWith('.ts')).map((f) => fs.readFileSync(path.join(srcDir, f), 'utf8')).join('\n');

test('commands: registered in code ⇔ declared in the manifest', () => {
  const declared = new Set<string>(c.commands.map((x: { command: string }) => x.command));
  const registered = new Set([...source.matchAll(/reg\('(evidenceSearch\.\w+)'/g)].map((m) => m[1]));
  assert.deepEqual([...registered].sort(), [...declared].sort());
});

test('menus, keybindings and welcome links name declared commands', () => {
  const declared = new Set<string>(c.commands.map((x: { command: string }) => x.command));
  for (const [menu, items] of Object.entries(c.menus as Record<string, Array<{ command: string }>>)) {
    for (const i of items) assert.ok(declared.has(i.command), `${menu}: ${i.command}`);
  }
  for (const k of c.keybindings) assert.ok(declared.has(k.command), k.command);
  for (const w of c.viewsWelcome) {
    for (const m of (w.contents as string).matchAll(/\(command:(evidenceSearch\.\w+)/g)) assert.ok(declared.has(m[1]), m[1]);
    assert.equal(w.view, 'evidenceSearch.results');
  }
  assert.ok(c.menus.commandPalette.some((m: { command: string; when: string }) => m.command === 'evidenceSearch.openResult' && m.when === 'false'));
});

test('views: the activity-bar container and its tree view exist, with an icon file', () => {
  assert.equal(c.viewsContainers.activitybar[0].id, 'evidenceSearch');
  assert.ok(fs.existsSync(path.join(repo, c.viewsContainers.activitybar[0].icon)));
  assert.equal(c.views.evidenceSearch[0].id, 'evidenceSearch.results');
  assert.ok(source.includes("createTreeView('evidenceSearch.results'"));
  assert.ok(fs.existsSync(path.join(repo, pkg.icon)), 'extension icon');
});

test('every theme colour used in code is contributed, with defaults for all theme kinds', () => {
  const declared = new Map<string, { defaults: Record<string, string> }>(c.colors.map((x: { id: string }) => [x.id, x]));
  const used = new Set([...source.matchAll(/ThemeColor\('(evidenceSearch\.\w+)'\)|--vscode-(evidenceSearch)-(\w+)/g)].map((m) => m[1] ?? `${m[2]}.${m[3]}`));
  assert.ok(used.size >= 3);
  for (const id of used) assert.ok(declared.has(id), id);
  for (const [id, x] of declared) for (const kind of ['dark', 'light', 'highContrast', 'highContrastLight']) assert.ok(x.defaults[kind], `${id}.${kind}`);
});

test('settings: one per EvidenceSettings field, each with a markdownDescription; the model folder is machine-scoped and restricted', () => {
  const props = c.configuration.properties as Record<string, { markdownDescription?: string; scope?: string; default: unknown }>;
  assert.deepEqual(Object.keys(props).map((k) => k.replace('evidenceSearch.', '')).sort(), Object.keys(DEFAULT_SETTINGS).sort());
  for (const [k, p] of Object.entries(props)) {
    assert.ok(p.markdownDescription, `${k} has a markdownDescription`);
    assert.deepEqual(p.default, (DEFAULT_SETTINGS as Record<string, unknown>)[k.replace('evidenceSearch.', '')], `${k} default matches the code`);
  }
  assert.equal(props['evidenceSearch.modelFolder'].scope, 'machine');
  assert.deepEqual(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations, ['evidenceSearch.modelFolder']);
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.equal(pkg.capabilities.virtualWorkspaces.supported, false);
  assert.ok(pkg.capabilities.virtualWorkspaces.description);
});

test('activation does not wait for anything heavy', () => {
  assert.deepEqual(pkg.activationEvents, ['onStartupFinished']);
  const activate = fs.readFileSync(path.join(srcDir, 'extension.ts'), 'utf8');
  assert.ok(!/await/.test(activate.slice(activate.indexOf('export function activate'), activate.indexOf('export async function deactivate'))));
});

test('l10n/bundle.l10n.json lists every vscode.l10n.t message', async () => {
  const { extractMessages, bundleText } = await import('../../scripts/l10n-bundle.mjs');
  const current = fs.readFileSync(path.join(repo, 'l10n', 'bundle.l10n.json'), 'utf8');
  assert.equal(current, bundleText(extractMessages()), 'run node scripts/l10n-bundle.mjs');
  assert.equal(pkg.l10n, './l10n');
});
