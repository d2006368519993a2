// Query-time logic: encode the question, rank units by MaxSim (exact over every unit of a small
// index; over PLAID-style candidates of a larger one), optionally fuse with BM25, and compute
// FGR evidence only for the results that are shown. The scoring pass (adc-kernel.ts) leaves each
// scored token's best product with the question's rows, so evidence for a dense or hybrid result
// is a sigmoid and a threshold; a lexical result's units are scored once more, together. The
// tokens' file spans are stored, packed, with each unit's text (span-code.ts), and recovered from
// the text and the vectors' word-start flags for a unit without them (unit-spans.ts).
import type { Encoder, QueryEncoding, TokenSpans } from '../model/encoder';
import type { IndexedUnit, WorkspaceIndex } from '../index/workspace-index';
import { Bm25Index } from './bm25';
import { tokenMaxima } from './maxsim';
import { DenseScorer } from './dense-scorer';
import { CandidateRanker, DEFAULT_PRUNING, HYBRID_PRUNING, type ExactScores, type PruningOptions, type RankOptions } from './candidate-ranker';
import { CompressedTokenStore } from '../index/compressed-store';
import { storedTerms } from '../index/stored-unit';
import type { TokenStore } from '../index/token-store';
import { unitSpans } from '../index/unit-spans';
import { evidenceRanges, evidenceSentences, sigmoid, type EvidenceToken } from './evidence';

export type RankingMode = 'hybrid' | 'dense' | 'lexical';

export interface SearchOptions {
  top?: number;
  mode?: RankingMode;
  /** Compute evidence highlights (default true). */
  evidence?: boolean;
  /** Overrides the model's calibrated evidence threshold. */
  threshold?: number;
  /** Overrides the model's evidence granularity. */
  granularity?: 'token' | 'sentence';
  /** Candidate pruning of the dense ranking (default HYBRID_PRUNING in hybrid mode, else DEFAULT_PRUNING). */
  pruning?: PruningOptions;
}

export interface SearchHit {
  unit: IndexedUnit;
  score: number;
  dense?: number;
  lexical?: number;
  /** Absolute [start, end) ranges in the unit's file. */
  highlights: Array<[number, number]>;
}

/** Reciprocal-rank fusion defaults, used when the model manifest names none. */
export const DEFAULT_FUSION: FusionWeights = { k: 60, denseWeight: 1, lexicalWeight: 1 };
/** Depth of each ranking that fusion sees. */
export const FUSION_DEPTH = 100;
/** Units whose spans are kept, read or recovered (a few pages of results; ~2 KB each). */
const SPAN_CACHE_UNITS = 256;
/** Below this many token vectors every unit is scored exactly: pruning would save nothing. */
const EXHAUSTIVE_BELOW_TOKENS = 16384;

export class Searcher {
  private bm25?: Bm25Index;
  private scorer?: Promise<DenseScorer>;
  private ranker?: CandidateRanker;
  private readonly queryCache = new Map<string, QueryEncoding>();
  /** The last dense scoring's per-token evidence maxima, for the evidence of its results. */
  private lastMaxima?: { q: QueryEncoding; scored: ExactScores; at: Map<number, number> };
  /** Units whose token spans could not be recovered: reported once each. */
  private readonly withoutSpans = new WeakSet<IndexedUnit>();
  /**
   * The spans of recently shown units, least recently used first: the same results come back
   * as a question is typed, re-asked or re-rendered. Reading a unit's from its segment costs a
   * small read; recovering one's (a unit without stored spans) ~10–50 µs, its text read from
   * its segment included (a query shows 10).
   */
  private readonly spanCache = new Map<IndexedUnit, TokenSpans>();

  constructor(
    private readonly encoder: Encoder,
    private readonly index: WorkspaceIndex,
    /** Current text of a workspace file (used to widen highlights to whole words). */
    private readonly fileText: (path: string) => string,
    /** Where a unit left without highlights is reported. */
    private readonly log: (msg: string) => void = () => {},
  ) {}

