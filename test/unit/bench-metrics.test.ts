import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'path';
import {
  type BenchResult,
  bootstrapCI,
  evidenceRanges,
  extractWords,
  formatHighlightTable,
  formatReportTable,
  isRelevant,
  pairedBootstrapDiff,
  rangesOverlap,
  scoreHighlightSet,
  scoreQuerySet,
} from '../../src/core/bench/metrics';
import {
  BenchFormatError,
  corpusReader,
  loadBenchSet,
  loadHighlightSet,
  loadQuerySet,
  parseHighlightPairs,
  parseQueries,
} from '../../src/core/bench/bench-files';

const FIX = path.join(__dirname, '..', 'fixtures', 'bench');
const close = (actual: number, expected: number, eps = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= eps, `${actual} != ${expected}`);

const res = (p: string, start: number, end: number, highlights: Array<[number, number]> = []): BenchResult => ({
  path: p,
  start,
  end,
  score: 1,
  highlights,
});

test('extractWords: maximal [\\p{L}\\p{N}_] runs with UTF-16 offsets', () => {
  assert.deepEqual(extractWords('😀 über_x 42, 東京!'), [
    { start: 3, end: 9 },
    { start: 10, end: 12 },
    { start: 14, end: 16 },
  ]);
  assert.deepEqual(extractWords('a-b'), [
    { start: 0, end: 1 },
    { start: 2, end: 3 },
  ]);
  assert.deepEqual(extractWords('  ...  '), []);
});

test('rangesOverlap: half-open, touching ranges do not overlap', () => {
  assert.equal(rangesOverlap(0, 5, 5, 9), false);
  assert.equal(rangesOverlap(5, 9, 0, 5), false);
  assert.equal(rangesOverlap(0, 6, 5, 9), true);
  assert.equal(rangesOverlap(6, 7, 5, 9), true);
  assert.equal(rangesOverlap(0, 100, 5, 9), true);
  assert.equal(rangesOverlap(5, 5, 0, 9), false); // empty range
});

test('relevance: same path and overlap with any evidence range of any answer', () => {
  const { queries, corpusDir } = loadQuerySet(path.join(FIX, 'mini'));
  const read = corpusReader(corpusDir);
  const q2 = queries.find((q) => q.id === 'q2')!;
  const ev = evidenceRanges(q2, read);
  assert.deepEqual(ev.get('a.md'), [[36, 45]]);
  assert.deepEqual(ev.get('src/x.js'), [
    [19, 32],
    [39, 47],
  ]);
  assert.equal(isRelevant(res('a.md', 40, 41), ev), true);
  assert.equal(isRelevant(res('a.md', 0, 36), ev), false); // touches [36, 45)
  assert.equal(isRelevant(res('a.md', 45, 60), ev), false); // touches the end
  assert.equal(isRelevant(res('src/x.js', 32, 39), ev), false); // between the two ranges
  assert.equal(isRelevant(res('src/x.js', 46, 70), ev), true);
  assert.equal(isRelevant(res('b.md', 0, 1000), ev), false);
  const q1 = queries.find((q) => q.id === 'q1')!;
  assert.throws(() => evidenceRanges({ ...q1, answers: [{ path: 'a.md', evidence: ['absent'] }] }, read), /q1.*a\.md/);
});

