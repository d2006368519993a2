#!/usr/bin/env node
// A stand-in for a VS Code executable, for @vscode/test-electron's runTests({ vscodeExecutablePath }).
// It accepts the flags runTests passes (--extensionDevelopmentPath=, --extensionTestsPath=,
// --user-data-dir=, --extensions-dir=, a folder or .code-workspace; others are ignored), runs the
// extension tests inside a real extension host — code-server + headless Chromium + the smoke-test
// driver's payload URL — mirrors the test output to stdout, and exits with the tests' exit code.
//
// Environment: EVIDENCE_SEARCH_TEST_TIMEOUT_S (default 900) bounds the whole run;
// EVIDENCE_SEARCH_WORKBENCH_LOG=1 also prints the workbench's own log lines.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openWorkbench, startCodeServer, tail, workbenchUrl } from './lib/code-server.mjs';

const started = Date.now();
const WORKBENCH_NOISE = [
  /^(Resolving connection token|Resolved connection token|Creating a socket|Updating additional builtin extensions)/,
  /^\[(reconnection-grace-time|Service Worker|AgentHost[^\]]*|AccountPolicyGate)\]/,
  /ENOTFOUND open-vsx\.org/,
  /Timed out waiting for authentication provider 'github'/,
];
const say = (m) => console.log(`[launcher +${((Date.now() - started) / 1000).toFixed(1)}s] ${m}`);

function parseArgs(argv) {
  const o = { targets: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      o.targets.push(path.resolve(a));
      continue;
    }
    const [, key, value] = m;
    const take = () => value ?? argv[++i];
    if (key === 'extensionDevelopmentPath') o.extensionDevelopmentPath = path.resolve(take());
    else if (key === 'extensionTestsPath') o.extensionTestsPath = path.resolve(take());
    else if (key === 'user-data-dir') o.userDataDir = path.resolve(take());
    else if (key === 'extensions-dir') o.extensionsDir = path.resolve(take());
    else if (key === 'folder-uri' || key === 'file-uri') o.targets.push(new URL(take()).pathname);
    // everything else (--no-sandbox, --disable-updates, --skip-welcome, …) means nothing here
  }
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!o.extensionTestsPath) throw new Error('--extensionTestsPath= is required');
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'evidence-search-vscode-'));
  const userDataDir = o.userDataDir ?? path.join(scratch, 'user-data');
  const extensionsDir = o.extensionsDir ?? path.join(scratch, 'extensions');
  const timeoutS = Number(process.env.EVIDENCE_SEARCH_TEST_TIMEOUT_S || 900);
  const showWorkbenchLog = process.env.EVIDENCE_SEARCH_WORKBENCH_LOG === '1';
  say(`scratch folder ${scratch}`);
  const server = await startCodeServer({ scratch, userDataDir, extensionsDir, log: say });
  let workbench;
  let exitCode = 1;
  try {
    let resolveExit;
    const exited = new Promise((r) => (resolveExit = r));
    const url = workbenchUrl(server.url, {
      target: o.targets[0],
      extensionDevelopmentPath: o.extensionDevelopmentPath,
      extensionTestsPath: o.extensionTestsPath,
    });
    workbench = await openWorkbench({
      url,
      profileDir: path.join(scratch, 'chromium-profile'),
      log: say,
      hooks: {
        onLog: (level, text) => {
          // The extension host's console (the mocha reporter) arrives here mixed with the
          // workbench's own log; leave out the workbench's routine and expected-offline lines.
          if (showWorkbenchLog || !WORKBENCH_NOISE.some((re) => re.test(text))) console.log(text);
        },
        onExit: (code) => resolveExit(code),
        onPageError: (e) => showWorkbenchLog && say(`page error: ${e.message}`),
      },
    });
    const timer = new Promise((r) => setTimeout(() => r('timeout'), timeoutS * 1000));
    const result = await Promise.race([exited, timer]);
    if (result === 'timeout') {
      say(`the tests did not finish within ${timeoutS} s`);
      const shot = path.join(scratch, 'timeout.png');
      await workbench.page.screenshot({ path: shot }).catch(() => {});
      say(`screenshot: ${shot}\ncode-server log tail:\n${tail(server.logFile)}`);
      exitCode = 1;
    } else {
      exitCode = result;
      say(`tests finished with exit code ${exitCode}`);
    }
  } finally {
    await workbench?.close();
    await server.stop();
    if (exitCode === 0 && !process.env.EVIDENCE_SEARCH_KEEP_SCRATCH) fs.rmSync(scratch, { recursive: true, force: true });
  }
  return exitCode;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    say(`error: ${e.stack ?? e}`);
    process.exit(1);
  },
);
