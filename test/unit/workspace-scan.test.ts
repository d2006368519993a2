import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SkippedFile } from '../../src/core/types';
import {
  collectWorkspace,
  globToRegExp,
  hasGeneratedMarker,
  isIgnoredBy,
  looksMinified,
  matchesGlobs,
  parseIgnoreFile,
  readWorkspaceFile,
  scanWorkspace,
  ScanReport,
} from '../../src/core/workspace/scan';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function mkTemp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function write(root: string, rel: string, content: string | Buffer): void {
  const p = path.join(root, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, content);
}

describe('globToRegExp', () => {
  const cases: Array<[string, string, boolean]> = [
    ['*.md', 'a.md', true], ['*.md', 'dir/a.md', false], ['*.md', '.md', true], ['a?c', 'abc', true], ['a?c', 'a/c', false],
    ['**/*.md', 'a.md', true], ['**/*.md', 'x/y/a.md', true], ['src/**', 'src', true], ['src/**', 'src/a/b.ts', true],
    ['src/**', 'srcx/a', false], ['a/**/b', 'a/b', true], ['a/**/b', 'a/x/y/b', true], ['a/**/b', 'a/xb', false],
    ['*.{ts,js}', 'a.js', true], ['*.{ts,js}', 'a.md', false], ['[abc].md', 'b.md', true], ['[!abc].md', 'b.md', false],
    ['[!abc].md', 'd.md', true], ['[a-c]x', 'bx', true], ['\\*.md', '*.md', true], ['\\*.md', 'a.md', false],
    ['a.b', 'aXb', false], ['foo**bar', 'fooXbar', true], ['foo**bar', 'foo/bar', false], ['**', 'any/thing', true],
    ['(x)+.md', '(x)+.md', true], ['[unclosed', '[unclosed', true],
  ];
  for (const [glob, p, expected] of cases) {
    it(`${glob} ${expected ? 'matches' : 'does not match'} ${p}`, () => assert.equal(globToRegExp(glob).test(p), expected));
  }
  it('trailing /** can exclude the folder itself or not', () => {
    assert.equal(globToRegExp('abc/**', { trailingMatchesDir: false }).test('abc'), false);
    assert.equal(globToRegExp('abc/**', { trailingMatchesDir: false }).test('abc/x'), true);
    assert.equal(globToRegExp('{a,b}', { braces: false }).test('{a,b}'), true);
  });
  it('include/exclude globs without a slash match the base name at any depth', () => {
    assert.equal(matchesGlobs(['*.md'], 'docs/deep/a.md'), true);
    assert.equal(matchesGlobs(['docs/*.md'], 'docs/deep/a.md'), false);
    assert.equal(matchesGlobs(['/docs/'], 'docs', true), true);
    assert.equal(matchesGlobs(['docs/'], 'docs', false), false);
  });
});

