import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { declaredName, lexComments } from '../../src/core/extract/comments';
import { extractPassages, isSupportedPath } from '../../src/core/extract/index';
import { languageForPath, languageIdForPath, normalizeLanguageId, syntaxForLanguage } from '../../src/core/extract/languages';
import { passageText } from '../../src/core/extract/passage-text';
import type { Passage } from '../../src/core/types';
import { allText, assertPassageInvariants } from './extract-invariants';

const DIR = path.join(__dirname, '../fixtures/extract/comments');
const fixtures = fs.readdirSync(DIR).sort();
const read = (f: string): string => fs.readFileSync(path.join(DIR, f), 'utf8');

/** The passage containing a FOUND tag. */
function find(ps: Passage[], tag: string): Passage {
  const p = ps.find((q) => passageText(q).text.includes(tag));
  assert.ok(p, `no passage contains ${tag}`);
  return p;
}

describe('comment extraction: every fixture', () => {
  for (const f of fixtures) {
    it(`${f}: finds every FOUND comment, nothing from strings, nothing filtered`, () => {
      const text = read(f);
      const lang = languageForPath(f);
      assert.ok(lang && lang.kind === 'code', `${f} is a supported code file`);
      const expected = [...new Set(text.match(/FOUND-\w+/g))];
      assert.ok(expected.length >= 2, 'fixture has FOUND tags');
      for (const variant of ['lf', 'crlf', 'cr', 'bom'] as const) {
        let t = text;
        if (variant === 'crlf') t = t.replace(/\n/g, '\r\n');
        if (variant === 'cr') t = t.replace(/\n/g, '\r');
        if (variant === 'bom') t = '\ufeff' + t;
        for (const maxChars of [1000, 25]) {
          const ps = extractPassages(`src/${f}`, t, { maxChars });
          const label = `${f}/${variant}/${maxChars}`;
          assertPassageInvariants(t, ps, label);
          const all = allText(ps);
          for (const tag of expected) assert.ok(all.includes(tag), `${label}: missing ${tag}\n${all}`);
          assert.ok(!all.includes('NOTCOMMENT'), `${label}: text from a string or heredoc became a comment:\n${all}`);
          assert.ok(!all.includes('SKIPPED'), `${label}: a filtered comment was kept:\n${all}`);
          for (const p of ps) {
            assert.equal(p.kind, 'comment');
            assert.equal(p.language, lang.id);
            assert.equal(p.path, `src/${f}`);
          }
        }
      }
      // Segments are the same whatever the line endings.
      const lf = extractPassages(f, text).map((p) => p.segments.map((s) => s.text));
      const crlf = extractPassages(f, text.replace(/\n/g, '\r\n')).map((p) => p.segments.map((s) => s.text));
      assert.deepEqual(crlf, lf);
    });
  }
});

