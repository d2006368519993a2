import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Passage } from '../../src/core/types';
import {
  Bm25Index,
  queryWordHighlights,
  splitIdentifier,
  stem,
  tokenize,
  wordTerms,
} from '../../src/core/search/bm25';

/** A passage whose single segment starts at `offset`. */
function passage(text: string, opts: { offset?: number; context?: string; path?: string } = {}): Passage {
  const offset = opts.offset ?? 0;
  return {
    path: opts.path ?? 'doc.md',
    start: offset,
    end: offset + text.length,
    kind: 'markdown',
    language: 'markdown',
    context: opts.context ?? '',
    segments: [{ text, offset }],
  };
}

const close = (actual: number, expected: number, eps = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= eps, `${actual} != ${expected}`);

test('stem: plurals (S-stemmer)', () => {
  const cases: Array<[string, string]> = [
    ['queries', 'query'],
    ['replies', 'reply'],
    ['hooks', 'hook'],
    ['classes', 'class'],
    ['matches', 'match'],
    ['class', 'class'],
    ['status', 'status'],
    ['goes', 'go'],
    ['is', 'is'],
  ];
  for (const [w, s] of cases) assert.equal(stem(w), s, w);
});

test('stem: -ing / -ed / -ly and final e', () => {
  const cases: Array<[string, string]> = [
    ['running', 'run'],
    ['stopped', 'stop'],
    ['closing', 'clos'],
    ['closed', 'clos'],
    ['close', 'clos'],
    ['closes', 'clos'],
    ['added', 'add'],
    ['add', 'add'],
    ['calling', 'call'],
    ['passed', 'pass'],
    ['settings', 'set'],
    ['replied', 'reply'],
    ['used', 'us'],
    ['using', 'us'],
    ['use', 'us'],
    ['uses', 'us'],
    ['need', 'need'],
    ['needed', 'need'],
    ['speed', 'speed'],
    ['string', 'string'],
    ['thing', 'thing'],
    ['red', 'red'],
    ['quickly', 'quick'],
    ['easily', 'easy'],
    ['safely', 'saf'],
    ['apply', 'apply'],
    ['simply', 'simply'],
    ['only', 'only'],
  ];
  for (const [w, s] of cases) assert.equal(stem(w), s, w);
});

test('stem: leaves digits, underscores, non-ASCII and short words alone', () => {
  for (const w of ['http2', 'on_send', 'cafés', 'übers', 'as', 'us', '503']) assert.equal(stem(w), w);
});

test('splitIdentifier: camelCase, acronyms, snake_case', () => {
  assert.deepEqual(splitIdentifier('onSend'), ['on', 'Send']);
  assert.deepEqual(splitIdentifier('HTTPServer'), ['HTTP', 'Server']);
  assert.deepEqual(splitIdentifier('XMLHttpRequest'), ['XML', 'Http', 'Request']);
  assert.deepEqual(splitIdentifier('snake_case_name'), ['snake', 'case', 'name']);
  assert.deepEqual(splitIdentifier('getURL2'), ['get', 'URL2']);
  assert.deepEqual(splitIdentifier('__proto__'), []);
  assert.deepEqual(splitIdentifier('server'), []);
  assert.deepEqual(splitIdentifier('Server'), []);
});

test('wordTerms / tokenize: whole identifier plus parts, stop words dropped, stemmed', () => {
  assert.deepEqual(wordTerms('onSend'), ['onsend', 'send']);
  assert.deepEqual(wordTerms('preHandler'), ['prehandler', 'pr', 'handler']);
  assert.deepEqual(wordTerms('the'), []);
  assert.deepEqual(tokenize('How do I close the Server?'), ['clos', 'server']);
  assert.deepEqual(tokenize('Café naïve 東京'), ['café', 'naïve', '東京']);
});

test('BM25 scores match a hand computation (k1 1.2, b 0.75, Lucene idf)', () => {
  // terms: d0 [cat, sat] (|d|=2), d1 [cat, cat, dog] (3), d2 [bird] (1); N = 3, avgdl = 2
  const idx = new Bm25Index([passage('The cat sat.'), passage('cat, cats, dog!'), passage('a bird')]);
  const cat = idx.search('cat', 10);
  const idfCat = Math.log(1 + (3 - 2 + 0.5) / (2 + 0.5)); // ln 1.6
  // d1: tf 2, |d| 3: 2·2.2 / (2 + 1.2·(0.25 + 0.75·1.5)) = 4.4 / 3.65
  // d0: tf 1, |d| 2: 2.2 / (1 + 1.2·1) = 1
  assert.deepEqual(
    cat.map((h) => h.index),
    [1, 0],
  );
  close(cat[0].score, Math.log(1.6) * (4.4 / 3.65));
  close(cat[1].score, idfCat * 1);

  const idfRare = Math.log(1 + 2.5 / 1.5); // ln(8/3)
  const db = idx.search('dogs and birds', 10);
  assert.deepEqual(
    db.map((h) => h.index),
    [2, 1],
  );
  close(db[0].score, idfRare * (2.2 / 1.75)); // d2: 1 + 1.2·(0.25 + 0.375) = 1.75
  close(db[1].score, idfRare * (2.2 / 2.65)); // d1: 1 + 1.2·(0.25 + 1.125) = 2.65
  close(idx.idf('cat'), idfCat);
  assert.equal(idx.docFreq('cat'), 2);
});

