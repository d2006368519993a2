// Walking a workspace folder: which files to index, read safely.
//
// - Default excludes (VCS/dependency/build folders, lock files), include/exclude globs,
//   `.gitignore` / `.ignore` files (root and nested) and the root `.git/info/exclude`.
// - Symlinks are followed only when they resolve inside the root; every directory is
//   visited once (by device+inode), so symlink cycles cannot loop. A symlinked file is
//   yielded under its link path (it may also appear under its real path).
// - Sizes are checked with stat before reading; at most maxFileBytes+1 bytes are ever read.
// - Files with a NUL byte in the first 8 KB are binary; unreadable files are reported, not thrown.
// - Text is decoded as UTF-8 with U+FFFD for invalid bytes (invalidUtf8 flags it) and with
//   `ignoreBOM: true`: a UTF-8 BOM stays in the text as U+FEFF. Offsets are JS string
//   indices into exactly this decoded text, so another tool decoding the file the same way
//   (keeping the BOM) computes the same indices; the extractors treat U+FEFF as whitespace.

import { isUtf8 } from 'node:buffer';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isSupportedPath, languageIdForPath } from '../extract/index';
import type { SkippedFile, SkipReason } from '../types';

/** A file the scan's rules admit, known from its folder entry and stat only (not read yet). */
export interface WorkspaceEntry {
  /** Relative to the root, forward slashes. */
  path: string;
  absPath: string;
  /** Size in bytes (from stat). */
  size: number;
  mtimeMs: number;
}

export interface WorkspaceFile extends WorkspaceEntry {
  text: string;
  /** The bytes were not valid UTF-8; invalid sequences became U+FFFD. */
  invalidUtf8: boolean;
}

export interface ScanOptions {
  /** Files larger than this (bytes) are skipped as 'too-large' without being read. Default 1_000_000. */
  maxFileBytes?: number;
  /**
   * Only files matching one of these globs are indexed (default: all). Globs match the
   * relative path; a glob without '/' matches the base name at any depth (`*.md`).
   * Supported: `**`, `*`, `?`, `[abc]`, `{a,b}`.
   */
  include?: string[];
  /** Files or folders matching one of these globs are not indexed (same syntax as include). */
  exclude?: string[];
  /** Apply the built-in excludes (node_modules, .git, dist, lock files, …). Default true. */
  useDefaultExcludes?: boolean;
  /** Honour .gitignore / .ignore files and .git/info/exclude. Default true. */
  useIgnoreFiles?: boolean;
  /** Restrict comment languages (see ExtractOptions.languages); Markdown is always included. */
  languages?: string[];
  /** Called for every file added to `ScanReport.skipped` (not for ignored/excluded/unsupported ones). */
  onSkip?: (s: SkippedFile) => void;
  /** Stops the scan (the generator throws) when aborted. */
  signal?: AbortSignal;
}

export const DEFAULT_MAX_FILE_BYTES = 1_000_000;

/**
 * What a scan left out. `skipped` lists the files worth telling the user about (binary,
 * too-large, minified/generated, unreadable); `counts` counts every SkipReason, including
 * 'unsupported' which is only counted. Ignored (ignore files), excluded (defaults/globs)
 * and symlinks not followed (outside the root, broken, or already visited) are counted.
 */
export class ScanReport {
  readonly skipped: SkippedFile[] = [];
  readonly counts: Record<SkipReason, number> = { binary: 0, 'too-large': 0, minified: 0, unreadable: 0, unsupported: 0 };
  readonly invalidUtf8: string[] = [];
  ignored = 0;
  excluded = 0;
  symlinksNotFollowed = 0;
  /** Files yielded and their total size in bytes. */
  files = 0;
  bytes = 0;

  /** @internal */
  skip(s: SkippedFile, onSkip?: (s: SkippedFile) => void): void {
    this.counts[s.reason]++;
    if (s.reason === 'unsupported') return;
    this.skipped.push(s);
    onSkip?.(s);
  }
}

// ---------------------------------------------------------------------------------------
// Globs.

export interface GlobOptions {
  /** `{a,b}` alternation (globs: yes; gitignore: no, braces are literal there). Default true. */
  braces?: boolean;
  /** A trailing `/**` also matches the folder itself (so it can be pruned). Default true. */
  trailingMatchesDir?: boolean;
}