describe('.gitignore rules', () => {
  const ignored = (content: string, p: string, isDir = false): boolean => isIgnoredBy([{ base: '', rules: parseIgnoreFile(content) }], p, isDir);

  it('comments, blank lines, basename patterns and anchoring', () => {
    const gi = '# a comment\n\n*.log\n/root-only.md\ndocs/internal.md\n\\#hash.md\n';
    assert.equal(ignored(gi, 'x.log'), true);
    assert.equal(ignored(gi, 'a/b/x.log'), true);
    assert.equal(ignored(gi, '# a comment'), false);
    assert.equal(ignored(gi, 'root-only.md'), true);
    assert.equal(ignored(gi, 'sub/root-only.md'), false);
    assert.equal(ignored(gi, 'docs/internal.md'), true);
    assert.equal(ignored(gi, 'x/docs/internal.md'), false, 'a pattern with a middle slash is anchored');
    assert.equal(ignored(gi, '#hash.md'), true);
  });

  it('negation: the last matching rule wins', () => {
    const gi = '*.md\n!keep.md\n';
    assert.equal(ignored(gi, 'a.md'), true);
    assert.equal(ignored(gi, 'x/keep.md'), false);
    assert.equal(ignored('!keep.md\n*.md\n', 'keep.md'), true);
    assert.equal(ignored('\\!bang.md\n', '!bang.md'), true);
  });

  it('trailing slash matches folders only; ** forms; ?; trailing spaces', () => {
    assert.equal(ignored('build/\n', 'build', true), true);
    assert.equal(ignored('build/\n', 'build', false), false);
    assert.equal(ignored('build/\n', 'a/build', true), true);
    assert.equal(ignored('**/tmp\n', 'a/b/tmp', true), true);
    assert.equal(ignored('logs/**\n', 'logs', true), false, '`dir/**` ignores the contents, not the folder');
    assert.equal(ignored('logs/**\n', 'logs/a/b.md'), true);
    assert.equal(ignored('a/**/z.md\n', 'a/z.md'), true);
    assert.equal(ignored('a/**/z.md\n', 'a/b/c/z.md'), true);
    assert.equal(ignored('file?.md\n', 'file1.md'), true);
    assert.equal(ignored('trail.md   \n', 'trail.md'), true);
    assert.equal(ignored('space\\ \n', 'space '), true);
    assert.equal(ignored('CRLF.md\r\n', 'CRLF.md'), true);
  });

  it('nested ignore files take precedence over outer ones', () => {
    const layers = [
      { base: '', rules: parseIgnoreFile('*.gen.ts\n') },
      { base: 'src', rules: parseIgnoreFile('!keep.gen.ts\n/local.ts\n') },
    ];
    assert.equal(isIgnoredBy(layers, 'src/a.gen.ts', false), true);
    assert.equal(isIgnoredBy(layers, 'src/keep.gen.ts', false), false);
    assert.equal(isIgnoredBy(layers, 'other/keep.gen.ts', false), true, 'rules of src/ do not apply outside it');
    assert.equal(isIgnoredBy(layers, 'src/local.ts', false), true);
    assert.equal(isIgnoredBy(layers, 'src/x/local.ts', false), false, 'anchored to the folder of its ignore file');
  });
});

describe('heuristics', () => {
  it('minified JS/CSS', () => {
    assert.equal(looksMinified('x'.repeat(6000)), true);
    assert.equal(looksMinified(('a'.repeat(400) + '\n').repeat(10)), true);
    assert.equal(looksMinified(('const a = 1;\n').repeat(1000)), false);
    assert.equal(looksMinified(('const a = 1;\n').repeat(1000) + 'x'.repeat(5001)), true);
  });
  it('generated markers in the first lines only', () => {
    assert.equal(hasGeneratedMarker('// Code generated by protoc-gen-go. DO NOT EDIT.\npackage x\n'), true);
    assert.equal(hasGeneratedMarker('/**\n * @generated\n */\n'), true);
    assert.equal(hasGeneratedMarker('a\n'.repeat(20) + '// DO NOT EDIT\n'), false);
    assert.equal(hasGeneratedMarker('// do not edit lightly\n'), false);
  });
});