  private lexical(): Bm25Index {
    // From the segments' stored term lists where the units have them (no text read), else texts.
    this.bm25 ??= new Bm25Index(this.index.units, storedTerms(this.index.units));
    return this.bm25;
  }

  async encodeQuery(query: string): Promise<QueryEncoding> {
    let q = this.queryCache.get(query);
    if (!q) {
      q = await this.encoder.encodeQuery(query);
      if (this.queryCache.size > 256) this.queryCache.clear();
      this.queryCache.set(query, q);
    }
    return q;
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    const top = options.top ?? 10;
    const mode = options.mode ?? 'hybrid';
    const units = this.index.units;
    if (units.length === 0 || query.trim() === '') return [];
    const q = mode === 'lexical' ? undefined : await this.encodeQuery(query);
    let hits: SearchHit[];
    if (mode === 'lexical') {
      hits = this.lexical().search(query, top).map(({ index, score }) => ({ unit: units[index], score, lexical: score, highlights: [] }));
    } else {
      const lex = mode === 'hybrid' ? this.lexical().search(query, FUSION_DEPTH) : [];
      // The BM25 list is scored exactly too, so each fused unit has its true dense rank.
      const { units: scored, scores } = await this.denseScores(q!, options.pruning ?? (mode === 'hybrid' ? HYBRID_PRUNING : DEFAULT_PRUNING), lex.map((l) => l.index));
      const dense = new Map<number, number>();
      scored.forEach((u, k) => dense.set(u, scores[k]));
      const denseOrder = Array.from(scored).sort((a, b) => dense.get(b)! - dense.get(a)! || compareUnits(units[a], units[b]));
      if (mode === 'dense') {
        hits = denseOrder.slice(0, top).map((u) => ({ unit: units[u], score: dense.get(u)!, dense: dense.get(u)!, highlights: [] }));
      } else {
        const lexScore = new Map(lex.map(({ index, score }) => [index, score]));
        const fused = reciprocalRankFusion(denseOrder.slice(0, FUSION_DEPTH), lex.map((l) => l.index), this.encoder.manifest.fusion ?? DEFAULT_FUSION, (a, b) => compareUnits(units[a], units[b]));
        hits = fused.slice(0, top).map(({ item: u, score }) => ({ unit: units[u], score, dense: dense.get(u) ?? 0, lexical: lexScore.get(u) ?? 0, highlights: [] }));
      }
    }
    if (options.evidence !== false) {
      const qe = q ?? (await this.encodeQuery(query));
      await this.prepareEvidence(qe, hits.map((h) => h.unit));
      for (const h of hits) h.highlights = await this.evidence(qe, h.unit, options.threshold, options.granularity);
    }
    return hits;
  }

  /**
   * Exact MaxSim scores of the units that can rank: every unit of a small index; otherwise the
   * pruned candidates plus `mustScore`.
   */
  async denseScores(q: QueryEncoding, pruning: PruningOptions & Pick<RankOptions, 'only'>, mustScore: readonly number[] = []): Promise<ExactScores> {
    this.scorer ??= DenseScorer.create();
    const scorer = await this.scorer;
    const { store, units } = this.index;
    const exhaustive = store.count < EXHAUSTIVE_BELOW_TOKENS && !pruning.only;
    if (!(store instanceof CompressedTokenStore) || q.count > CandidateRanker.maxRows) {
      // (a query longer than the compressed-domain kernel holds: decode and multiply, every unit)
      return { units: Int32Array.from(units.keys()), scores: await scorer.scoreAll(q.vectors, q.count, store, units) };
    }
    this.ranker ??= new CandidateRanker(store, units, scorer.matmul);
    const scored = await this.ranker.rank(q.vectors, q.count, { ...pruning, exhaustive, evidenceRows: evidenceRows(this.encoder, q) }, mustScore);
    this.lastMaxima = { q, scored, at: new Map(Array.from(scored.units, (u, k) => [u, k])) };
    return scored;
  }