test('scoreQuerySet: hand-computed hit@k, MRR@10, wordF1@1, wordF1@rel, split by kind and style', () => {
  const { queries, corpusDir } = loadQuerySet(path.join(FIX, 'mini'));
  const read = corpusReader(corpusDir);
  assert.equal(read('a.md').slice(13, 28), 'quick brown fox');
  const irrelevant = res('src/x.js', 0, 48);
  const results = new Map<string, BenchResult[]>([
    // q1: relevant at rank 2; highlights 'The', 'quick' vs gold quick brown fox → P 1/2, R 1/3, F1 0.4
    ['q1', [irrelevant, res('a.md', 9, 35, [[9, 18]])]],
    // q2: relevant at rank 1 in the second answer file; predicted server, sleeps, until vs gold
    // server, sleeps, 東京, wakes (a.md's gold words do not count) → P 2/3, R 1/2, F1 4/7
    [
      'q2',
      [
        res('src/x.js', 0, 48, [
          [19, 25],
          [27, 28],
          [33, 35],
        ]),
      ],
    ],
    // q3: absent → no results
    // q4: touching results, then the relevant one at rank 11 (beyond the cut-off)
    ['q4', [res('a.md', 0, 13), res('a.md', 28, 40), ...Array(8).fill(irrelevant), res('a.md', 13, 28, [[13, 28]])]],
  ]);
  const report = scoreQuerySet(queries, results, read);
  const by = (id: string) => report.perQuery.find((o) => o.id === id)!;
  assert.deepEqual(
    report.perQuery.map((o) => o.id),
    ['q1', 'q2', 'q3', 'q4'],
  );
  assert.deepEqual({ ...by('q1'), wordF1AtRel: 0 }, { id: 'q1', kind: 'markdown', style: 'paraphrase', rank: 2, hit1: 0, hit5: 1, rr: 0.5, wordF1At1: 0, wordF1AtRel: 0 });
  close(by('q1').wordF1AtRel!, 0.4);
  assert.equal(by('q2').rank, 1);
  close(by('q2').wordF1At1, 4 / 7);
  close(by('q2').wordF1AtRel!, 4 / 7);
  assert.deepEqual(by('q3'), { id: 'q3', kind: 'markdown', style: 'keyword', rank: null, hit1: 0, hit5: 0, rr: 0, wordF1At1: 0, wordF1AtRel: null });
  assert.equal(by('q4').rank, null);
  assert.equal(by('q4').rr, 0);

  const g = (name: string) => report.groups.find((x) => x.group === name)!;
  assert.deepEqual(
    report.groups.map((x) => x.group),
    ['all', 'kind=markdown', 'kind=comment', 'style=paraphrase', 'style=keyword'],
  );
  const all = g('all');
  assert.equal(all.n, 4);
  close(all.hit1, 0.25);
  close(all.hit5, 0.5);
  close(all.mrr10, 0.375);
  close(all.wordF1At1, 1 / 7);
  close(all.wordF1AtRel, (0.4 + 4 / 7) / 2);
  assert.equal(all.nRel, 2);
  const md = g('kind=markdown');
  assert.deepEqual([md.n, md.hit1, md.hit5, md.mrr10, md.wordF1At1, md.nRel], [2, 0, 0.5, 0.25, 0, 1]);
  close(md.wordF1AtRel, 0.4);
  const kw = g('style=keyword');
  assert.deepEqual([kw.n, kw.hit1, kw.hit5, kw.mrr10, kw.nRel], [2, 0.5, 0.5, 0.5, 1]);
  close(kw.wordF1At1, 2 / 7);
  close(kw.wordF1AtRel, 4 / 7);

  const table = formatReportTable([
    { system: 'bm25', report },
    { system: 'other', report },
  ]);
  assert.match(table, /\| all +\| 4 +\| bm25 +\| 0\.250 +\| 0\.500 +\| 0\.375 +\| 0\.143 +\| 0\.486 \(2\) +\|/);
  assert.match(table, /\| style=keyword +\| 2 +\| other +\|/);
  assert.equal(table.split('\n').length, 2 + 5 * 2);
});

test('wordF1@1 is 0 when the top-1 result is relevant but highlights nothing or the wrong words', () => {
  const { queries, corpusDir } = loadQuerySet(path.join(FIX, 'mini'));
  const q1 = queries.filter((q) => q.id === 'q1');
  const read = corpusReader(corpusDir);
  const none = scoreQuerySet(q1, new Map([['q1', [res('a.md', 9, 35)]]]), read);
  assert.equal(none.perQuery[0].hit1, 1);
  assert.equal(none.perQuery[0].wordF1At1, 0);
  // whole passage highlighted: The quick brown fox jumps → P 3/5, R 1 → F1 0.75
  const whole = scoreQuerySet(q1, new Map([['q1', [res('a.md', 9, 35, [[9, 35]])]]]), read);
  close(whole.perQuery[0].wordF1At1, 0.75);
});

test('scoreHighlightSet: micro (pooled) and macro word F1 against the union of annotators', () => {
  const pairs = loadHighlightSet(path.join(FIX, 'highlights'));
  const report = scoreHighlightSet(
    pairs,
    new Map<string, Array<[number, number]>>([
      // gold = Cats purr Dogs (union of [0,9) and [11,15)); predicted Cats, bark → tp 1 fp 1 fn 2
      [
        'p1',
        [
          [0, 4],
          [16, 20],
        ],
      ],
      // gold = one; predicted one two → tp 1 fp 1 fn 0
      ['p2', [[0, 7]]],
    ]),
  );
  assert.equal(report.n, 2);
  close(report.microPrecision, 0.5);
  close(report.microRecall, 0.5);
  close(report.microF1, 0.5);
  close(report.macroF1, (0.4 + 2 / 3) / 2);
  assert.deepEqual(
    report.perPair.map((p) => [p.tp, p.fp, p.fn]),
    [
      [1, 1, 2],
      [1, 1, 0],
    ],
  );
  const empty = scoreHighlightSet(pairs, new Map());
  assert.deepEqual([empty.microF1, empty.microPrecision, empty.microRecall, empty.macroF1], [0, 0, 0, 0]);
  const table = formatHighlightTable([{ system: 'query words', report }]);
  assert.match(table, /\| query words \| 2 +\| 0\.500 +\| 0\.500 +\| 0\.500 +\| 0\.533 +\|/);
});

