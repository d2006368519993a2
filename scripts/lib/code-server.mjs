// Runs a real VS Code workbench here: code-server (VS Code 1.139, under Node 24) in its own
// process group, and Debian's Chromium driven by playwright-core. Shared by the test launcher
// (scripts/code-server-launcher.mjs, used by `npm run test:integration`) and the UI tests
// (`npm run test:e2e`). Everything it needs is installed by scripts/setup-vscode-test.sh.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { format } from 'node:util';

export const NODE_VERSION = '24.21.0';
export const CODE_SERVER_VERSION = '4.139.1';
export const CHROMIUM = process.env.EVIDENCE_SEARCH_CHROMIUM || '/usr/bin/chromium';

/** Where setup-vscode-test.sh put Node 24 and code-server. */
export function testCache() {
  const cache = process.env.EVIDENCE_SEARCH_TEST_CACHE || path.join(os.homedir(), '.cache', 'evidence-search-test');
  const nodeDir = path.join(cache, `node-${NODE_VERSION}`);
  const codeServer = path.join(cache, `code-server-${CODE_SERVER_VERSION}`, 'node_modules', 'code-server');
  return { cache, node: path.join(nodeDir, 'bin', 'node'), codeServerEntry: path.join(codeServer, 'out', 'node', 'entry.js') };
}

