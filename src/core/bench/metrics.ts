// Benchmark metrics, exactly as ../shared/bench/README.md defines them. Pure functions, no I/O
// (file text comes through a `readFile` callback), no `vscode`.

/** One question of a query set (`queries.jsonl`). */
export interface BenchQuery {
  id: string;
  query: string;
  kind: 'markdown' | 'comment';
  style: 'paraphrase' | 'keyword';
  answers: Array<{ path: string; evidence: string[] }>;
}

/** One ranked result of a system, absolute offsets (UTF-16 code units) in its file. */
export interface BenchResult {
  path: string;
  start: number;
  end: number;
  score: number;
  highlights: Array<[number, number]>;
}

/** One MS MARCO pair with human evidence spans (offsets into `passage`), one span list per annotator. */
export interface HighlightPair {
  id: string;
  query: string;
  passage: string;
  annotators: Array<Array<[number, number]>>;
}

export type Range = readonly [number, number];

/** A word: a maximal run of `[\p{L}\p{N}_]`, `[start, end)` in its text. */
export interface Word {
  start: number;
  end: number;
}

const WORD_RE = /[\p{L}\p{N}_]+/gu;

/** Maximal runs of Unicode letters, digits and underscore, with their UTF-16 offsets. */
export function extractWords(text: string): Word[] {
  const out: Word[] = [];
  for (const m of text.matchAll(WORD_RE)) {
    const start = m.index ?? 0;
    out.push({ start, end: start + m[0].length });
  }
  return out;
}

/** Half-open ranges overlap when they share at least one position; touching ranges do not. */
export function rangesOverlap(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  return aStart < aEnd && bStart < bEnd && aStart < bEnd && bStart < aEnd;
}

function overlapsAny(start: number, end: number, ranges: readonly Range[]): boolean {
  for (const r of ranges) if (rangesOverlap(start, end, r[0], r[1])) return true;
  return false;
}

/** Indices (into `words`) of the words that overlap any of `ranges`. */
export function wordsOverlapping(words: readonly Word[], ranges: readonly Range[]): Set<number> {
  const out = new Set<number>();
  if (ranges.length === 0) return out;
  for (let i = 0; i < words.length; i++) {
    if (overlapsAny(words[i].start, words[i].end, ranges)) out.add(i);
  }
  return out;
}

export interface Prf {
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
}

/** Precision/recall/F1 of a predicted word set against a gold set (0 where undefined). */
export function setPrf(predicted: ReadonlySet<number>, gold: ReadonlySet<number>): Prf {
  let tp = 0;
  for (const w of predicted) if (gold.has(w)) tp++;
  return prfFromCounts(tp, predicted.size - tp, gold.size - tp);
}

export function prfFromCounts(tp: number, fp: number, fn: number): Prf {
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { tp, fp, fn, precision, recall, f1 };
}

/**
 * Evidence ranges of one query, by path: each evidence string located with `indexOf` in its file.
 * Throws, naming the query and file, when an evidence string is not in the file.
 */
export function evidenceRanges(
  q: BenchQuery,
  readFile: (path: string) => string,
): Map<string, Array<[number, number]>> {
  const byPath = new Map<string, Array<[number, number]>>();
  for (const a of q.answers) {
    const text = readFile(a.path);
    const list = byPath.get(a.path) ?? [];
    for (const ev of a.evidence) {
      const at = text.indexOf(ev);
      if (at < 0) {
        throw new Error(`query ${q.id}: evidence not found in ${a.path}: ${JSON.stringify(ev.slice(0, 80))}`);
      }
      list.push([at, at + ev.length]);
    }
    byPath.set(a.path, list);
  }
  return byPath;
}

/** A result is relevant when its path has evidence and `[start, end)` overlaps an evidence range. */
export function isRelevant(r: BenchResult, evidence: ReadonlyMap<string, readonly Range[]>): boolean {
  const ranges = evidence.get(r.path);
  return ranges !== undefined && overlapsAny(r.start, r.end, ranges);
}

/**
 * Word P/R/F1 of one result: over the words of the result's file, gold = words overlapping an
 * evidence range of that file, predicted = words overlapping one of the result's highlights.
 */
export function resultWordPrf(
  r: BenchResult,
  evidence: ReadonlyMap<string, readonly Range[]>,
  fileWords: readonly Word[],
): Prf {
  const gold = wordsOverlapping(fileWords, evidence.get(r.path) ?? []);
  const predicted = wordsOverlapping(fileWords, r.highlights);
  return setPrf(predicted, gold);
}

export const RANK_CUTOFF = 10;