const RE_SPECIAL = /[.*+?^${}()|[\]\\/]/;

/**
 * Compiles a glob matched against a whole relative path with '/' separators:
 * `**` (any number of path segments, as a whole segment), `*` (any characters but '/'),
 * `?` (one character but '/'), `[...]`/`[!...]` classes, `{a,b}` alternation, `\x` escapes.
 */
export function globToRegExp(glob: string, options: GlobOptions = {}): RegExp {
  const braces = options.braces ?? true;
  let g = glob;
  let tail = '';
  if (g === '**') return /^.*$/;
  if (g.endsWith('/**')) {
    g = g.slice(0, -3);
    tail = options.trailingMatchesDir ?? true ? '(?:/.*)?' : '/.+';
  }
  let re = '';
  let depth = 0;
  for (let i = 0; i < g.length; i++) {
    const c = g[i];
    if (c === '\\' && i + 1 < g.length) {
      i++;
      re += RE_SPECIAL.test(g[i]) ? '\\' + g[i] : g[i];
    } else if (c === '*') {
      if (g[i + 1] === '*' && (i === 0 || g[i - 1] === '/') && (i + 2 === g.length || g[i + 2] === '/')) {
        if (i + 2 === g.length) re += '.*';
        else {
          re += '(?:.*/)?';
          i += 2; // also consume the '/'
          continue;
        }
        i++;
      } else {
        while (g[i + 1] === '*') i++;
        re += '[^/]*';
      }
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      let j = i + 1;
      let cls = '';
      let negate = false;
      if (g[j] === '!' || g[j] === '^') {
        negate = true;
        j++;
      }
      if (g[j] === ']') {
        cls += '\\]';
        j++;
      }
      while (j < g.length && g[j] !== ']') {
        const ch = g[j] === '\\' && j + 1 < g.length ? g[++j] : g[j];
        cls += ch === '\\' || ch === ']' || ch === '[' || ch === '^' ? '\\' + ch : ch;
        j++;
      }
      if (j >= g.length) re += '\\[';
      else {
        re += negate ? `[^/${cls}]` : `[${cls}]`;
        i = j;
      }
    } else if (braces && c === '{') {
      depth++;
      re += '(?:';
    } else if (braces && c === '}' && depth > 0) {
      depth--;
      re += ')';
    } else if (braces && c === ',' && depth > 0) re += '|';
    else re += RE_SPECIAL.test(c) ? '\\' + c : c;
  }
  while (depth-- > 0) re += ')';
  return new RegExp('^' + re + tail + '$');
}

interface CompiledGlob {
  re: RegExp;
  dirOnly: boolean;
}

function compileGlobs(patterns: readonly string[] | undefined): CompiledGlob[] {
  const out: CompiledGlob[] = [];
  for (let p of patterns ?? []) {
    p = p.trim().replace(/\\/g, '/');
    if (!p) continue;
    if (p.startsWith('./')) p = p.slice(2);
    let dirOnly = false;
    if (p.endsWith('/') && p.length > 1) {
      dirOnly = true;
      p = p.replace(/\/+$/, '');
    }
    const anchored = p.includes('/');
    if (p.startsWith('/')) p = p.slice(1);
    out.push({ re: globToRegExp(anchored ? p : '**/' + p), dirOnly });
  }
  return out;
}

/** Matches a relative path against include/exclude-style globs (see ScanOptions.include). */
export function matchesGlobs(patterns: readonly string[], relPath: string, isDir = false): boolean {
  return compileGlobs(patterns).some((g) => (!g.dirOnly || isDir) && g.re.test(relPath));
}

// ---------------------------------------------------------------------------------------
// Ignore files.

export interface IgnoreRule {
  negate: boolean;
  dirOnly: boolean;
  re: RegExp;
  /** The line it came from (for debugging). */
  pattern: string;
}

