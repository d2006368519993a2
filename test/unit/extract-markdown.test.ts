import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { extractPassages } from '../../src/core/extract/index';
import { extractMarkdown, fileStem } from '../../src/core/extract/markdown';
import { passageText } from '../../src/core/extract/passage-text';
import { allText, assertPassageInvariants } from './extract-invariants';

const DIR = path.join(__dirname, '../fixtures/extract/markdown');
const fixtures = fs.readdirSync(DIR).filter((f) => f.endsWith('.md')).sort();
const read = (f: string): string => fs.readFileSync(path.join(DIR, f), 'utf8');
const heads = (ps: ReturnType<typeof extractPassages>): string[] => ps.map((p) => `${p.context} | ${p.segments[0].text}`);

describe('markdown extraction: invariants on every fixture', () => {
  for (const f of fixtures) {
    for (const variant of ['lf', 'crlf', 'cr', 'bom'] as const) {
      it(`${f} (${variant})`, () => {
        let text = read(f);
        if (variant === 'crlf') text = text.replace(/\n/g, '\r\n');
        if (variant === 'cr') text = text.replace(/\n/g, '\r');
        if (variant === 'bom') text = '\ufeff' + text;
        for (const maxChars of [1000, 60, 7]) {
          const ps = extractPassages(`docs/${f}`, text, { maxChars });
          assert.ok(ps.length > 0);
          assertPassageInvariants(text, ps, `${f}/${variant}/${maxChars}`);
          assert.ok(ps.every((p) => p.kind === 'markdown' && p.language === 'markdown' && p.path === `docs/${f}`));
          assert.ok(!allText(ps).includes('NOTCOMMENT'), 'front matter is skipped');
        }
        // Line-ending variants give the same segment texts.
        const lf = extractPassages(`docs/${f}`, read(f)).map((p) => [p.context, passageText(p).text.split('\n').map((l) => l.trim()).filter(Boolean)]);
        const here = extractPassages(`docs/${f}`, text).map((p) => [p.context, passageText(p).text.split('\n').map((l) => l.trim()).filter(Boolean)]);
        assert.deepEqual(here, lf);
      });
    }
  }
});

describe('markdown sections', () => {
  it('splits at ATX and setext headings, with the heading path as context', () => {
    const ps = extractPassages('docs/Reference/Hooks.md', read('Hooks.md'));
    assert.deepEqual(heads(ps), [
      'Hooks | Hooks',
      'Hooks > Hooks | onRequest',
      'Hooks > Hooks | onClose',
      'Hooks | Setext Section',
      'Hooks > Setext Section | Sub Section',
      'Hooks > Setext Section > Sub Section | ####### seven hashes is not a heading',
    ]);
  });

  it('keeps fenced code (headings inside fences are text) and HTML comments', () => {
    const text = read('Hooks.md');
    const ps = extractPassages('Hooks.md', text);
    const onRequest = ps[1];
    assert.deepEqual(onRequest.segments.map((s) => s.text), [
      'onRequest',
      'Called when a request is received.',
      "```js\n# NOTHEADING inside a fence\nfastify.addHook('onRequest', async (request, reply) => {",
      '// Some code\n})\n```',
    ]);
    assert.ok(passageText(ps[2]).text.includes('## NOTHEADING tilde fence'));
    assert.ok(ps.every((p) => !p.context.includes('NOTHEADING')));
    assert.ok(passageText(ps[4]).text.includes('<!-- html comment stays as text -->'));
    // '- list item' followed by '---' is a thematic break, not a setext heading.
    assert.ok(passageText(ps[4]).text.includes('- list item\n---'));
  });

  it('regions start at the heading line and cover the section', () => {
    const text = read('Hooks.md');
    const ps = extractPassages('Hooks.md', text);
    assert.ok(text.slice(ps[2].start, ps[2].end).startsWith('## onClose ##'));
    assert.ok(text.slice(ps[2].start, ps[2].end).endsWith('~~~'));
    assert.ok(text.slice(ps[3].start, ps[3].end).startsWith('Setext Section\n====='));
  });

  it('handles preamble, empty sections, sections without letters, indented and unclosed fences', () => {
    const ps = extractPassages('edge.md', read('edge.md'));
    assert.deepEqual(heads(ps), [
      'edge | Preamble before any heading, with an emoji 😀 and\ta tab.',
      'edge > Title with `code` and trailing spaces > Empty Parent | Child of empty',
    ]);
    const child = passageText(ps[1]).text;
    assert.ok(child.includes('# NOTHEADING in an indented fence'));
    assert.ok(child.includes('#Not a heading without space'));
    assert.ok(child.includes('\\# escaped hash'), 'Markdown is not unescaped');
    assert.ok(child.includes('# NOTHEADING until the end'), 'an unclosed fence runs to the end');
  });

  it('strips closing # sequences and ignores 7 hashes', () => {
    const ps = extractMarkdown('a.md', '# Title #\n\nBody text.\n\n## Foo#bar\n\nMore text.\n\n####### no\n');
    assert.deepEqual(ps.map((p) => p.segments[0].text), ['Title', 'Foo#bar']);
    assert.ok(passageText(ps[1]).text.includes('####### no'));
  });

  it('uses the file stem as the root of the context', () => {
    assert.equal(fileStem('docs/Reference/Hooks.md'), 'Hooks');
    assert.equal(fileStem('README'), 'README');
    assert.equal(fileStem('a/b.c.md'), 'b.c');
    assert.equal(extractMarkdown('x/Guide.markdown', 'Just text here.')[0].context, 'Guide');
  });

  it('a file that is only front matter or blank gives nothing', () => {
    assert.deepEqual(extractMarkdown('a.md', '---\ntitle: x\n---\n'), []);
    assert.deepEqual(extractMarkdown('a.md', ''), []);
    assert.deepEqual(extractMarkdown('a.md', '\n\n   \n'), []);
    assert.deepEqual(extractMarkdown('a.md', '# Only a heading\n'), []);
  });
});

