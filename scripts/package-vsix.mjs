#!/usr/bin/env node
// `npm run package`: builds the linux-x64 VSIX with @vscode/vsce (after `npm run build`).
// .vscodeignore keeps only the bundle, the default model, media, l10n and the linux-x64
// onnxruntime-node binaries with onnxruntime-common. Checks the result holds what the extension
// loads at run time and prints its size. Output: dist/evidence-search-<version>-linux-x64.vsix
// (or --out <path>).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
const target = 'linux-x64';
const outArg = process.argv.indexOf('--out');
const out = outArg > 0 ? path.resolve(process.argv[outArg + 1]) : path.join(repo, 'dist', `${pkg.name}-${pkg.version}-${target}.vsix`);
const vsce = path.join(repo, 'node_modules', '@vscode', 'vsce', 'vsce');

const required = [
  'extension/package.json',
  'extension/dist/extension.js',
  'extension/dist/encode-worker.js',
  'extension/models/es-colbert-small/model.json',
  'extension/models/es-colbert-small/model.onnx',
  'extension/models/es-colbert-small/tokenizer.json',
  'extension/node_modules/onnxruntime-node/dist/index.js',
  'extension/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node',
  'extension/node_modules/onnxruntime-common/dist/cjs/index.js',
  'extension/node_modules/onnxruntime-common/dist/cjs/package.json',
  'extension/l10n/bundle.l10n.json',
  'extension/media/icon.png',
];

for (const f of ['dist/extension.js', 'dist/encode-worker.js', 'models/es-colbert-small/model.onnx']) {
  if (!fs.existsSync(path.join(repo, f))) throw new Error(`${f} is missing (run npm run build; the model must be in models/es-colbert-small)`);
}
fs.mkdirSync(path.dirname(out), { recursive: true });
fs.rmSync(out, { force: true });
const started = Date.now();
execFileSync(process.execPath, [vsce, 'package', '--target', target, '--out', out, '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links'], {
  cwd: repo,
  stdio: 'inherit',
  env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
});

// List the archive with the zip reader vsce itself depends on.
const { default: yauzl } = await import('yauzl');
const entries = await new Promise((resolve, reject) => {
  yauzl.open(out, { lazyEntries: true }, (err, zip) => {
    if (err) return reject(err);
    const list = [];
    zip.on('entry', (e) => {
      list.push({ name: e.fileName, size: e.uncompressedSize });
      zip.readEntry();
    });
    zip.on('end', () => resolve(list));
    zip.on('error', reject);
    zip.readEntry();
  });
});
const names = new Set(entries.map((e) => e.name));
const missing = required.filter((r) => !names.has(r));
const otherPlatforms = entries.filter((e) => /onnxruntime-node\/bin\//.test(e.name) && !/\/linux\/x64\//.test(e.name));
const bytes = fs.statSync(out).size;
const unpacked = entries.reduce((n, e) => n + e.size, 0);
console.log(`\n${path.relative(repo, out)}: ${(bytes / 1048576).toFixed(1)} MB (${(unpacked / 1048576).toFixed(1)} MB unpacked, ${entries.length} files) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (missing.length || otherPlatforms.length) {
  for (const m of missing) console.error(`missing from the VSIX: ${m}`);
  for (const o of otherPlatforms) console.error(`another platform's binary in the VSIX: ${o.name}`);
  process.exit(1);
}
if (bytes > 30 * 1048576) console.warn(`warning: the VSIX is larger than the 30 MB goal`);

// Load the runtime and the model from an unpacked copy, as the extension host will.
const os = await import('node:os');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evidence-search-vsix-'));
try {
  try {
    execFileSync('unzip', ['-q', out, '-d', tmp]);
  } catch {
    console.warn('unzip is not available: skipping the load check of the VSIX');
    process.exit(0);
  }
  const ext = path.join(tmp, 'extension');
  const probe = `const ort = require(${JSON.stringify(path.join(ext, 'node_modules', 'onnxruntime-node'))});
    ort.InferenceSession.create(${JSON.stringify(path.join(ext, 'models', 'es-colbert-small', 'model.onnx'))})
      .then((s) => { console.log('the VSIX loads onnxruntime and its model (inputs: ' + s.inputNames.join(', ') + ')'); return s.release(); })
      .catch((e) => { console.error(e); process.exit(1); });`;
  execFileSync(process.execPath, ['-e', probe], { stdio: 'inherit', env: { ...process.env, HOME: tmp } });
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
