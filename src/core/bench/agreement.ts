// `evidence-search bench --set DIR --agreement`: how closely the compressed, pruned dense
// ranking follows exact MaxSim on float32 vectors. The corpus is encoded once more into an
// exact float32 store; for each question, the top-10 of the exact ranking is compared with the
// top-10 of (a) exact MaxSim over every unit's decompressed vectors and (b) the pruned
// candidate pipeline at several nprobe / ncandidates settings.
import { WorkspaceSearch } from '../engine';
import { unitsForPassage } from '../index/indexer';
import { encodeEach } from '../model/worker-encoder';
import { extractPassages } from '../extract/index';
import { FloatTokenStoreBuilder, type FloatTokenStore } from '../index/token-store';
import { CompressedTokenStore } from '../index/compressed-store';
import { MAX_BUCKETS } from '../index/residual-codec';
import { DenseScorer } from '../search/dense-scorer';
import { DEFAULT_FUSION, FUSION_DEPTH, compareUnits, reciprocalRankFusion } from '../search/searcher';
import type { PruningOptions } from '../search/candidate-ranker';
import type { IndexedUnit } from '../index/workspace-index';
type BenchQuery = { id: string; query: string };

const TOP = 10;
const SETTINGS: PruningOptions[] = [
  { nprobe: 2, ncandidates: 128 }, { nprobe: 4, ncandidates: 128 }, { nprobe: 4, ncandidates: 256 },
  { nprobe: 8, ncandidates: 256 }, { nprobe: 8, ncandidates: 512 }, { nprobe: 16, ncandidates: 1024 },
];

/**
 * The workspace's units encoded again, in index order, kept as exact float32 vectors — one
 * passage a model run, as indexing encodes them (encodeEach), so that the comparison measures
 * the compression alone, not padding's effect on the encoder's output.
 */
async function exactStore(ws: WorkspaceSearch): Promise<{ store: FloatTokenStore; units: IndexedUnit[] }> {
  const b = new FloatTokenStoreBuilder(ws.encoder.dim);
  const units: IndexedUnit[] = [];
  for (const f of ws.index.files) {
    const items = extractPassages(f.path, ws.fileText(f.path)).flatMap((p) => unitsForPassage(ws.encoder, p));
    for (let k = 0; k < items.length; k += 64) {
      const batch = items.slice(k, k + 64);
      const enc = await encodeEach(ws.encoder, batch.map((i) => i.input));
      enc.forEach((e, i) => units.push({ ...batch[i].unit, tokenFirst: b.add(e.vectors, e.count), tokenCount: e.count }));
    }
  }
  return { store: b.freeze(), units };
}

function topUnits(units: readonly number[] | Int32Array, scores: Float32Array, all: readonly IndexedUnit[], top = TOP): number[] {
  const idx = Array.from(units.keys());
  idx.sort((a, b) => scores[b] - scores[a] || compareUnits(all[units[a]], all[units[b]]));
  return idx.slice(0, top).map((k) => units[k]);
}

/** How many axes have 0, 1, 2, … code bits, e.g. "25/12/18/45/27/1". */
function bitsHistogram(bits: Uint8Array): string {
  const counts = new Array(Math.max(0, ...bits) + 1).fill(0);
  for (const b of bits) counts[b]++;
  return counts.join('/');
}

const overlap = (a: number[], b: number[]): number => a.filter((x) => b.includes(x)).length / Math.max(1, Math.min(TOP, a.length));