/** Parses .gitignore syntax: comments, blank lines, `!` negation, `/` anchoring, trailing `/`, `*`, `**`, `?`, `[...]`, `\` escapes. */
export function parseIgnoreFile(content: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of content.split(/\r?\n|\r/)) {
    let line = raw;
    if (!line.trim() || line.startsWith('#')) continue;
    let negate = false;
    if (line.startsWith('!')) {
      negate = true;
      line = line.slice(1);
    } else if (line.startsWith('\\!') || line.startsWith('\\#')) line = line.slice(1);
    // Trailing spaces are ignored unless escaped with a backslash.
    let end = line.length;
    while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t') && line[end - 2] !== '\\') end--;
    line = line.slice(0, end);
    let dirOnly = false;
    while (line.endsWith('/')) {
      dirOnly = true;
      line = line.slice(0, -1);
    }
    if (!line) continue;
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    if (!line) continue;
    const re = globToRegExp(anchored ? line : '**/' + line, { braces: false, trailingMatchesDir: false });
    rules.push({ negate, dirOnly, re, pattern: raw });
  }
  return rules;
}

interface IgnoreLayer {
  /** Folder of the ignore files, relative to the root ('' for the root). */
  base: string;
  rules: IgnoreRule[];
}

/** Git's precedence: deeper files win over shallower ones; within a file the last matching rule wins. */
export function isIgnoredBy(layers: readonly IgnoreLayer[], relPath: string, isDir: boolean): boolean {
  for (let l = layers.length - 1; l >= 0; l--) {
    const layer = layers[l];
    let sub = relPath;
    if (layer.base) {
      if (!relPath.startsWith(layer.base + '/')) continue;
      sub = relPath.slice(layer.base.length + 1);
    }
    for (let r = layer.rules.length - 1; r >= 0; r--) {
      const rule = layer.rules[r];
      if (rule.dirOnly && !isDir) continue;
      if (rule.re.test(sub)) return !rule.negate;
    }
  }
  return false;
}