/** Per-query outcome, kept in the report for significance tests. */
export interface QueryOutcome {
  id: string;
  kind: string;
  style: string;
  /** 1-based rank of the first relevant result in the top 10, or null. */
  rank: number | null;
  hit1: number;
  hit5: number;
  /** Reciprocal rank within the top 10 (0 if none). */
  rr: number;
  /** Word F1 of the top-1 result (0 when it is not relevant or absent). */
  wordF1At1: number;
  /** Word F1 of the first relevant result in the top 10; null when there is none. */
  wordF1AtRel: number | null;
}

export interface GroupMetrics {
  /** 'all', 'kind=markdown', 'style=paraphrase', ... */
  group: string;
  n: number;
  hit1: number;
  hit5: number;
  mrr10: number;
  wordF1At1: number;
  /** Mean over the `nRel` queries with a relevant result in the top 10 (0 when nRel is 0). */
  wordF1AtRel: number;
  nRel: number;
}

export interface QuerySetReport {
  groups: GroupMetrics[];
  perQuery: QueryOutcome[];
}

/** Scores one query against its ranked results (only the first 10 are looked at). */
export function scoreQuery(
  q: BenchQuery,
  results: readonly BenchResult[],
  readFile: (path: string) => string,
  wordsOf: (path: string) => Word[] = (p) => extractWords(readFile(p)),
): QueryOutcome {
  const evidence = evidenceRanges(q, readFile);
  const top = results.slice(0, RANK_CUTOFF);
  let rank: number | null = null;
  for (let i = 0; i < top.length; i++) {
    if (isRelevant(top[i], evidence)) {
      rank = i + 1;
      break;
    }
  }
  const f1Of = (r: BenchResult): number => resultWordPrf(r, evidence, wordsOf(r.path)).f1;
  return {
    id: q.id,
    kind: q.kind,
    style: q.style,
    rank,
    hit1: rank === 1 ? 1 : 0,
    hit5: rank !== null && rank <= 5 ? 1 : 0,
    rr: rank !== null ? 1 / rank : 0,
    wordF1At1: rank === 1 ? f1Of(top[0]) : 0,
    wordF1AtRel: rank !== null ? f1Of(top[rank - 1]) : null,
  };
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);

export function aggregate(group: string, outcomes: readonly QueryOutcome[]): GroupMetrics {
  const rel = outcomes.map((o) => o.wordF1AtRel).filter((x): x is number => x !== null);
  return {
    group,
    n: outcomes.length,
    hit1: mean(outcomes.map((o) => o.hit1)),
    hit5: mean(outcomes.map((o) => o.hit5)),
    mrr10: mean(outcomes.map((o) => o.rr)),
    wordF1At1: mean(outcomes.map((o) => o.wordF1At1)),
    wordF1AtRel: mean(rel),
    nRel: rel.length,
  };
}

/** Groups in report order: all, then each kind, then each style (in order of first appearance). */
export function groupOutcomes(outcomes: readonly QueryOutcome[]): GroupMetrics[] {
  const groups: GroupMetrics[] = [aggregate('all', outcomes)];
  for (const field of ['kind', 'style'] as const) {
    const values = [...new Set(outcomes.map((o) => o[field]))];
    for (const v of values) groups.push(aggregate(`${field}=${v}`, outcomes.filter((o) => o[field] === v)));
  }
  return groups;
}

/**
 * Scores a query set. A query with no entry in `resultsById` counts as having no results.
 * `readFile(path)` returns the text of a corpus file (path relative to the corpus); each file is
 * read and split into words once.
 */
export function scoreQuerySet(
  queries: readonly BenchQuery[],
  resultsById: ReadonlyMap<string, readonly BenchResult[]>,
  readFile: (path: string) => string,
): QuerySetReport {
  const texts = new Map<string, string>();
  const words = new Map<string, Word[]>();
  const read = (p: string): string => {
    let t = texts.get(p);
    if (t === undefined) {
      t = readFile(p);
      texts.set(p, t);
    }
    return t;
  };
  const wordsOf = (p: string): Word[] => {
    let w = words.get(p);
    if (w === undefined) {
      w = extractWords(read(p));
      words.set(p, w);
    }
    return w;
  };
  const perQuery = queries.map((q) => scoreQuery(q, resultsById.get(q.id) ?? [], read, wordsOf));
  return { groups: groupOutcomes(perQuery), perQuery };
}

// ---------------------------------------------------------------------------------------------
// Highlight-only set (msmarco-human)

export interface PairOutcome extends Prf {
  id: string;
}

export interface HighlightReport {
  n: number;
  /** Pooled over all pairs. */
  microPrecision: number;
  microRecall: number;
  microF1: number;
  /** Mean of per-pair F1. */
  macroF1: number;
  perPair: PairOutcome[];
}