describe('comment passages: contexts and bodies', () => {
  const contexts: Record<string, Record<string, string>> = {
    'sample.ts': { 'ts1': 'sample.ts url', 'ts2': 'sample.ts div', 'ts3': 'sample.ts sendPayload', 'ts4': 'sample.ts', 'ts5': 'sample.ts timeout', 'ts6': 'sample.ts close' },
    'sample.js': { 'js1': 'sample.js a', 'js6': 'sample.js onRequest', 'js7': 'sample.js onSend', 'js8': 'sample.js el' },
    'sample.py': { 'py1': 'sample.py', 'py3': 'sample.py handler', 'py4': 'sample.py x', 'py5': 'sample.py Server', 'py6': 'sample.py close', 'py7': 'sample.py close' },
    'sample.rs': { 'rs7': 'sample.rs Wrapper', 'rs9': 'sample.rs new', 'rs8': 'sample.rs inner', 'rs3': 'sample.rs main' },
    'sample.go': { 'go3': 'sample.go Close', 'go2': 'sample.go r', 'go1': 'sample.go' },
    'Sample.java': { 'java1': 'Sample.java Sample', 'java2': 'Sample.java URL', 'java4': 'Sample.java run' },
    'sample.kt': { 'kt3': 'sample.kt greet' },
    'sample.c': { 'c2': 'sample.c MAX_ITEMS', 'c3': 'sample.c parse_args' },
    'sample.cpp': { 'cpp4': 'sample.cpp get', 'cpp3': 'sample.cpp Box' },
    'sample.cs': { 'cs2': 'sample.cs Total' },
    'sample.swift': { 'sw2': 'sample.swift add' },
    'sample.rb': { 'rb1': 'sample.rb Greeter', 'rb2': 'sample.rb URL' },
    'sample.sh': { 'sh2': 'sample.sh count', 'sh4': 'sample.sh deploy' },
    'sample.yaml': { 'yml1': 'sample.yaml name', 'yml2': 'sample.yaml on' },
    'sample.toml': { 'toml1': 'sample.toml package', 'toml2': 'sample.toml version' },
  };
  for (const [f, tags] of Object.entries(contexts)) {
    it(`${f}: contexts name the documented symbol`, () => {
      const ps = extractPassages(f, read(f));
      for (const [tag, ctx] of Object.entries(tags)) assert.equal(find(ps, `FOUND-${tag}`).context, ctx, `FOUND-${tag}`);
    });
  }

  it('strips doc-comment stars, keeps JSDoc tags, one segment per line', () => {
    const ps = extractPassages('sample.ts', read('sample.ts'));
    assert.deepEqual(find(ps, 'FOUND-ts3').segments.map((s) => s.text), [
      'FOUND-ts3 Sends the payload to the client.',
      '@param payload the data to send',
      '@returns whether it was sent',
    ]);
    const text = read('sample.ts');
    const p = find(ps, 'FOUND-ts3');
    assert.ok(text.slice(p.start, p.end).startsWith('/**') && text.slice(p.start, p.end).endsWith('*/'));
  });

  it('merges consecutive line comments; a blank line or code ends the run', () => {
    const text = '// first line of one\n// second line of one\n\n// a separate comment here\nx();\n// third comment after code\n';
    const ps = extractPassages('a.ts', text);
    assert.deepEqual(ps.map((p) => p.segments.map((s) => s.text)), [
      ['first line of one', 'second line of one'],
      ['a separate comment here'],
      ['third comment after code'],
    ]);
    assert.equal(ps[1].context, 'a.ts x');
  });

  it('python docstrings: quotes stripped, indentation trimmed', () => {
    const ps = extractPassages('sample.py', read('sample.py'));
    assert.deepEqual(find(ps, 'FOUND-py3').segments.map((s) => s.text), ['FOUND-py3 Handle the request.', 'Indented continuation line stays readable.']);
    const text = read('sample.py');
    const p = find(ps, 'FOUND-py3');
    assert.ok(text.slice(p.start, p.end).startsWith("r'''") && text.slice(p.start, p.end).endsWith("'''"));
  });

  it('rust nested block comments are one comment', () => {
    const ps = extractPassages('sample.rs', read('sample.rs'));
    assert.ok(passageText(find(ps, 'FOUND-rs3')).text.includes('still the outer comment'));
  });

  it('ruby =begin/=end blocks and __END__', () => {
    const ps = extractPassages('sample.rb', read('sample.rb'));
    assert.equal(passageText(find(ps, 'FOUND-rb6')).text, 'FOUND-rb6 An embedded document block in Ruby.');
  });

  it('skips license headers only before the first code', () => {
    const lic = '/*\n * Copyright 2020 Foo Inc.\n * Licensed under the MIT license.\n */\n';
    assert.equal(extractPassages('a.ts', lic + 'const x = 1;\n').length, 0);
    assert.equal(extractPassages('a.ts', 'const x = 1;\n' + lic).length, 1);
    assert.equal(extractPassages('a.ts', '// Copyright notice for the docs of this function only\nfunction f() {}\n').length, 1);
    assert.equal(extractPassages('a.py', '"""Copyright 2020 X. Licensed under the MIT license."""\nimport os\n').length, 0);
  });

  it('drops short comments, pragmas and commented-out code', () => {
    const text = [
      'x(); // TODO', 'x(); // eslint-disable-line no-console', '// @ts-ignore', '// istanbul ignore next',
      '# not a comment in ts', '// return compute(x);', '// if (a) {', '//   b();', '// }',
      '/* prettier-ignore */', '/// <reference path="x" />', '// ----------------', '',
    ].join('\n');
    assert.deepEqual(extractPassages('a.ts', text), []);
    // but a doc comment with a code example is kept
    const doc = '/**\n * Example of use in code:\n * foo();\n * bar();\n */\nfunction f() {}\n';
    assert.equal(extractPassages('a.ts', doc).length, 1);
  });

  it('splits long comments at maxChars, keeping the context', () => {
    const body = Array.from({ length: 30 }, (_, i) => `// Line ${i} of a long explanation about the thing.`).join('\n');
    const text = body + '\nfunction documented() {}\n';
    const ps = extractPassages('a.ts', text, { maxChars: 120 });
    assertPassageInvariants(text, ps);
    assert.ok(ps.length >= 8);
    for (const p of ps) {
      assert.equal(p.context, 'a.ts documented');
      assert.ok(passageText(p).text.length <= 120);
    }
    assert.equal(ps[0].start, 0);
    assert.equal(ps[ps.length - 1].end, body.length);
  });

  it('non-ASCII, emoji and tabs stay verbatim', () => {
    const text = '\t// Grüße an alle 😀 — ünïcödé comment here\n\tconst grüße = 1;\n';
    const ps = extractPassages('a.js', text);
    assert.equal(ps[0].segments[0].text, 'Grüße an alle 😀 — ünïcödé comment here');
    assert.equal(ps[0].context, 'a.js grüße');
    assertPassageInvariants(text, ps);
  });

  it('unterminated comments and strings at EOF do not throw', () => {
    for (const [f, t] of [
      ['a.ts', '/* never closed comment with words'], ['a.ts', 'const s = `template ${'], ['a.py', 'x = """never closed'],
      ['a.rs', '/* /* nested */ open forever'], ['a.rb', '=begin\nopen doc block here'], ['a.sh', 'cat <<EOF\nbody'],
      ['a.cs', 'var s = @"open'], ['a.cpp', 'auto s = R"x(open'], ['a.swift', 'let s = #"open'], ['a.py', 'def f():\n    """'],
    ]) {
      const ps = extractPassages(f, t);
      assertPassageInvariants(t, ps, f);
    }
    assert.equal(passageText(extractPassages('a.ts', '/* never closed comment with words')[0]).text, 'never closed comment with words');
  });

  it('the languages option restricts comment languages (aliases accepted); Markdown always passes', () => {
    const ts = '// a comment with enough words\nconst x = 1;\n';
    assert.equal(extractPassages('a.ts', ts, { languages: ['python'] }).length, 0);
    assert.equal(extractPassages('a.ts', ts, { languages: ['ts'] }).length, 1);
    assert.equal(extractPassages('a.tsx', ts, { languages: ['typescript'] }).length, 1);
    assert.equal(extractPassages('a.md', '# T\n\ntext here', { languages: ['python'] }).length, 1);
    assert.equal(isSupportedPath('a.ts', { languages: ['py'] }), false);
    assert.equal(isSupportedPath('x/y.py', { languages: ['py'] }), true);
  });
});

