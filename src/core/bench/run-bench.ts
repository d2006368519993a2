// `evidence-search bench`: this engine and the lexical BM25 peer, side by side, in one run,
// with exactly the metrics of the bench README (src/core/bench/metrics.ts).
import fs from 'node:fs';
import path from 'node:path';
import { WorkspaceSearch } from '../engine';
import { Encoder } from '../model/encoder';
import { highlightText, passageOfText } from '../search/highlight-text';
import { unitsForPassage } from '../index/indexer';
import { queryWordHighlights } from '../search/bm25';
import type { RankingMode } from '../search/searcher';
import { loadBenchSet, corpusReader } from './bench-files';
import { runAgreement } from './agreement';
import {
  scoreQuerySet, scoreHighlightSet, formatReportTable, formatHighlightTable, pairedBootstrapDiff, bootstrapCI,
  type BenchResult, type QuerySetReport, type HighlightReport,
} from './metrics';

export interface BenchOptions {
  setDir: string;
  modelDir: string;
  top: number;
  indexDir?: string;
  json: boolean;
  out?: string;
  /** Instead of the side-by-side table: compressed and pruned dense ranking vs exact float32 MaxSim. */
  agreement?: boolean;
  log: (msg: string) => void;
}

export async function runBench(o: BenchOptions): Promise<void> {
  const set = loadBenchSet(o.setDir);
  if (set.type === 'highlights') return benchHighlights(o, set.pairs);
  const { corpusDir, queries } = set;
  const ws = await WorkspaceSearch.open(corpusDir, { modelDir: o.modelDir, indexDir: o.indexDir, log: o.log });
  try {
    if (o.agreement) {
      process.stdout.write((await runAgreement(ws, queries)) + '\n');
      return;
    }
    const read = corpusReader(corpusDir);
    const systems: Array<{ system: string; mode: RankingMode; peer?: boolean; wholePassage?: boolean }> = [
      { system: 'evidence-search (hybrid)', mode: 'hybrid' },
      { system: 'evidence-search (dense only)', mode: 'dense' },
      { system: 'BM25 peer (query words)', mode: 'lexical', peer: true },
      { system: 'BM25 peer (whole passage)', mode: 'lexical', peer: true, wholePassage: true },
    ];
    const rows: Array<{ system: string; report: QuerySetReport }> = [];
    const timings: Record<string, number> = {};
    for (const s of systems) {
      const results = new Map<string, BenchResult[]>();
      const t0 = process.hrtime.bigint();
      for (const q of queries) {
        const hits = await ws.searchHits(q.query, { top: o.top, mode: s.mode, evidence: !s.peer });
        results.set(q.id, hits.map((h) => ({
          path: h.unit.path, start: h.unit.start, end: h.unit.end, score: h.score,
          highlights: s.wholePassage ? [[h.unit.start, h.unit.end]] : s.peer ? queryWordHighlights(q.query, h.unit) : h.highlights,
        })));
      }
      timings[s.system] = Number(process.hrtime.bigint() - t0) / 1e6 / queries.length;
      rows.push({ system: s.system, report: scoreQuerySet(queries, results, read) });
    }
    const out: string[] = [];
    out.push(`bench: ${o.setDir} (${queries.length} queries), model ${ws.encoder.manifest.name}, top ${o.top}`);
    out.push(`index: ${ws.report.stats.files} files, ${ws.report.stats.units} passages, ${ws.report.stats.tokens} token vectors`);
    out.push('');
    out.push(formatReportTable(rows));
    out.push('');
    const mrr = (r: QuerySetReport): number[] => r.perQuery.map((p) => p.rr);
    const ours = rows[0].report;
    const peer = rows[2].report;
    const ci = bootstrapCI(mrr(ours));
    const diff = pairedBootstrapDiff(mrr(ours), mrr(peer));
    out.push(`MRR@10 ${rows[0].system}: ${ci.mean.toFixed(3)} [95% CI ${ci.low.toFixed(3)}, ${ci.high.toFixed(3)}]; minus BM25 peer: ${diff.mean.toFixed(3)} [${diff.low.toFixed(3)}, ${diff.high.toFixed(3)}]`);
    out.push(`mean query latency (ms, this machine, same run): ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(1)}`).join('; ')}`);
    out.push(await encoderThroughput(ws));
    const text = out.join('\n');
    process.stdout.write(text + '\n');
    if (o.out) fs.writeFileSync(path.resolve(o.out), JSON.stringify({ set: o.setDir, rows: rows.map((r) => ({ system: r.system, groups: r.report.groups })), timings }, null, 1));
  } finally {
    await ws.dispose();
  }
}

/** Passage-encoding throughput of the model on this corpus (one intra-op thread), after a warm-up. */
async function encoderThroughput(ws: WorkspaceSearch): Promise<string> {
  const units = ws.index.units.slice(0, 600);
  const inputs = units.flatMap((u) => unitsForPassage(ws.encoder, u).map((x) => x.input));
  await ws.encoder.encodeDocs(inputs.slice(0, 32));
  const t0 = process.hrtime.bigint();
  const enc = await ws.encoder.encodeDocs(inputs);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const tokens = inputs.reduce((n, i) => n + Math.min(i.bodyIds.length + i.contextIds.length + 3, ws.encoder.manifest.docMaxLen), 0);
  return `passage encoding: ${Math.round(tokens / s)} tokens/s (${enc.length} passages, ${tokens} tokens, ${s.toFixed(2)} s, one intra-op thread)`;
}

async function benchHighlights(o: BenchOptions, pairs: import('./metrics').HighlightPair[]): Promise<void> {
  const encoder = await Encoder.load(o.modelDir);
  try {
    const fgr = new Map<string, Array<[number, number]>>();
    const all = new Map<string, Array<[number, number]>>();
    const words = new Map<string, Array<[number, number]>>();
    for (const p of pairs) {
      fgr.set(p.id, await highlightText(encoder, p.query, p.passage));
      all.set(p.id, [[0, p.passage.length]]);
      words.set(p.id, queryWordHighlights(p.query, passageOfText(p.passage)));
    }
    const rows: Array<{ system: string; report: HighlightReport }> = [
      { system: 'evidence-search FGR', report: scoreHighlightSet(pairs, fgr) },
      { system: 'highlight everything', report: scoreHighlightSet(pairs, all) },
      { system: 'query words (BM25 peer)', report: scoreHighlightSet(pairs, words) },
    ];
    process.stdout.write(`bench: ${o.setDir} (${pairs.length} pairs), model ${encoder.manifest.name}, evidence ${encoder.manifest.evidence.granularity} >= ${encoder.manifest.evidence.threshold}\n\n`);
    process.stdout.write(formatHighlightTable(rows) + '\n');
    if (o.out) fs.writeFileSync(path.resolve(o.out), JSON.stringify({ set: o.setDir, rows }, null, 1));
  } finally {
    await encoder.dispose();
  }
}