test('bootstrapCI: deterministic per seed, brackets the mean, degenerate cases', () => {
  const values = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? 1 : 0));
  const a = bootstrapCI(values, 1000, 42);
  assert.deepEqual(bootstrapCI(values, 1000, 42), a);
  close(a.mean, 0.5);
  assert.ok(a.low < 0.5 && a.high > 0.5);
  // standard error of a mean of 100 fair coin flips is 0.05: the 95% interval is about ±0.1
  assert.ok(a.low > 0.35 && a.low < 0.45 && a.high > 0.55 && a.high < 0.65, JSON.stringify(a));
  assert.notDeepEqual(bootstrapCI(values, 1000, 43), a);
  assert.deepEqual(bootstrapCI([0.3, 0.3, 0.3]), { mean: 0.3, low: 0.3, high: 0.3 });
  assert.deepEqual(bootstrapCI([]), { mean: 0, low: 0, high: 0 });
});

test('pairedBootstrapDiff: CI of mean(a − b) over the same resampled queries', () => {
  const b = Array.from({ length: 60 }, (_, i) => (i % 3) / 3);
  const a = b.map((x) => x + 0.1);
  const d = pairedBootstrapDiff(a, b, 500, 7);
  close(d.mean, 0.1);
  close(d.low, 0.1);
  close(d.high, 0.1); // every difference is 0.1: no spread despite the noisy values
  assert.deepEqual(pairedBootstrapDiff(b, b), { mean: 0, low: 0, high: 0 });
  assert.throws(() => pairedBootstrapDiff([1], [1, 2]), /lengths differ/);
});

test('loaders: query set, highlight set, set detection', () => {
  const qs = loadQuerySet(path.join(FIX, 'mini'));
  assert.equal(qs.queries.length, 4); // the blank line is skipped
  assert.deepEqual(qs.queries[1].answers.map((a) => a.path), ['a.md', 'src/x.js']);
  assert.equal(qs.corpusDir, path.join(FIX, 'mini', 'corpus'));
  assert.equal(loadBenchSet(path.join(FIX, 'mini')).type, 'queries');
  const hs = loadBenchSet(path.join(FIX, 'highlights'));
  assert.equal(hs.type, 'highlights');
  assert.equal(hs.type === 'highlights' && hs.pairs[0].annotators.length, 2);
});

test('loaders: malformed input names the file and line', () => {
  const badFile = path.join(FIX, 'bad', 'queries.jsonl');
  assert.throws(
    () => loadQuerySet(path.join(FIX, 'bad')),
    (e: unknown) => e instanceof BenchFormatError && e.file === badFile && e.line === 2 && /queries\.jsonl:2: invalid JSON/.test(e.message),
  );
  assert.throws(() => loadQuerySet(path.join(FIX, 'missing')), /cannot read .*missing.queries\.jsonl/);
  const ok = '{"id":"a","query":"q","kind":"markdown","style":"keyword","answers":[{"path":"p","evidence":["e"]}]}';
  assert.throws(() => parseQueries(`${ok}\n\n${ok}`, 'f.jsonl'), /^BenchFormatError: f\.jsonl:3: duplicate id "a"$/);
  assert.throws(() => parseQueries(ok.replace('"markdown"', '"prose"'), 'f.jsonl'), /f\.jsonl:1: "kind" must be/);
  assert.throws(() => parseQueries(ok.replace('"keyword"', '"x"'), 'f.jsonl'), /f\.jsonl:1: "style" must be/);
  assert.throws(() => parseQueries(ok.replace('["e"]', '[]'), 'f.jsonl'), /f\.jsonl:1: answers\[0\]\.evidence must be/);
  assert.throws(() => parseQueries('[1]', 'f.jsonl'), /f\.jsonl:1: expected a JSON object/);
  const pair = '{"id":"p","query":"q","passage":"abc","annotators":[[[0,2]]]}';
  assert.equal(parseHighlightPairs(pair, 'h.jsonl')[0].annotators[0][0][1], 2);
  assert.throws(() => parseHighlightPairs(pair.replace('[0,2]', '[0,9]'), 'h.jsonl'), /h\.jsonl:1: annotators\[0\]\[0\].*past the passage end/);
  assert.throws(() => parseHighlightPairs(pair.replace('[0,2]', '[2,1]'), 'h.jsonl'), /h\.jsonl:1: annotators\[0\]\[0\] must be/);
  assert.throws(() => parseHighlightPairs(pair.replace('"passage":"abc",', ''), 'h.jsonl'), /h\.jsonl:1: "passage" must be/);
});