describe('languages', () => {
  it('maps extensions and well-known names', () => {
    const cases: Record<string, string | undefined> = {
      'a.js': 'javascript', 'a.jsx': 'javascript', 'a.mjs': 'javascript', 'a.cjs': 'javascript', 'a.ts': 'typescript',
      'a.tsx': 'typescript', 'a.mts': 'typescript', 'a.cts': 'typescript', 'a.py': 'python', 'a.pyi': 'python',
      'a.rs': 'rust', 'a.go': 'go', 'A.java': 'java', 'a.kt': 'kotlin', 'a.c': 'c', 'a.h': 'c', 'a.cc': 'cpp',
      'a.cpp': 'cpp', 'a.cxx': 'cpp', 'a.hpp': 'cpp', 'a.hh': 'cpp', 'a.cs': 'csharp', 'a.swift': 'swift',
      'a.rb': 'ruby', 'a.sh': 'shellscript', 'a.bash': 'shellscript', 'a.zsh': 'shellscript', 'a.yaml': 'yaml',
      'a.yml': 'yaml', 'a.toml': 'toml', 'README.md': 'markdown', 'a.MD': 'markdown', 'x/Dockerfile': 'dockerfile',
      'Gemfile': 'ruby', 'a.json': undefined, 'a.png': undefined, 'Makefile': undefined, '.eslintrc': undefined,
      '.bashrc': 'shellscript', 'dir.md/file': undefined, 'C:\\x\\a.ts': 'typescript',
    };
    for (const [p, id] of Object.entries(cases)) assert.equal(languageIdForPath(p), id, p);
    assert.equal(normalizeLanguageId('C#'), 'csharp');
    assert.equal(normalizeLanguageId(' Shell '), 'shellscript');
    assert.ok(syntaxForLanguage('ts'));
  });

  it('declaredName recognises common declarations', () => {
    const cases: Record<string, string> = {
      'export async function foo(a) {': 'foo', 'const foo = () => 1': 'foo', 'export interface Foo {': 'Foo',
      'class Foo extends Bar {': 'Foo', 'def foo(x):': 'foo', 'async def foo():': 'foo', 'pub fn foo() {': 'foo',
      'pub(crate) struct Foo;': 'Foo', 'func (s *S) Foo() {': 'Foo', 'func Foo() {': 'Foo', 'onSend (req, reply) {': 'onSend',
      'public static void main(String[] args) {': 'main', 'fastify.decorate = function () {': 'decorate',
      'return foo(x);': '', 'if (x) {': '', '} else {': '', 'impl Display for Foo {': 'Display', 'type Foo struct {': 'Foo',
      'enum class Color {': 'Color', '#define MAX 3': 'MAX', 'let mut count = 0;': 'count',
    };
    for (const [line, name] of Object.entries(cases)) assert.equal(declaredName(line, 'typescript'), name, line);
  });

  it('the lexer reports comments with markers and positions', () => {
    const text = 'a(); /* x */ // y\n/** doc */\n';
    const { comments, firstCode } = lexComments(text, syntaxForLanguage('javascript')!);
    assert.equal(firstCode, 0);
    assert.deepEqual(comments.map((c) => [c.marker, text.slice(c.start, c.end), c.ownLine]), [
      ['/*', '/* x */', false], ['//', '// y', false], ['/**', '/** doc */', true],
    ]);
  });
});