test('BM25 counts a repeated query term once', () => {
  const idx = new Bm25Index([passage('cat sat'), passage('dog')]);
  close(idx.search('cat cat cats', 5)[0].score, idx.search('cat', 5)[0].score);
});

test('BM25: ties by index, topK, only positive scores, empty inputs', () => {
  const idx = new Bm25Index([passage('alpha beta'), passage('gamma'), passage('alpha beta'), passage('alpha beta')]);
  const hits = idx.search('alpha', 2);
  assert.deepEqual(
    hits.map((h) => h.index),
    [0, 2],
  );
  assert.equal(hits[0].score, hits[1].score);
  assert.deepEqual(idx.search('zzz', 10), []);
  assert.deepEqual(idx.search('the of and', 10), []);
  assert.deepEqual(idx.search('alpha', 0), []);
  assert.deepEqual(new Bm25Index([]).search('alpha', 10), []);
});

test('BM25 indexes context too, and identifier parts both ways', () => {
  const idx = new Bm25Index([
    passage('Runs before the reply is sent.', { context: 'Hooks > onSend' }),
    passage('Unrelated text about routes.'),
  ]);
  assert.equal(idx.search('on send', 5)[0]?.index, 0);
  assert.equal(idx.search('onsend', 5)[0]?.index, 0);
  assert.equal(idx.search('onSend hook', 5)[0]?.index, 0);
  assert.equal(idx.search('sending replies', 5)[0]?.index, 0);
  assert.deepEqual(
    idx.search('route', 5).map((h) => h.index),
    [1],
  );
});

test('BM25: 100k passages build and search quickly', () => {
  const words = Array.from({ length: 5000 }, (_, i) => `w${i.toString(36)}`);
  let seed = 7;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const passages: Passage[] = [];
  for (let d = 0; d < 100_000; d++) {
    const n = 10 + Math.floor(rnd() * 20);
    const ws: string[] = [];
    for (let i = 0; i < n; i++) ws.push(words[Math.floor(rnd() * rnd() * words.length)]);
    if (d === 54321) ws.push('needle', 'haystack');
    passages.push(passage(ws.join(' ')));
  }
  const t0 = performance.now();
  const idx = new Bm25Index(passages);
  const t1 = performance.now();
  for (let i = 0; i < 20; i++) idx.search(`${words[i]} ${words[i + 1]} ${words[i * 7]} needle`, 10);
  const t2 = performance.now();
  assert.equal(idx.search('needle haystack', 10)[0].index, 54321);
  assert.ok(t1 - t0 < 20_000, `build took ${t1 - t0} ms`);
  assert.ok((t2 - t1) / 20 < 250, `search took ${(t2 - t1) / 20} ms per query`);
});

test('queryWordHighlights: absolute ranges of words with matching stems, body only', () => {
  //            0         1         2         3
  //            0123456789012345678901234567890123456
  const text = 'Closing the server waits for requests.';
  const p = passage(text, { offset: 100, context: 'Server > close' });
  const hl = queryWordHighlights('how do I close servers', p);
  assert.deepEqual(hl, [
    [100, 107],
    [112, 118],
  ]);
  for (const [s, e] of hl) assert.match(text.slice(s - 100, e - 100), /^(Closing|server)$/);
  // context words are never highlighted; stop words never match
  assert.deepEqual(queryWordHighlights('the for', p), []);
  assert.deepEqual(queryWordHighlights('', p), []);
});

test('queryWordHighlights: identifier parts, several segments, unicode, merging only when touching', () => {
  const p: Passage = {
    path: 'src/a.ts',
    start: 10,
    end: 60,
    kind: 'comment',
    language: 'typescript',
    context: '',
    segments: [
      { text: 'Call onSend here', offset: 13 },
      { text: 'send café', offset: 40 },
      { text: 'send', offset: 49 },
    ],
  };
  assert.deepEqual(queryWordHighlights('on send', p), [
    [18, 24],
    [40, 44],
    [49, 53],
  ]);
  assert.deepEqual(queryWordHighlights('onsend', p), [[18, 24]]);
  // 'café' [45, 49) touches 'send' [49, 53): merged into one range
  assert.deepEqual(queryWordHighlights('Café send', p), [
    [18, 24],
    [40, 44],
    [45, 53],
  ]);
});

test('BM25: top-k selection agrees with a full sort (with many ties)', () => {
  const vocab = ['alpha', 'beta', 'gamma', 'delta'];
  const passages: Passage[] = [];
  for (let i = 0; i < 300; i++) passages.push(passage(vocab.filter((_, j) => (i * (j + 3)) % (j + 2) === 0).join(' ') || 'none'));
  const idx = new Bm25Index(passages);
  const all = idx.search('alpha beta gamma delta', 1000);
  for (let i = 1; i < all.length; i++) {
    const [p, c] = [all[i - 1], all[i]];
    assert.ok(p.score > c.score || (p.score === c.score && p.index < c.index));
  }
  for (const k of [1, 2, 5, 17, 299]) assert.deepEqual(idx.search('alpha beta gamma delta', k), all.slice(0, k));
});