export async function runAgreement(ws: WorkspaceSearch, queries: readonly BenchQuery[]): Promise<string> {
  const { store: exact, units: exactUnits } = await exactStore(ws);
  const units = ws.index.units;
  if (exactUnits.length !== units.length) throw new Error(`re-encoding gave ${exactUnits.length} units, the index has ${units.length}`);
  const compressed = ws.index.store;
  const scorer = await DenseScorer.create();
  const all = Array.from(units.keys());
  const rows: string[] = [];
  try {
    const exactTop: number[][] = [];
    const exactTop100: number[][] = [];
    let exactMs = 0;
    let fullMs = 0;
    let fullOverlap = 0;
    for (const q of queries) {
      const qe = await ws.encodeQuery(q.query);
      let t0 = process.hrtime.bigint();
      const exactScores = await scorer.scoreAll(qe.vectors, qe.count, exact, exactUnits);
      exactTop.push(topUnits(all, exactScores, units));
      exactTop100.push(topUnits(all, exactScores, units, FUSION_DEPTH));
      exactMs += Number(process.hrtime.bigint() - t0) / 1e6;
      t0 = process.hrtime.bigint();
      const full = topUnits(all, await scorer.scoreAll(qe.vectors, qe.count, compressed, units), units);
      fullMs += Number(process.hrtime.bigint() - t0) / 1e6;
      fullOverlap += overlap(exactTop[exactTop.length - 1], full);
    }
    const n = queries.length;
    const bytes = CompressedTokenStore.bytesPerVector(compressed.dim);
    const codecBytes = 4 * (compressed.codec.k * compressed.dim + compressed.dim * compressed.dim + (2 * MAX_BUCKETS - 1) * compressed.dim);
    rows.push(`agreement: ${queries.length} queries, ${units.length} units, ${compressed.count} token vectors, ${compressed.codec.k} centroids, residual axes by code bits (0, 1, 2, …): ${bitsHistogram(compressed.codec.bits)}`);
    // The codec's error, steadier than the rankings' overlap (which moves by ±0.005 with the
    // codec's seed): the mean squared distance of the decoded unit vectors from the exact ones.
    let sq = 0;
    let count = 0;
    for (let u = 0; u < units.length; u++) {
      const m = units[u].tokenCount;
      const D = compressed.dim;
      const dec = new Float32Array(m * D);
      compressed.decode(units[u].tokenFirst, m, dec);
      const ex = new Float32Array(m * D);
      exact.decode(exactUnits[u].tokenFirst, m, ex);
      const rot = compressed.toStoreSpace(ex, m);
      for (let i = 0; i < m * D; i++) sq += (dec[i] - rot[i]) ** 2;
      count += m;
    }
    rows.push(`decoded vectors: mean squared error against exact float32 ${(sq / Math.max(1, count)).toFixed(5)}`);
    rows.push(`store: ${bytes} bytes/vector in flat arrays + codec ${(codecBytes / 1024).toFixed(0)} KiB (${(codecBytes / Math.max(1, compressed.count)).toFixed(1)} bytes/vector here) = ${(bytes + codecBytes / Math.max(1, compressed.count)).toFixed(1)} bytes/vector; exact float32: ${4 * compressed.dim + 8}`);
    rows.push('');
    rows.push('| dense ranking                         | top-10 overlap with exact fp32 | mean ms/query |');
    rows.push('|---------------------------------------|--------------------------------|---------------|');
    rows.push(`| exact fp32 MaxSim, every unit         | 1.000                          | ${(exactMs / n).toFixed(1).padEnd(13)} |`);
    rows.push(`| compressed, exact MaxSim, every unit  | ${(fullOverlap / n).toFixed(3).padEnd(30)} | ${(fullMs / n).toFixed(1).padEnd(13)} |`);
    for (const p of SETTINGS) {
      let ov = 0;
      let ms = 0;
      let qi = 0;
      for (const q of queries) {
        const qe = await ws.encodeQuery(q.query);
        const t0 = process.hrtime.bigint();
        const r = await ws.denseScores(qe, p);
        ms += Number(process.hrtime.bigint() - t0) / 1e6;
        ov += overlap(exactTop[qi++], topUnits(r.units, r.scores, units));
      }
      const label = `compressed, nprobe ${p.nprobe}, ncandidates ${p.ncandidates}`;
      rows.push(`| ${label.padEnd(37)} | ${(ov / n).toFixed(3).padEnd(30)} | ${(ms / n).toFixed(1).padEnd(13)} |`);
    }
    // The ranking users see: BM25 fused with the dense ranking. Its agreement with the same
    // fusion over exact float32 MaxSim (identical BM25 list, identical fusion weights).
    const unitIndex = new Map(units.map((u, k) => [u, k]));
    const fusion = ws.encoder.manifest.fusion ?? DEFAULT_FUSION;
    let hybridOverlap = 0;
    let hybridMs = 0;
    for (const [qi, q] of queries.entries()) {
      const lex = (await ws.searchHits(q.query, { mode: 'lexical', top: FUSION_DEPTH, evidence: false })).map((h) => unitIndex.get(h.unit)!);
      const exactHybrid = reciprocalRankFusion(exactTop100[qi], lex, fusion, (a, b) => compareUnits(units[a], units[b])).slice(0, TOP).map((f) => f.item);
      const t0 = process.hrtime.bigint();
      const hits = await ws.searchHits(q.query, { top: TOP, evidence: false });
      hybridMs += Number(process.hrtime.bigint() - t0) / 1e6;
      hybridOverlap += overlap(exactHybrid, hits.map((h) => unitIndex.get(h.unit)!));
    }
    rows.push('');
    rows.push('| hybrid ranking (BM25 fused, the default) | top-10 overlap with the fusion over exact fp32 | mean ms/query |');
    rows.push('|---------------------------------------|--------------------------------|---------------|');
    rows.push(`| compressed, default pruning           | ${(hybridOverlap / n).toFixed(3).padEnd(30)} | ${(hybridMs / n).toFixed(1).padEnd(13)} |`);
  } finally {
    await scorer.dispose();
  }
  return rows.join('\n');
}