describe('scanWorkspace', () => {
  let root = '';
  let outside = '';
  let files: Awaited<ReturnType<typeof collectWorkspace>>['files'] = [];
  let report = new ScanReport();
  const onSkipSeen: SkippedFile[] = [];
  const opened: string[] = [];
  const realOpen = fs.promises.open;
  let hasFifo = false;

  before(async () => {
    root = mkTemp('es-scan-');
    outside = mkTemp('es-outside-');
    write(outside, 'outside.md', '# Outside\n\nMust never be indexed.\n');
    write(root, 'README.md', '# Readme\n\nHello there.\n');
    write(root, '.gitignore', '# ignore rules\n*.log\n/secret.md\ndocs/**/draft*.md\n!docs/keep/draft-keep.md\nignored-dir/\n');
    write(root, 'secret.md', 'secret text');
    write(root, 'sub/secret.md', 'not anchored here, so kept');
    write(root, 'notes.log', 'log');
    write(root, 'docs/guide.md', '# Guide\n\nGuide text.\n');
    write(root, 'docs/a/draft-1.md', 'draft');
    write(root, 'docs/keep/draft-keep.md', 'kept draft');
    write(root, 'ignored-dir/x.md', 'ignored');
    write(root, 'src/a.ts', '// A comment with words.\nexport const a = 1;\n');
    write(root, 'src/.gitignore', 'generated/\n*.gen.ts\n!keep.gen.ts\n');
    write(root, 'src/.ignore', 'tmp.ts\n');
    write(root, 'src/x.gen.ts', 'x');
    write(root, 'src/keep.gen.ts', 'export const k = 1;\n');
    write(root, 'src/tmp.ts', 'tmp');
    write(root, 'src/generated/g.ts', 'g');
    write(root, 'node_modules/pkg/index.js', 'module.exports = 1');
    write(root, 'packages/p/node_modules/q/index.js', 'nested node_modules');
    write(root, 'dist/out.js', 'out');
    write(root, 'target/debug/x.rs', 'fn main() {}');
    write(root, '.git/config', '[core]');
    write(root, 'package-lock.json', '{}');
    write(root, 'pnpm-lock.yaml', 'lockfileVersion: 9');
    write(root, 'lib/app.min.js', 'var a=1;');
    write(root, 'lib/bundle.js', 'var a=1;'.repeat(1000));
    write(root, 'lib/gen.go', '// Code generated by stringer. DO NOT EDIT.\npackage lib\n');
    write(root, 'lib/ok.py', '"""A module docstring with words."""\n');
    write(root, 'bin.ts', Buffer.from([0x2f, 0x2f, 0x20, 0x61, 0x00, 0x62]));
    fs.closeSync(fs.openSync(path.join(root, 'big.md'), 'w'));
    fs.truncateSync(path.join(root, 'big.md'), 2_000_000); // sparse: cheap to create
    write(root, 'bad.md', Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from(' au lait \u00e9t\u00e9\n')]));
    write(root, 'bom.md', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('# Bom\n\nText.\n')]));
    write(root, 'image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    write(root, 'unreadable.md', '# Locked\n\nText.\n');
    fs.chmodSync(path.join(root, 'unreadable.md'), 0o000);
    fs.symlinkSync('.', path.join(root, 'loop'));
    fs.symlinkSync('..', path.join(root, 'src', 'up'));
    fs.symlinkSync(outside, path.join(root, 'outside-link'));
    fs.symlinkSync(path.join(outside, 'outside.md'), path.join(root, 'outside-file.md'));
    fs.symlinkSync('docs', path.join(root, 'docs-link'));
    fs.symlinkSync('README.md', path.join(root, 'readme-link.md'));
    fs.symlinkSync('does-not-exist.md', path.join(root, 'broken.md'));
    try {
      execFileSync('mkfifo', [path.join(root, 'pipe.md')]);
      hasFifo = true;
    } catch {
      hasFifo = false;
    }
    (fs.promises as { open: typeof fs.promises.open }).open = (async (p: fs.PathLike, ...rest: unknown[]) => {
      opened.push(String(p));
      return (realOpen as (...a: unknown[]) => Promise<fs.promises.FileHandle>)(p, ...rest);
    }) as typeof fs.promises.open;
    try {
      ({ files, report } = await collectWorkspace(root, { maxFileBytes: 1_000_000, onSkip: (s) => onSkipSeen.push(s) }));
    } finally {
      (fs.promises as { open: typeof fs.promises.open }).open = realOpen;
    }
  });

  after(() => {
    fs.chmodSync(path.join(root, 'unreadable.md'), 0o644);
    fs.rmSync(root, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  const paths = (): string[] => files.map((f) => f.path);

  it('yields supported, non-ignored files with relative forward-slash paths, in sorted order', () => {
    const expected = [
      'README.md', 'bad.md', 'bom.md', 'docs/guide.md', 'docs/keep/draft-keep.md', 'lib/ok.py', 'readme-link.md',
      'src/a.ts', 'src/keep.gen.ts', 'sub/secret.md',
    ];
    if (isRoot) expected.splice(expected.indexOf('sub/secret.md') + 1, 0, 'unreadable.md');
    assert.deepEqual(paths(), expected);
    for (const f of files) {
      assert.equal(f.absPath, path.join(root, ...f.path.split('/')));
      assert.equal(typeof f.mtimeMs, 'number');
      assert.equal(f.size, Buffer.byteLength(f.text, 'utf8') - (f.invalidUtf8 ? 2 : 0));
    }
  });

  it('honours root and nested .gitignore/.ignore with negation and anchoring', () => {
    const p = paths();
    for (const gone of ['secret.md', 'docs/a/draft-1.md', 'ignored-dir/x.md', 'src/x.gen.ts', 'src/tmp.ts', 'src/generated/g.ts']) {
      assert.ok(!p.includes(gone), gone);
    }
    assert.ok(p.includes('docs/keep/draft-keep.md') && p.includes('src/keep.gen.ts') && p.includes('sub/secret.md'));
    assert.ok(report.ignored >= 6);
  });

  it('applies default excludes (dependency/build folders, lock files)', () => {
    assert.ok(!paths().some((p) => /node_modules|^dist|^target|^\.git|lock/.test(p)));
    assert.ok(report.excluded >= 7, `excluded ${report.excluded}`);
  });

  it('reports binary, too-large, minified/generated and unreadable files', () => {
    const by = (reason: string): string[] => report.skipped.filter((s) => s.reason === reason).map((s) => s.path).sort();
    assert.deepEqual(by('binary'), ['bin.ts']);
    assert.deepEqual(by('too-large'), ['big.md']);
    assert.deepEqual(by('minified'), ['lib/app.min.js', 'lib/bundle.js', 'lib/gen.go']);
    if (isRoot) {
      // Running as root: chmod 000 does not stop root from reading, so the file is indexed.
      assert.deepEqual(by('unreadable'), []);
    } else {
      assert.deepEqual(by('unreadable'), ['unreadable.md']);
    }
    assert.equal(report.counts.binary, 1);
    assert.equal(report.counts['too-large'], 1);
    assert.ok(report.counts.unsupported >= 1, 'image.png is counted as unsupported');
    assert.ok(!report.skipped.some((s) => s.reason === 'unsupported'), 'unsupported files are only counted');
    assert.deepEqual(onSkipSeen, report.skipped);
  });

  it('checks the size before reading: the 2 MB file is never opened', () => {
    assert.ok(!opened.some((p) => p.endsWith('big.md')), 'big.md was opened');
    assert.ok(!opened.some((p) => p.endsWith('pipe.md')), 'a FIFO must never be opened');
    assert.ok(!opened.some((p) => p.endsWith('.png')), 'unsupported files are not read');
    if (!hasFifo) assert.ok(true, 'mkfifo not available: FIFO case not exercised');
  });

  it('decodes invalid UTF-8 with U+FFFD and flags it; keeps a BOM as U+FEFF', () => {
    const bad = files.find((f) => f.path === 'bad.md')!;
    assert.equal(bad.invalidUtf8, true);
    assert.equal(bad.text, 'caf\ufffd au lait \u00e9t\u00e9\n');
    assert.deepEqual(report.invalidUtf8, ['bad.md']);
    const bom = files.find((f) => f.path === 'bom.md')!;
    assert.equal(bom.invalidUtf8, false);
    assert.equal(bom.text, '\ufeff# Bom\n\nText.\n');
  });

  it('follows symlinks only inside the root and never loops', () => {
    const p = paths();
    assert.ok(!p.some((x) => x.startsWith('loop/') || x.startsWith('src/up/') || x.includes('outside')), p.join(','));
    assert.ok(!p.some((x) => x.startsWith('docs-link/')), 'an already visited folder is not walked twice');
    assert.ok(p.includes('readme-link.md'), 'a file link inside the root is followed');
    assert.ok(report.symlinksNotFollowed >= 5, `symlinks not followed: ${report.symlinksNotFollowed}`);
  });

  it('an empty workspace yields nothing', async () => {
    const empty = mkTemp('es-empty-');
    try {
      const r = new ScanReport();
      const gen = scanWorkspace(empty, {}, r);
      const first = await gen.next();
      assert.equal(first.done, true);
      assert.equal(first.value, r, 'the generator returns its report');
      assert.equal(r.files, 0);
      assert.deepEqual(r.skipped, []);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });

  it('a missing root throws', async () => {
    await assert.rejects(collectWorkspace(path.join(root, 'nope')));
  });

  it('include/exclude globs, languages, and switching defaults off', async () => {
    const inc = await collectWorkspace(root, { include: ['*.md'], exclude: ['sub/', 'docs/keep/**'] });
    assert.ok(inc.files.every((f) => f.path.endsWith('.md')));
    assert.ok(!inc.files.some((f) => f.path.startsWith('sub/') || f.path.startsWith('docs/keep/')));
    const py = await collectWorkspace(root, { languages: ['python'] });
    assert.deepEqual(py.files.map((f) => f.path).filter((p) => !p.endsWith('.md')), ['lib/ok.py']);
    const raw = await collectWorkspace(root, { useIgnoreFiles: false, useDefaultExcludes: false, maxFileBytes: 3_000_000 });
    const rp = raw.files.map((f) => f.path);
    for (const p of ['secret.md', 'src/x.gen.ts', 'node_modules/pkg/index.js', 'pnpm-lock.yaml']) assert.ok(rp.includes(p), p);
    // under a 3 MB limit the sparse file is read: it is all NUL bytes, so binary
    assert.ok(raw.report.skipped.some((s) => s.path === 'big.md' && s.reason === 'binary'));
    assert.ok(!raw.report.skipped.some((s) => s.path === 'lib/app.min.js'), '*.min.js is a default exclude');
  });

  it('readWorkspaceFile applies the same rules to one path', async () => {
    assert.equal((await readWorkspaceFile(root, 'src/a.ts')).status, 'ok');
    assert.equal((await readWorkspaceFile(root, 'src/x.gen.ts')).status, 'ignored');
    assert.equal((await readWorkspaceFile(root, 'src/keep.gen.ts')).status, 'ok');
    assert.equal((await readWorkspaceFile(root, 'docs/a/draft-1.md')).status, 'ignored');
    assert.equal((await readWorkspaceFile(root, 'ignored-dir/x.md')).status, 'ignored');
    assert.equal((await readWorkspaceFile(root, 'node_modules/pkg/index.js')).status, 'excluded');
    assert.equal((await readWorkspaceFile(root, 'image.png')).status, 'unsupported');
    assert.equal((await readWorkspaceFile(root, 'gone.md')).status, 'missing');
    assert.equal((await readWorkspaceFile(root, '../x.md')).status, 'excluded');
    assert.equal((await readWorkspaceFile(root, 'outside-file.md')).status, 'excluded');
    const big = await readWorkspaceFile(root, 'big.md');
    assert.ok(big.status === 'skipped' && big.skipped.reason === 'too-large');
    const ok = await readWorkspaceFile(root, 'docs/guide.md');
    assert.ok(ok.status === 'ok' && ok.file.text.startsWith('# Guide') && ok.file.path === 'docs/guide.md');
  });

  it('an open() error (EACCES) is reported as unreadable, not thrown (simulated, so it also runs as root)', async () => {
    (fs.promises as { open: typeof fs.promises.open }).open = (async (p: fs.PathLike, ...rest: unknown[]) => {
      if (String(p).endsWith('guide.md')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      return (realOpen as (...a: unknown[]) => Promise<fs.promises.FileHandle>)(p, ...rest);
    }) as typeof fs.promises.open;
    try {
      const r = await collectWorkspace(root);
      assert.ok(r.report.skipped.some((s) => s.path === 'docs/guide.md' && s.reason === 'unreadable' && s.detail === 'EACCES'));
      assert.ok(r.files.some((f) => f.path === 'README.md'), 'the scan goes on');
    } finally {
      (fs.promises as { open: typeof fs.promises.open }).open = realOpen;
    }
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(collectWorkspace(root, { signal: ac.signal }), /aborted/);
  });
});
