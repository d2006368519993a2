import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildSnippet } from '../../src/extension/snippet';

/** The snippet's highlighted substrings. */
function marked(s: { text: string; highlights: Array<[number, number]> }): string[] {
  return s.highlights.map(([a, b]) => s.text.slice(a, b));
}

function rangeOf(text: string, word: string): [number, number] {
  const i = text.indexOf(word);
  assert.ok(i >= 0, word);
  return [i, i + word.length];
}

test('a comment block reads as prose: markers dropped, lines joined, evidence mapped', () => {
  const text = 'x = 1;\n  /**\n   * Stores a value. Evicts the least\n   * recently used entry.\n   */\n';
  const start = text.indexOf('/**');
  const end = text.indexOf('*/') + 2;
  const s = buildSnippet(text, start, end, [rangeOf(text, 'Evicts'), [text.indexOf('least'), text.indexOf('recently') + 'recently'.length]], { kind: 'comment' });
  assert.equal(s.text, 'Stores a value. Evicts the least recently used entry.');
  assert.deepEqual(marked(s), ['Evicts', 'least recently']);
});

test('line comments and hash comments', () => {
  const text = '// First line of\n// the comment.\n# not code\n';
  assert.equal(buildSnippet(text, 0, 33, [], { kind: 'comment' }).text, 'First line of the comment.');
  const py = '    # Retries the upload\n    # with backoff.\n';
  assert.equal(buildSnippet(py, 0, py.length, [], { kind: 'comment' }).text, 'Retries the upload with backoff.');
});

test('markdown: heading and list markers dropped, inline text kept', () => {
  const text = '## Graceful shutdown\n\nTo stop the server, call `close()`.\n- drain first\n';
  const s = buildSnippet(text, 0, text.length, [rangeOf(text, 'stop the server')], { kind: 'markdown' });
  assert.equal(s.text, 'To stop the server, call `close()`. drain first');
  assert.deepEqual(marked(s), ['stop the server']);
  const fromHeading = buildSnippet(text, 0, text.length, [rangeOf(text, 'Graceful')], { kind: 'markdown' });
  assert.equal(fromHeading.text, 'Graceful shutdown To stop the server, call `close()`. drain first');
  assert.deepEqual(marked(fromHeading), ['Graceful']);
  const quote = '> 1. quoted item\n';
  assert.equal(buildSnippet(quote, 0, quote.length, [], { kind: 'markdown' }).text, '1. quoted item');
});

test('starts at the line of the first evidence word', () => {
  const text = 'Intro line.\nSecond line has the answer here.\n';
  const s = buildSnippet(text, 0, text.length, [rangeOf(text, 'answer')]);
  assert.equal(s.text, 'Second line has the answer here.');
  assert.deepEqual(marked(s), ['answer']);
});

test('a long line is cut before the evidence with a leading ellipsis, and at the end', () => {
  const words = Array.from({ length: 60 }, (_, i) => `w${i}`);
  const text = words.join(' ');
  const s = buildSnippet(text, 0, text.length, [rangeOf(text, 'w30')], { maxLength: 60, lead: 20 });
  assert.ok(s.text.startsWith('…'), s.text);
  assert.ok(s.text.endsWith('…'), s.text);
  assert.ok(s.text.length <= 62, `${s.text.length}`);
  assert.deepEqual(marked(s), ['w30']);
  const inner = s.text.slice(1, -1).trim().split(' ');
  for (const w of inner) assert.ok(words.includes(w), `whole words only: ${w}`);
});

test('text that looks like markup is returned verbatim (escaping is the renderer\'s job)', () => {
  const text = 'Untrusted <img src=x onerror=alert(1)> and </script> and $(zap).';
  const s = buildSnippet(text, 0, text.length, [rangeOf(text, '<img src=x onerror=alert(1)>')]);
  assert.equal(s.text, text);
  assert.deepEqual(marked(s), ['<img src=x onerror=alert(1)>']);
});

test('evidence spanning a line break is one highlight; outside the passage is ignored', () => {
  const text = 'head\nalpha beta\ngamma tail\n';
  const s = buildSnippet(text, 5, text.length, [[text.indexOf('beta'), text.indexOf('gamma') + 5], [0, 4]]);
  assert.equal(s.text, 'alpha beta gamma tail');
  assert.deepEqual(marked(s), ['beta gamma']);
});

test('astral characters and CRLF keep offsets exact', () => {
  const text = 'émoji 😀 line\r\nthe answer 𝒳 here\r\n';
  const s = buildSnippet(text, 0, text.length, [rangeOf(text, '𝒳')]);
  assert.equal(s.text, 'the answer 𝒳 here');
  assert.deepEqual(marked(s), ['𝒳']);
});

test('empty passage gives an empty snippet', () => {
  assert.deepEqual(buildSnippet('abc', 1, 1, []), { text: '', highlights: [] });
});