  /**
   * Builds now what the first query would otherwise build (BM25 tables, the matrix-product
   * session, the inverted lists and the kernel's tables): for a caller with idle time after
   * opening an index, so that the first question is answered as fast as the next ones.
   */
  async prepare(): Promise<void> {
    this.lexical();
    this.scorer ??= DenseScorer.create();
    const scorer = await this.scorer;
    const { store, units } = this.index;
    if (store instanceof CompressedTokenStore && store.count >= EXHAUSTIVE_BELOW_TOKENS) this.ranker ??= new CandidateRanker(store, units, scorer.matmul);
  }

  async dispose(): Promise<void> {
    if (this.scorer) await (await this.scorer).dispose();
    this.scorer = undefined;
  }

  /**
   * FGR evidence ranges for one unit (absolute file offsets): from the token maxima of the dense
   * scoring that ranked it, else (a lexical hit, another query since) from scoring it now. None
   * when the unit's text does not give back its tokens' spans (unit-spans.ts): no highlight
   * rather than one on the wrong words.
   */
  async evidence(q: QueryEncoding, unit: IndexedUnit, threshold?: number, granularity?: 'token' | 'sentence'): Promise<Array<[number, number]>> {
    const spans = this.spansOf(unit);
    if (!spans) return [];
    if (!this.maximaOf(q, unit)) await this.prepareEvidence(q, [unit]);
    const best = this.maximaOf(q, unit);
    const tokens = best
      ? evidenceTokens(this.encoder, spans, best)
      : scoreTokens(this.encoder, q, this.index.store, unit.tokenFirst, spans);
    return pickEvidence(this.encoder, this.fileText(unit.path), unit.start, unit.end, tokens, threshold, granularity);
  }

  /**
   * Reads (or recovers) the token spans of units about to be shown (kept for their evidence):
   * work that needs only the index, which a caller can do while it waits for something else
   * (the results' files being checked).
   */
  warmSpans(units: readonly IndexedUnit[]): void {
    for (const u of units) this.spansOf(u);
  }

  /** The file spans of a unit's token vectors, as stored or recovered from its text; undefined (reported once) when they cannot be. */
  private spansOf(unit: IndexedUnit): TokenSpans | undefined {
    const cached = this.spanCache.get(unit);
    if (cached) {
      this.spanCache.delete(unit); // most recently used: to the end
      this.spanCache.set(unit, cached);
      return cached;
    }
    const spans = unitSpans(this.encoder, unit, this.index.store.norms);
    if (!('reason' in spans)) {
      if (this.spanCache.size >= SPAN_CACHE_UNITS) this.spanCache.delete(this.spanCache.keys().next().value!);
      this.spanCache.set(unit, spans);
      return spans;
    }
    if (!this.withoutSpans.has(unit)) {
      this.withoutSpans.add(unit);
      this.log(`evidence: ${spans.reason}; no highlights for it`);
    }
    return undefined;
  }

  /**
   * Unless the last dense scoring scored all of `units` for this query, scores them now in one
   * pass (lexical hits), so that their evidence is at hand.
   */
  async prepareEvidence(q: QueryEncoding, units: readonly IndexedUnit[]): Promise<void> {
    if (units.every((u) => this.maximaOf(q, u)) || !(this.index.store instanceof CompressedTokenStore) || q.count > CandidateRanker.maxRows) return;
    // All of them, not only the missing ones: the new maxima replace the last scoring's.
    await this.denseScores(q, { nprobe: 0, ncandidates: 0, only: true }, units.map((u) => this.unitIndex(u)).filter((u) => u >= 0));
  }