async function readSmallText(file: string): Promise<string | undefined> {
  try {
    const st = await fs.promises.stat(file);
    if (!st.isFile() || st.size > 1_000_000) return undefined;
    return await fs.promises.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Rules of one folder: `.gitignore` then `.ignore` (which wins), plus `.git/info/exclude` first at the root. */
async function loadIgnoreLayer(dirAbs: string, base: string): Promise<IgnoreLayer | undefined> {
  const rules: IgnoreRule[] = [];
  const files = base === '' ? ['.git/info/exclude', '.gitignore', '.ignore'] : ['.gitignore', '.ignore'];
  for (const f of files) {
    const content = await readSmallText(path.join(dirAbs, f));
    if (content !== undefined) rules.push(...parseIgnoreFile(content));
  }
  return rules.length ? { base, rules } : undefined;
}

// ---------------------------------------------------------------------------------------
// Default excludes and file checks.

export const DEFAULT_EXCLUDED_DIRS: ReadonlySet<string> = new Set([
  '.git', '.hg', '.svn', 'node_modules', 'bower_components', 'dist', 'out', 'build', 'target', '.venv', 'venv',
  '__pycache__', '.tox', '.mypy_cache', '.pytest_cache', '.ruff_cache', '.next', '.nuxt', '.svelte-kit', '.gradle',
  '.cache', 'coverage', '.terraform',
]);

export const DEFAULT_EXCLUDED_FILES: ReadonlySet<string> = new Set([
  'package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock', 'Cargo.lock',
  'Gemfile.lock', 'poetry.lock', 'Pipfile.lock', 'composer.lock', 'go.sum', 'flake.lock', 'uv.lock', 'pdm.lock',
  'Podfile.lock', 'mix.lock', 'pubspec.lock', 'packages.lock.json', 'gradle.lockfile',
]);

const MINIFIED_NAME = /[.-]min\.(?:js|mjs|cjs|css)$/i;
const MINIFY_CHECKED = new Set(['javascript', 'typescript', 'css', 'scss', 'less']);

/** Heuristic for generated JS/CSS: average line length > 300 or a line longer than 5000. */
export function looksMinified(text: string): boolean {
  if (text.length <= 300) return false;
  let lines = 0;
  let maxLine = 0;
  let i = 0;
  while (i <= text.length) {
    let nl = text.indexOf('\n', i);
    if (nl < 0) nl = text.length;
    lines++;
    if (nl - i > maxLine) maxLine = nl - i;
    i = nl + 1;
  }
  return maxLine > 5000 || text.length / lines > 300;
}

/** A `@generated` or `DO NOT EDIT` marker in the first 10 lines (first 2 KB). */
export function hasGeneratedMarker(text: string): boolean {
  const head = text.slice(0, 2000).split('\n', 10).join('\n');
  return /@generated\b|DO NOT EDIT/.test(head);
}

class Rules {
  readonly maxFileBytes: number;
  private readonly include: CompiledGlob[];
  private readonly exclude: CompiledGlob[];
  private readonly defaults: boolean;
  readonly useIgnoreFiles: boolean;

  constructor(readonly options: ScanOptions) {
    this.maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    this.include = compileGlobs(options.include);
    this.exclude = compileGlobs(options.exclude);
    this.defaults = options.useDefaultExcludes ?? true;
    this.useIgnoreFiles = options.useIgnoreFiles ?? true;
  }

  excludedDir(rel: string, name: string): boolean {
    if (this.defaults && DEFAULT_EXCLUDED_DIRS.has(name)) return true;
    return this.exclude.some((g) => g.re.test(rel));
  }

  excludedFile(rel: string, name: string): boolean {
    if (this.defaults && DEFAULT_EXCLUDED_FILES.has(name)) return true;
    if (this.exclude.some((g) => !g.dirOnly && g.re.test(rel))) return true;
    return this.include.length > 0 && !this.include.some((g) => !g.dirOnly && g.re.test(rel));
  }

  minifiedName(name: string): boolean {
    return this.defaults && MINIFIED_NAME.test(name);
  }
}

type LoadResult = { file: WorkspaceFile } | { skip: SkippedFile };

function errCode(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err?.code ?? err?.message ?? String(e);
}

const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** A file's bytes as text, decoded exactly as the scan decodes them (so offsets agree). */
export function decodeFileText(data: Uint8Array): string {
  return decoder.decode(data);
}

async function loadFile(abs: string, rel: string, st: { size: number; mtimeMs: number }, rules: Rules): Promise<LoadResult> {
  const max = rules.maxFileBytes;
  if (st.size > max) return { skip: { path: rel, reason: 'too-large', detail: `${st.size} bytes > ${max}` } };
  let data: Buffer;
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(abs, 'r');
    const cap = Math.min(st.size, max) + 1; // one more byte tells us the file grew past the limit
    const buf = Buffer.allocUnsafe(cap);
    let n = 0;
    while (n < cap) {
      const { bytesRead } = await fh.read(buf, n, cap - n, n);
      if (!bytesRead) break;
      n += bytesRead;
    }
    if (n > max) return { skip: { path: rel, reason: 'too-large', detail: `more than ${max} bytes` } };
    data = buf.subarray(0, n);
  } catch (e) {
    return { skip: { path: rel, reason: 'unreadable', detail: errCode(e) } };
  } finally {
    await fh?.close().catch(() => {});
  }
  if (data.subarray(0, 8192).indexOf(0) >= 0) return { skip: { path: rel, reason: 'binary', detail: 'NUL byte in the first 8 KB' } };
  const invalidUtf8 = !isUtf8(data);
  const text = decoder.decode(data);
  const lang = languageIdForPath(rel);
  if (lang && MINIFY_CHECKED.has(lang) && looksMinified(text)) {
    return { skip: { path: rel, reason: 'minified', detail: 'very long lines' } };
  }
  if (hasGeneratedMarker(text)) return { skip: { path: rel, reason: 'minified', detail: 'generated (@generated / DO NOT EDIT marker)' } };
  return { file: { path: rel, absPath: abs, text, size: data.length, mtimeMs: st.mtimeMs, invalidUtf8 } };
}

function toPosix(p: string): string {
  return path.sep === '\\' ? p.replace(/\\/g, '/') : p;
}

function isInside(real: string, rootReal: string): boolean {
  return real === rootReal || real.startsWith(rootReal.endsWith(path.sep) ? rootReal : rootReal + path.sep);
}

const MAX_DEPTH = 200;

/**
 * Walks `root` and yields the files to index, in a deterministic order (names sorted per
 * folder). Everything left out is recorded in `report` (also the generator's return value);
 * `options.onSkip` sees the same skipped files as they happen.
 *
 *   const report = new ScanReport();
 *   for await (const f of scanWorkspace(root, {}, report)) { … }
 *   report.skipped, report.counts
 */
export async function* scanWorkspace(
  root: string,
  options: ScanOptions = {},
  report: ScanReport = new ScanReport(),
): AsyncGenerator<WorkspaceFile, ScanReport, undefined> {
  const rules = new Rules(options);
  for await (const entry of walkWorkspace(root, options, report, rules)) {
    const file = await readEntryWith(entry, rules, report);
    if (file) yield file;
  }
  return report;
}

/**
 * Walks `root` like scanWorkspace but reads no file: the entries that pass every rule decided
 * from names and stat (ignore files, globs, support, size is checked later by readEntry). Lets
 * a caller count and size the work first, and skip reading files whose stat is unchanged.
 */
export function listWorkspace(root: string, options: ScanOptions = {}, report: ScanReport = new ScanReport()): AsyncGenerator<WorkspaceEntry, ScanReport, undefined> {
  return walkWorkspace(root, options, report, new Rules(options));
}

/**
 * Reads one listed entry with the scan's checks (size, binary, minified/generated, UTF-8).
 * A file left out is recorded in `report` (and `options.onSkip`) and gives undefined.
 */
export function readEntry(entry: WorkspaceEntry, options: ScanOptions = {}, report: ScanReport = new ScanReport()): Promise<WorkspaceFile | undefined> {
  return readEntryWith(entry, new Rules(options), report);
}

async function readEntryWith(entry: WorkspaceEntry, rules: Rules, report: ScanReport): Promise<WorkspaceFile | undefined> {
  const r = await loadFile(entry.absPath, entry.path, entry, rules);
  if ('skip' in r) {
    report.skip(r.skip, rules.options.onSkip);
    return undefined;
  }
  report.files++;
  report.bytes += r.file.size;
  if (r.file.invalidUtf8) report.invalidUtf8.push(entry.path);
  return r.file;
}

async function* walkWorkspace(root: string, options: ScanOptions, report: ScanReport, rules: Rules): AsyncGenerator<WorkspaceEntry, ScanReport, undefined> {
  const rootAbs = path.resolve(root);
  const rootReal = await fs.promises.realpath(rootAbs);
  const visited = new Set<string>();
  const onSkip = options.onSkip;

  const dirKey = (st: fs.Stats, real: string): string => (st.ino ? `${st.dev}:${st.ino}` : real);

  async function* walk(dirAbs: string, dirRel: string, layers: IgnoreLayer[], depth: number): AsyncGenerator<WorkspaceEntry> {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(dirAbs, { withFileTypes: true });
    } catch (e) {
      report.skip({ path: dirRel || '.', reason: 'unreadable', detail: `folder: ${errCode(e)}` }, onSkip);
      return;
    }
    if (rules.useIgnoreFiles) {
      const layer = await loadIgnoreLayer(dirAbs, dirRel);
      if (layer) layers = [...layers, layer];
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const ent of entries) {
      if (options.signal?.aborted) throw new Error('workspace scan aborted');
      const name = ent.name;
      const rel = dirRel ? `${dirRel}/${name}` : name;
      const abs = path.join(dirAbs, name);
      let isDir = ent.isDirectory();
      let isFile = ent.isFile();
      let st: fs.Stats | undefined;
      if (ent.isSymbolicLink()) {
        try {
          const real = await fs.promises.realpath(abs);
          if (!isInside(real, rootReal)) {
            report.symlinksNotFollowed++;
            continue;
          }
          st = await fs.promises.stat(abs);
        } catch {
          report.symlinksNotFollowed++; // broken link or a cycle of links
          continue;
        }
        isDir = st.isDirectory();
        isFile = st.isFile();
      }
      if (isDir) {
        if (rules.excludedDir(rel, name)) {
          report.excluded++;
          continue;
        }
        if (isIgnoredBy(layers, rel, true)) {
          report.ignored++;
          continue;
        }
        if (depth >= MAX_DEPTH) continue;
        try {
          st ??= await fs.promises.stat(abs);
          const key = dirKey(st, ent.isSymbolicLink() ? await fs.promises.realpath(abs) : abs);
          if (visited.has(key)) {
            report.symlinksNotFollowed++;
            continue;
          }
          visited.add(key);
        } catch (e) {
          report.skip({ path: rel, reason: 'unreadable', detail: `folder: ${errCode(e)}` }, onSkip);
          continue;
        }
        yield* walk(abs, rel, layers, depth + 1);
        continue;
      }
      if (!isFile) continue; // sockets, FIFOs, devices: never opened
      if (rules.excludedFile(rel, name)) {
        report.excluded++;
        continue;
      }
      if (isIgnoredBy(layers, rel, false)) {
        report.ignored++;
        continue;
      }
      if (!isSupportedPath(rel, options)) {
        report.skip({ path: rel, reason: 'unsupported' }, onSkip);
        continue;
      }
      if (rules.minifiedName(name)) {
        report.skip({ path: rel, reason: 'minified', detail: 'file name' }, onSkip);
        continue;
      }
      try {
        st ??= await fs.promises.stat(abs);
      } catch (e) {
        report.skip({ path: rel, reason: 'unreadable', detail: errCode(e) }, onSkip);
        continue;
      }
      yield { path: rel, absPath: abs, size: st.size, mtimeMs: st.mtimeMs };
    }
  }

  const rootStat = await fs.promises.stat(rootReal);
  if (!rootStat.isDirectory()) throw new Error(`not a folder: ${rootAbs}`);
  visited.add(dirKey(rootStat, rootReal));
  yield* walk(rootAbs, '', [], 0);
  return report;
}