describe('markdown: long sections', () => {
  const para = (i: number): string =>
    `Paragraph ${i} starts here. It explains one thing in detail, and then another thing. ` +
    `Finally it ends with a conclusion number ${i}.`;
  const section = '# Server\n\n## Factory\n\n### closeTimeout\n\n' + Array.from({ length: 12 }, (_, i) => para(i)).join('\n\n') + '\n';

  it('splits at paragraph boundaries and keeps the heading in the context of later pieces', () => {
    const ps = extractMarkdown('docs/Server.md', section, { maxChars: 300 });
    assertPassageInvariants(section, ps);
    assert.ok(ps.length > 3);
    assert.equal(ps[0].context, 'Server > Server > Factory');
    assert.equal(ps[0].segments[0].text, 'closeTimeout');
    for (const p of ps.slice(1)) assert.equal(p.context, 'Server > Server > Factory > closeTimeout');
    for (const p of ps) {
      assert.ok(passageText(p).text.length <= 300, `piece of ${passageText(p).text.length} chars`);
      // whole paragraphs: every segment starts a paragraph
      for (const s of p.segments.slice(p === ps[0] ? 1 : 0)) assert.match(s.text, /^Paragraph \d+ starts here\./);
    }
    // nothing is lost
    const words = (s: string): string[] => s.split(/\s+/).filter(Boolean);
    const got = ps.flatMap((p) => words(passageText(p).text));
    assert.deepEqual(got, words(section.slice(section.indexOf('closeTimeout'))));
  });

  it('splits a long paragraph at sentence ends, then hard', () => {
    const long = '# T\n\n' + Array.from({ length: 40 }, (_, i) => `Sentence number ${i} is here.`).join(' ') + ' ' + 'x'.repeat(500) + '\n';
    const ps = extractMarkdown('t.md', long, { maxChars: 100 });
    assertPassageInvariants(long, ps);
    for (const p of ps) assert.ok(passageText(p).text.length <= 100);
    assert.ok(ps.some((p) => /^Sentence number \d+ is here\.$/.test(p.segments[p.segments.length - 1].text.split(/(?<=\.) /).pop()!)));
    const joined = ps.map((p) => passageText(p).text).join(' ');
    assert.equal(joined.replace(/\s+/g, ''), long.slice(2).replace(/\s+/g, ''));
  });

  it('splits a single giant code block like text (at lines)', () => {
    const code = '## Example\n\n```js\n' + Array.from({ length: 200 }, (_, i) => `const value${i} = compute(${i});`).join('\n') + '\n```\n';
    const ps = extractMarkdown('e.md', code, { maxChars: 500 });
    assertPassageInvariants(code, ps);
    assert.ok(ps.length > 5);
    for (const p of ps) assert.ok(passageText(p).text.length <= 500);
    for (const p of ps.slice(1)) assert.equal(p.context, 'e > Example');
  });

  it('does not split inside a fence at its blank lines when it fits', () => {
    const text = '# A\n\nIntro paragraph text.\n\n```\nline one\n\nline two\n```\n\nOutro text here.\n';
    const ps = extractMarkdown('a.md', text, { maxChars: 45 });
    assertPassageInvariants(text, ps);
    const fencePiece = ps.find((p) => passageText(p).text.includes('line one'))!;
    assert.ok(passageText(fencePiece).text.includes('line two'));
  });

  it('never cuts a surrogate pair in a hard split', () => {
    for (const max of [1, 2, 3]) {
      const t = '# E\n\n' + '😀x'.repeat(20);
      assertPassageInvariants(t, extractMarkdown('e.md', t, { maxChars: max }));
    }
    const text = '# Emoji\n\n' + '😀x'.repeat(300) + '\n';
    for (const max of [7, 8, 99, 100]) {
      const ps = extractMarkdown('e.md', text, { maxChars: max });
      assertPassageInvariants(text, ps);
      const joined = ps.map((p) => p.segments.map((s) => s.text).join('')).join('');
      assert.equal(joined, 'Emoji' + '😀x'.repeat(300));
      // pieces without any letter are dropped, but never half an emoji
      const bare = extractMarkdown('e.md', '# E\n\n' + '😀'.repeat(50), { maxChars: max });
      assertPassageInvariants('# E\n\n' + '😀'.repeat(50), bare);
    }
  });

  it('a 1 MB single-line file is linear', () => {
    const big = 'word '.repeat(200_000);
    const t0 = performance.now();
    const ps = extractMarkdown('big.md', big);
    const ms = performance.now() - t0;
    assertPassageInvariants(big, ps.slice(0, 50));
    assert.ok(ps.length >= 900);
    assert.ok(ms < 3000, `took ${ms.toFixed(0)} ms`);
    const sentences = 'This is a sentence. '.repeat(50_000);
    const t1 = performance.now();
    extractMarkdown('big.md', sentences);
    assert.ok(performance.now() - t1 < 3000);
  });
});