  /** The best evidence-row product of each of a unit's tokens, when the last dense scoring scored it for this query. */
  private maximaOf(q: QueryEncoding, unit: IndexedUnit): Float32Array | undefined {
    const last = this.lastMaxima;
    if (!last || last.q !== q || !last.scored.tokenMaxima || !last.scored.tokenOffsets) return undefined;
    const k = last.at.get(this.unitIndex(unit));
    if (k === undefined) return undefined;
    const from = last.scored.tokenOffsets[k];
    return last.scored.tokenMaxima.subarray(from, from + unit.tokenCount);
  }

  private unitIndexes?: Map<IndexedUnit, number>;
  private unitIndex(unit: IndexedUnit): number {
    this.unitIndexes ??= new Map(this.index.units.map((u, k) => [u, k]));
    return this.unitIndexes.get(unit) ?? -1;
  }
}

/** Query rows whose products give evidence: the question's own tokens, or all (model manifest). */
export function evidenceRows(encoder: Encoder, q: QueryEncoding): [number, number] {
  return encoder.manifest.evidence.queryTokens === 'real' && q.realCount > 0 ? [2, 2 + q.realCount] : [0, q.count];
}

/** Evidence ranges from scored tokens, at the model's (or the caller's) granularity and threshold. */
export function pickEvidence(encoder: Encoder, text: string, start: number, end: number, tokens: EvidenceToken[], threshold?: number, granularity?: 'token' | 'sentence'): Array<[number, number]> {
  const ev = encoder.manifest.evidence;
  const t = threshold ?? ev.threshold;
  const ranges = (granularity ?? ev.granularity) === 'sentence' ? evidenceSentences(text, start, end, tokens, t) : evidenceRanges(text, tokens, t);
  // Highlights never leave their passage, whatever word widening did at its edges.
  return ranges.map(([a, b]) => [Math.max(a, start), Math.min(b, end)] as [number, number]).filter(([a, b]) => b > a);
}

/**
 * p_j for every body token of a unit whose vectors start at `first`, one per span (marker and
 * context tokens have no span and are skipped).
 */
export function scoreTokens(encoder: Encoder, q: QueryEncoding, store: TokenStore, first: number, spans: TokenSpans): EvidenceToken[] {
  const [r0, r1] = evidenceRows(encoder, q);
  return evidenceTokens(encoder, spans, tokenMaxima(q.vectors, r0, r1, store, first, spans.starts.length));
}

/** p_j = sigmoid(scale · best_j + bias) for the body tokens among a unit's vectors (best_j and spans in vector order). */
function evidenceTokens(encoder: Encoder, spans: TokenSpans, best: Float32Array): EvidenceToken[] {
  const ev = encoder.manifest.evidence;
  const out: EvidenceToken[] = [];
  for (let k = 0; k < spans.starts.length; k++) {
    const s = spans.starts[k];
    if (s < 0) continue;
    out.push({ start: s, end: spans.ends[k], p: sigmoid(ev.scale * best[k] + ev.bias) });
  }
  return out;
}

export interface FusionWeights {
  k: number;
  denseWeight: number;
  lexicalWeight: number;
}

/**
 * Reciprocal-rank fusion of a dense and a lexical ranking (best first): an item scores
 * w / (k + rank) in each list it appears in. Sorted by fused score, ties by `tie`.
 */
export function reciprocalRankFusion<T>(dense: readonly T[], lexical: readonly T[], f: FusionWeights, tie: (a: T, b: T) => number): Array<{ item: T; score: number }> {
  const fused = new Map<T, number>();
  dense.forEach((item, r) => fused.set(item, f.denseWeight / (f.k + r + 1)));
  lexical.forEach((item, r) => fused.set(item, (fused.get(item) ?? 0) + f.lexicalWeight / (f.k + r + 1)));
  return [...fused].map(([item, score]) => ({ item, score })).sort((a, b) => b.score - a.score || tie(a.item, b.item));
}

/** Deterministic order: score desc, then path, then offset. */
export function compareUnits(a: IndexedUnit, b: IndexedUnit): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : a.start - b.start;
}