/** Convenience: all files of a scan, plus its report. */
export async function collectWorkspace(root: string, options: ScanOptions = {}): Promise<{ files: WorkspaceFile[]; report: ScanReport }> {
  const report = new ScanReport();
  const files: WorkspaceFile[] = [];
  for await (const f of scanWorkspace(root, options, report)) files.push(f);
  return { files, report };
}

export type ReadResult =
  | { status: 'ok'; file: WorkspaceFile }
  | { status: 'skipped'; skipped: SkippedFile }
  | { status: 'ignored' | 'excluded' | 'unsupported' | 'missing' };

/**
 * Applies the same rules as scanWorkspace to one file (e.g. for a file watcher): excludes
 * and ignore files along its folders, support, size, binary, minified checks.
 * `relPath` is relative to `root` with forward slashes.
 */
export async function readWorkspaceFile(root: string, relPath: string, options: ScanOptions = {}): Promise<ReadResult> {
  const rules = new Rules(options);
  const rel = toPosix(relPath).replace(/^\.?\/+/, '');
  const parts = rel.split('/').filter((p) => p && p !== '.');
  if (!parts.length || parts.includes('..')) return { status: 'excluded' };
  const rootAbs = path.resolve(root);
  let layers: IgnoreLayer[] = [];
  for (let i = 0; i < parts.length - 1; i++) {
    const dirRel = parts.slice(0, i).join('/');
    if (rules.useIgnoreFiles) {
      const layer = await loadIgnoreLayer(path.join(rootAbs, ...parts.slice(0, i)), dirRel);
      if (layer) layers = [...layers, layer];
    }
    const sub = parts.slice(0, i + 1).join('/');
    if (rules.excludedDir(sub, parts[i])) return { status: 'excluded' };
    if (isIgnoredBy(layers, sub, true)) return { status: 'ignored' };
  }
  if (rules.useIgnoreFiles) {
    const dirRel = parts.slice(0, -1).join('/');
    const layer = await loadIgnoreLayer(path.join(rootAbs, ...parts.slice(0, -1)), dirRel);
    if (layer) layers = [...layers, layer];
  }
  const name = parts[parts.length - 1];
  const relNorm = parts.join('/');
  if (rules.excludedFile(relNorm, name)) return { status: 'excluded' };
  if (isIgnoredBy(layers, relNorm, false)) return { status: 'ignored' };
  if (!isSupportedPath(relNorm, options)) return { status: 'unsupported' };
  if (rules.minifiedName(name)) return { status: 'skipped', skipped: { path: relNorm, reason: 'minified', detail: 'file name' } };
  const abs = path.join(rootAbs, ...parts);
  let st: fs.Stats;
  try {
    const [real, rootReal] = await Promise.all([fs.promises.realpath(abs), fs.promises.realpath(rootAbs)]);
    if (!isInside(real, rootReal)) return { status: 'excluded' };
    st = await fs.promises.stat(abs);
  } catch (e) {
    const code = errCode(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { status: 'missing' };
    return { status: 'skipped', skipped: { path: relNorm, reason: 'unreadable', detail: code } };
  }
  if (!st.isFile()) return { status: 'missing' };
  const r = await loadFile(abs, relNorm, st, rules);
  return 'skip' in r ? { status: 'skipped', skipped: r.skip } : { status: 'ok', file: r.file };
}