/** Gold words = words overlapping any annotator's span (the union); predicted = overlapping a highlight. */
export function scoreHighlightPair(pair: HighlightPair, highlights: readonly Range[]): PairOutcome {
  const words = extractWords(pair.passage);
  const gold = wordsOverlapping(words, pair.annotators.flat());
  const predicted = wordsOverlapping(words, highlights);
  return { id: pair.id, ...setPrf(predicted, gold) };
}

/** Scores highlights of MS MARCO pairs; a pair with no entry in `highlightsById` predicts nothing. */
export function scoreHighlightSet(
  pairs: readonly HighlightPair[],
  highlightsById: ReadonlyMap<string, readonly Range[]>,
): HighlightReport {
  const perPair = pairs.map((p) => scoreHighlightPair(p, highlightsById.get(p.id) ?? []));
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const o of perPair) {
    tp += o.tp;
    fp += o.fp;
    fn += o.fn;
  }
  const micro = prfFromCounts(tp, fp, fn);
  return {
    n: perPair.length,
    microPrecision: micro.precision,
    microRecall: micro.recall,
    microF1: micro.f1,
    macroF1: mean(perPair.map((o) => o.f1)),
    perPair,
  };
}

// ---------------------------------------------------------------------------------------------
// Bootstrap confidence intervals

/** Deterministic PRNG (mulberry32): uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ConfidenceInterval {
  mean: number;
  /** 2.5th percentile of the bootstrap means. */
  low: number;
  /** 97.5th percentile of the bootstrap means. */
  high: number;
}

/** Linear-interpolation quantile (type 7) of sorted values. */
function quantileSorted(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Percentile bootstrap 95% CI of the mean of `values`; deterministic for a given seed. */
export function bootstrapCI(values: readonly number[], iterations = 1000, seed = 1): ConfidenceInterval {
  const n = values.length;
  const m = mean(values);
  if (n === 0) return { mean: 0, low: 0, high: 0 };
  const rand = mulberry32(seed);
  const means: number[] = new Array(iterations);
  for (let it = 0; it < iterations; it++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[Math.floor(rand() * n)];
    means[it] = s / n;
  }
  means.sort((x, y) => x - y);
  return { mean: m, low: quantileSorted(means, 0.025), high: quantileSorted(means, 0.975) };
}

/**
 * Paired bootstrap 95% CI of mean(a − b) for per-query values of two systems on the same queries
 * (the same resampled queries are used for both). An interval excluding 0 suggests a real difference.
 */
export function pairedBootstrapDiff(
  a: readonly number[],
  b: readonly number[],
  iterations = 1000,
  seed = 1,
): ConfidenceInterval {
  if (a.length !== b.length) throw new Error(`pairedBootstrapDiff: lengths differ (${a.length} vs ${b.length})`);
  return bootstrapCI(
    a.map((x, i) => x - b[i]),
    iterations,
    seed,
  );
}

// ---------------------------------------------------------------------------------------------
// Tables

const f3 = (x: number): string => x.toFixed(3);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  const sep = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [line(header), sep, ...rows.map(line)].join('\n');
}

/**
 * Markdown table, one row per (group, system): systems side by side within each group
 * (all, kind=…, style=…). Groups follow the first system's order.
 */
export function formatReportTable(rows: ReadonlyArray<{ system: string; report: QuerySetReport }>): string {
  const groupNames: string[] = [];
  for (const r of rows) for (const g of r.report.groups) if (!groupNames.includes(g.group)) groupNames.push(g.group);
  const body: string[][] = [];
  for (const name of groupNames) {
    for (const r of rows) {
      const g = r.report.groups.find((x) => x.group === name);
      if (!g) continue;
      body.push([
        name,
        String(g.n),
        r.system,
        f3(g.hit1),
        f3(g.hit5),
        f3(g.mrr10),
        f3(g.wordF1At1),
        `${f3(g.wordF1AtRel)} (${g.nRel})`,
      ]);
    }
  }
  return table(['group', 'n', 'system', 'hit@1', 'hit@5', 'MRR@10', 'wordF1@1', 'wordF1@rel (n)'], body);
}

/** Markdown table of highlight reports, one row per system. */
export function formatHighlightTable(rows: ReadonlyArray<{ system: string; report: HighlightReport }>): string {
  return table(
    ['system', 'n', 'micro F1', 'precision', 'recall', 'macro F1'],
    rows.map((r) => [
      r.system,
      String(r.report.n),
      f3(r.report.microF1),
      f3(r.report.microPrecision),
      f3(r.report.microRecall),
      f3(r.report.macroF1),
    ]),
  );
}
