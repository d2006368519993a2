// `npm run test:integration`: runs the mocha suite in test/integration/suite inside a real VS Code
// extension host, through @vscode/test-electron's runTests.
//
// Here (no VS Code download possible) the "VS Code executable" is scripts/code-server-launcher.mjs:
// code-server + headless Chromium + the smoke-test driver (install them once with
// `bash scripts/setup-vscode-test.sh`). With `--desktop` (or EVIDENCE_SEARCH_DESKTOP_VSCODE=1) the
// same suite runs on a desktop VS Code that runTests downloads, on a machine that can reach it.
//
// The fixture workspace (test/fixtures/vscode, multi-root) is copied to a temporary folder first,
// so the tests may edit files and settings.
import { runTests } from '@vscode/test-electron';
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const repo = path.resolve(__dirname, '..', '..');

async function bundleSuite(outDir: string): Promise<void> {
  const dir = path.join(repo, 'test', 'integration', 'suite');
  const entryPoints = fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
  fs.rmSync(outDir, { recursive: true, force: true });
  await esbuild.build({
    entryPoints, outdir: outDir, bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: 'inline',
    external: ['vscode', 'mocha'], logLevel: 'warning',
  });
}

async function main(): Promise<number> {
  const desktop = process.argv.includes('--desktop') || process.env.EVIDENCE_SEARCH_DESKTOP_VSCODE === '1';
  if (!fs.existsSync(path.join(repo, 'dist', 'extension.js'))) throw new Error('dist/extension.js is missing: run `npm run build` first');
  const outDir = path.join(repo, 'out', 'test', 'integration', 'suite');
  await bundleSuite(outDir);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'evidence-search-it-'));
  const workspace = path.join(tmp, 'workspace');
  fs.cpSync(path.join(repo, 'test', 'fixtures', 'vscode'), workspace, { recursive: true });
  const started = Date.now();
  try {
    await runTests({
      ...(desktop ? {} : { vscodeExecutablePath: path.join(repo, 'scripts', 'code-server-launcher.mjs') }),
      extensionDevelopmentPath: repo,
      extensionTestsPath: path.join(outDir, 'index.js'),
      launchArgs: [
        path.join(workspace, 'multi-root.code-workspace'),
        `--user-data-dir=${path.join(tmp, 'user-data')}`,
        `--extensions-dir=${path.join(tmp, 'extensions')}`,
        '--disable-extensions',
      ],
      extensionTestsEnv: { EVIDENCE_SEARCH_FIXTURES: workspace },
    });
    console.log(`integration tests passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    fs.rmSync(tmp, { recursive: true, force: true });
    return 0;
  } catch (e) {
    console.error(`integration tests failed after ${((Date.now() - started) / 1000).toFixed(0)} s: ${(e as Error).message} (files kept in ${tmp})`);
    return 1;
  }
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  process.exit(1);
});