describe('comment extraction performance', () => {
  it('handles megabytes of source quickly', () => {
    const unit = read('sample.ts') + read('sample.js');
    const big = unit.repeat(Math.ceil(3_000_000 / unit.length));
    const t0 = performance.now();
    const ps = extractPassages('big.ts', big);
    const ms = performance.now() - t0;
    assert.ok(ps.length > 1000);
    assert.ok(ms < 8000, `3 MB took ${ms.toFixed(0)} ms`);
  });

  it('a 1 MB single-line file is not quadratic', () => {
    const line = 'a = b / c; /* short words in a comment here */ s = "x // y"; '.repeat(16_000);
    const t0 = performance.now();
    const ps = extractPassages('one.js', line);
    const ms = performance.now() - t0;
    assert.equal(ps.length, 16_000);
    assert.ok(ms < 5000, `took ${ms.toFixed(0)} ms`);
    const oneComment = '// ' + 'word '.repeat(200_000);
    const t1 = performance.now();
    const ps2 = extractPassages('one.py', oneComment.replace('//', '#'));
    assert.ok(ps2.length >= 900);
    assert.ok(performance.now() - t1 < 5000);
    const regexes = 'x = /[/]+/g; '.repeat(80_000);
    const t2 = performance.now();
    extractPassages('r.js', regexes);
    assert.ok(performance.now() - t2 < 5000);
  });
});