export function checkInstalled() {
  const c = testCache();
  const missing = [c.node, c.codeServerEntry, CHROMIUM].filter((p) => !fs.existsSync(p));
  if (missing.length) {
    throw new Error(`missing ${missing.join(', ')}: run \`bash scripts/setup-vscode-test.sh\` first`);
  }
  return c;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function get(url) {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(5000, () => req.destroy());
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Kills a whole process group (the child was started with setsid). */
export function killGroup(pid, signal = 'SIGKILL') {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}

function groupAlive(pid) {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

const running = new Set();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Whatever happens to this process, its code-server groups go with it.
  process.on('exit', () => {
    for (const pid of running) killGroup(pid, 'SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      for (const pid of running) killGroup(pid, 'SIGKILL');
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
  }
}

/** User settings that keep the workbench quiet and offline. */
export const QUIET_SETTINGS = {
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'extensions.ignoreRecommendations': true,
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'chat.disableAIFeatures': true,
  'github.gitAuthentication': false,
  'npm.autoDetect': 'off',
  'typescript.tsserver.experimental.enableProjectDiagnostics': false,
  'window.restoreWindows': 'none',
  'files.hotExit': 'off',
  // The web workbench saves edits after a second by default (desktop VS Code does not): a test's
  // unsaved edit was written to disk, the folder re-indexed with it, and a check that the edited
  // passage is not highlighted failed now and then.
  'files.autoSave': 'off',
};

/**
 * Starts code-server on a free loopback port, in its own process group, with HOME/XDG/TMPDIR in
 * `scratch`. Retries once when it does not answer in time. Returns { url, pid, stop(), logFile }.
 */
export async function startCodeServer({ scratch, userDataDir, extensionsDir, settings = {}, log = () => {}, attempts = 2, startTimeoutMs = 90_000 }) {
  const c = checkInstalled();
  installExitHook();
  for (const d of ['home', 'xdg-config', 'xdg-data', 'xdg-cache', 'xdg-state', 'tmp']) fs.mkdirSync(path.join(scratch, d), { recursive: true });
  fs.mkdirSync(path.join(userDataDir, 'User'), { recursive: true });
  fs.mkdirSync(extensionsDir, { recursive: true });
  const settingsFile = path.join(userDataDir, 'User', 'settings.json');
  if (!fs.existsSync(settingsFile)) fs.writeFileSync(settingsFile, JSON.stringify({ ...QUIET_SETTINGS, ...settings }, null, 2));
  const configFile = path.join(scratch, 'code-server.yaml');
  fs.writeFileSync(configFile, 'auth: none\ncert: false\n');
  const env = {
    ...process.env,
    PATH: `${path.dirname(c.node)}:${process.env.PATH}`,
    HOME: path.join(scratch, 'home'),
    XDG_CONFIG_HOME: path.join(scratch, 'xdg-config'),
    XDG_DATA_HOME: path.join(scratch, 'xdg-data'),
    XDG_CACHE_HOME: path.join(scratch, 'xdg-cache'),
    XDG_STATE_HOME: path.join(scratch, 'xdg-state'),
    TMPDIR: path.join(scratch, 'tmp'),
    // onnxruntime-node writes a cache under HOME; keep it in the scratch folder too.
  };
  delete env.VSCODE_IPC_HOOK_CLI;
  delete env.ELECTRON_RUN_AS_NODE;
  let lastError;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = await freePort();
    const logFile = path.join(scratch, `code-server-${attempt}.log`);
    const out = fs.openSync(logFile, 'a');
    const args = [
      c.codeServerEntry,
      '--bind-addr', `127.0.0.1:${port}`,
      '--auth', 'none',
      '--config', configFile,
      '--user-data-dir', userDataDir,
      '--extensions-dir', extensionsDir,
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--disable-getting-started-override',
      '--disable-proxy',
      '--ignore-last-opened',
      '--vscode-option', 'enable-smoke-test-driver',
    ];
    const child = spawn(c.node, args, { detached: true, stdio: ['ignore', out, out], env, cwd: scratch });
    fs.closeSync(out);
    const pid = child.pid;
    running.add(pid);
    let exited = false;
    child.on('exit', () => {
      exited = true;
    });
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline && !exited) {
      if ((await get(`${url}/healthz`)) === 200) {
        log(`code-server ${CODE_SERVER_VERSION} is up at ${url} (pid ${pid}, log ${logFile})`);
        const stop = async () => {
          killGroup(pid, 'SIGTERM');
          for (let i = 0; i < 30 && groupAlive(pid); i++) await sleep(100);
          killGroup(pid, 'SIGKILL');
          running.delete(pid);
        };
        return { url, pid, stop, logFile };
      }
      await sleep(500);
    }
    lastError = new Error(`code-server did not answer on ${url} within ${startTimeoutMs / 1000} s (attempt ${attempt}); log: ${logFile}\n${tail(logFile)}`);
    log(lastError.message);
    killGroup(pid, 'SIGKILL');
    running.delete(pid);
  }
  throw lastError;
}

/** Installs a VSIX into an extensions folder with code-server's CLI (as a user would). */
export function installVsix({ vsix, scratch, userDataDir, extensionsDir }) {
  const c = checkInstalled();
  fs.mkdirSync(path.join(scratch, 'home'), { recursive: true });
  const r = spawnSync(c.node, [c.codeServerEntry, '--install-extension', vsix, '--force', '--user-data-dir', userDataDir, '--extensions-dir', extensionsDir], {
    env: { ...process.env, HOME: path.join(scratch, 'home'), XDG_CONFIG_HOME: path.join(scratch, 'xdg-config'), XDG_DATA_HOME: path.join(scratch, 'xdg-data') },
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (r.status !== 0) throw new Error(`code-server --install-extension ${vsix} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}

export function tail(file, lines = 30) {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** The workbench URL for a folder or .code-workspace file, with extension-development payload. */
export function workbenchUrl(baseUrl, { target, extensionDevelopmentPath, extensionTestsPath }) {
  const q = new URLSearchParams();
  if (target) q.set(target.endsWith('.code-workspace') ? 'workspace' : 'folder', target);
  const payload = [];
  if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', `vscode-remote://remote${extensionDevelopmentPath}`]);
  if (extensionTestsPath) payload.push(['extensionTestsPath', `vscode-remote://remote${extensionTestsPath}`]);
  if (payload.length) q.set('payload', JSON.stringify(payload));
  return `${baseUrl}/?${q.toString()}`;
}

export const CHROMIUM_FLAGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--password-store=basic',
];

/**
 * Opens the workbench in headless Chromium (fresh profile) and waits for it to render.
 * `hooks.onLog(level, text)` / `hooks.onExit(code)` receive the smoke-test-driver callbacks.
 * Retries the browser start and page load. Returns { context, page, close() }.
 */
export async function openWorkbench({ url, profileDir, hooks = {}, log = () => {}, attempts = 3, loadTimeoutMs = 120_000, viewport = { width: 1440, height: 900 } }) {
  const { chromium } = await import('playwright-core');
  let lastError;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const dir = `${profileDir}-${attempt}`;
    fs.rmSync(dir, { recursive: true, force: true });
    let context;
    try {
      context = await chromium.launchPersistentContext(dir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_FLAGS,
        viewport,
        timeout: 60_000,
      });
      const page = context.pages()[0] ?? (await context.newPage());
      if (hooks.onLog) await page.exposeFunction('codeAutomationLog', (level, args) => {
        if (process.env.EVIDENCE_SEARCH_WORKBENCH_LOG === 'raw') console.log('RAW', level, JSON.stringify(args).slice(0, 300));
        hooks.onLog(level, formatLogArgs(args));
      });
      if (hooks.onExit) await page.exposeFunction('codeAutomationExit', (code) => hooks.onExit(Number(code)));
      if (hooks.onDialog) page.on('dialog', (d) => hooks.onDialog(d));
      if (hooks.onPageError) page.on('pageerror', (e) => hooks.onPageError(e));
      await page.goto(url, { timeout: loadTimeoutMs, waitUntil: 'domcontentloaded' });
      await page.waitForSelector('.monaco-workbench', { timeout: loadTimeoutMs });
      log(`workbench loaded (attempt ${attempt})`);
      return { context, page, close: () => context.close().catch(() => {}) };
    } catch (e) {
      lastError = e;
      log(`workbench did not load (attempt ${attempt}): ${e.message.split('\n')[0]}`);
      await context?.close().catch(() => {});
    }
  }
  throw lastError;
}

/** The workbench forwards console calls as (format, ...args), printf-style like Node's console. */
function formatLogArgs(args) {
  if (!Array.isArray(args)) return String(args);
  return format(...args);
}
