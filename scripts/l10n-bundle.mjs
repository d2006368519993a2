#!/usr/bin/env node
// Writes l10n/bundle.l10n.json: every `vscode.l10n.t('…')` message of src/extension, the source
// bundle translators copy to bundle.l10n.<locale>.json. `--check` only verifies it is current
// (the unit test test/unit/extension-manifest.test.ts does the same).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function extractMessages(dir = path.join(repo, 'src', 'extension')) {
  const messages = new Set();
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    for (const m of text.matchAll(/\bl10n\.t\(\s*'((?:[^'\\]|\\.)*)'/g)) messages.add(m[1].replace(/\\'/g, "'").replace(/\\\\/g, '\\'));
  }
  return [...messages].sort();
}

export function bundleText(messages) {
  return JSON.stringify(Object.fromEntries(messages.map((m) => [m, m])), null, 2) + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = path.join(repo, 'l10n', 'bundle.l10n.json');
  const text = bundleText(extractMessages());
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (current !== text) {
      console.error(`${path.relative(repo, file)} is out of date: run node scripts/l10n-bundle.mjs`);
      process.exit(1);
    }
  } else {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    console.log(`wrote ${Object.keys(JSON.parse(text)).length} messages to ${path.relative(repo, file)}`);
  }
}
