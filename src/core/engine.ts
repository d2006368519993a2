// The core's front door: load a model, index a workspace folder (reusing the cached index for
// unchanged files), search it. Used by the CLI and by the extension host.
import fs from 'node:fs';
import path from 'node:path';
import { Encoder } from './model/encoder';
import { buildIndex, type IndexProgress, type IndexStats, type SourceFile } from './index/indexer';
import { loadIndex, saveIndex } from './index/index-file';
import type { WorkspaceIndex } from './index/workspace-index';
import { Searcher, type SearchHit, type SearchOptions } from './search/searcher';
import type { QueryEncoding } from './model/encoder';
import type { ExactScores, PruningOptions } from './search/candidate-ranker';
import { scanWorkspace, type ScanOptions } from './workspace/scan';
import type { ExtractOptions } from './extract/index';
import type { SkippedFile } from './types';
import { indexDirFor, userCacheDir } from './cache-dir';

/** The shipped model, next to the bundle (dist/../models) or the sources (src/../models). */
export function defaultModelDir(): string {
  // dist/cli.js and dist/extension.js sit one level below the package root, the sources
  // (src/core/engine.ts under tsx) two: look upwards for the shipped model.
  for (let dir = __dirname, i = 0; i < 4; i++, dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'models', 'es-colbert-small');
    if (fs.existsSync(path.join(candidate, 'model.json'))) return candidate;
  }
  return path.join(__dirname, '..', 'models', 'es-colbert-small');
}

/** realpath of the nearest existing ancestor, with the rest of the path appended (symlinks resolved). */
function realpathLenient(p: string): string {
  const abs = path.resolve(p);
  let head = abs;
  const tail: string[] = [];
  while (!fs.existsSync(head)) {
    const parent = path.dirname(head);
    if (parent === head) return abs;
    tail.unshift(path.basename(head));
    head = parent;
  }
  return path.join(fs.realpathSync(head), ...tail);
}

export interface OpenOptions {
  modelDir: string;
  /** Index folder; default: the user cache folder, keyed by root and model. */
  indexDir?: string;
  /** Save the index for the next run (default true). */
  persist?: boolean;
  scan?: ScanOptions;
  extract?: ExtractOptions;
  log?: (msg: string) => void;
  encoder?: Encoder;
  /** Progress of scanning and encoding (files scanned, files encoded, tokens encoded). */
  onProgress?: (p: IndexProgress) => void;
  /** Cancels indexing between batches; the previous saved index stays as it was. */
  signal?: AbortSignal;
  /** Awaited before each encoding batch and between files: indexing pauses while it is pending. */
  pauseGate?: () => Promise<void>;
}

export interface WorkspaceReport {
  root: string;
  indexDir: string | null;
  stats: IndexStats;
  skipped: SkippedFile[];
  skippedByReason: Record<string, number>;
  invalidUtf8: string[];
}

export interface SearchResult {
  path: string;
  start: number;
  end: number;
  score: number;
  highlights: Array<[number, number]>;
  kind: string;
  language: string;
  context: string;
}

export class WorkspaceSearch {
  private readonly searcher: Searcher;

  private constructor(
    readonly encoder: Encoder,
    readonly index: WorkspaceIndex,
    readonly report: WorkspaceReport,
    private readonly texts: Map<string, string>,
    private readonly ownsEncoder: boolean,
  ) {
    this.searcher = new Searcher(encoder, index, (p) => this.fileText(p));
  }

  static async open(rootDir: string, o: OpenOptions): Promise<WorkspaceSearch> {
    const log = o.log ?? (() => {});
    const root = fs.realpathSync(path.resolve(rootDir));
    const encoder = o.encoder ?? (await Encoder.load(path.resolve(o.modelDir)));
    const persist = o.persist ?? true;
    const indexDir = persist ? realpathLenient(o.indexDir ?? indexDirFor(userCacheDir(), root, encoder.fingerprint)) : null;
    if (indexDir && (indexDir === root || indexDir.startsWith(root + path.sep))) {
      throw new Error(`the index folder ${indexDir} is inside the searched folder ${root}; choose one outside it (nothing is written into the workspace)`);
    }
    let previous: WorkspaceIndex | undefined;
    if (indexDir) {
      const loaded = loadIndex(indexDir, { root, model: encoder.fingerprint, dim: encoder.dim });
      if ('index' in loaded) previous = loaded.index;
      else if (loaded.reason !== 'no index yet') log(`index: ${loaded.reason}`);
    }
    const texts = new Map<string, string>();
    const skipped: SkippedFile[] = [];
    const invalidUtf8: string[] = [];
    const signal = o.signal ?? o.scan?.signal;
    const scan = scanWorkspace(root, { ...o.scan, signal, onSkip: (s: SkippedFile) => skipped.push(s) });
    async function* files(): AsyncGenerator<SourceFile> {
      for await (const f of scan) {
        if (f.invalidUtf8) invalidUtf8.push(f.path);
        texts.set(f.path, f.text);
        yield { path: f.path, text: f.text };
      }
    }
    let lastLog = Date.now();
    // The total is the previous index's file count (no second walk of the folder to count the
    // files): an estimate that is exact when no file was added or removed; unknown on a first build.
    const filesTotal = previous?.files.length;
    if (filesTotal !== undefined) o.onProgress?.({ filesDone: 0, filesEncoded: 0, tokensEncoded: 0, filesTotal });
    const { index, stats } = await buildIndex(root, files(), encoder, previous, {
      extract: o.extract,
      signal,
      pauseGate: o.pauseGate,
      onProgress: (p) => {
        o.onProgress?.(filesTotal === undefined ? p : { ...p, filesTotal });
        const now = Date.now();
        if (now - lastLog > 2000) {
          lastLog = now;
          log(`indexing: ${p.filesDone} files scanned, ${p.filesEncoded} encoded, ${p.tokensEncoded} tokens`);
        }
      },
    });
    const skippedByReason: Record<string, number> = {};
    for (const s of skipped) skippedByReason[s.reason] = (skippedByReason[s.reason] ?? 0) + 1;
    const report: WorkspaceReport = { root, indexDir, stats, skipped, skippedByReason, invalidUtf8 };
    const skippedNote = skipped.length ? `; skipped ${skipped.length} (${Object.entries(skippedByReason).map(([k, v]) => `${v} ${k}`).join(', ')})` : '';
    const utf8Note = invalidUtf8.length ? `; ${invalidUtf8.length} with invalid UTF-8 (decoded with U+FFFD)` : '';
    log(`indexed ${stats.files} files (${stats.filesReused} unchanged, ${stats.filesEncoded} encoded), ${stats.units} passages, ${stats.tokens} token vectors in ${stats.seconds.toFixed(1)} s${stats.codecTrained ? ` (compression trained: ${stats.centroids} centroids)` : ''}${skippedNote}${utf8Note}`);
    if (stats.files === 0) log(`no Markdown or source files with comments found under ${root}`);
    if (indexDir && (stats.filesEncoded > 0 || !previous || previous.files.length !== index.files.length)) {
      try {
        saveIndex(indexDir, index);
      } catch (e) {
        log(`index: could not save to ${indexDir}: ${(e as Error).message} (searching without a cache)`);
      }
    }
    return new WorkspaceSearch(encoder, index, report, texts, !o.encoder);
  }

  fileText(p: string): string {
    const t = this.texts.get(p);
    if (t === undefined) throw new Error(`file not in the index: ${p}`);
    return t;
  }

  async searchHits(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    return this.searcher.search(query, options);
  }

  /** Evidence ranges of one unit for a query (used by tuning and by callers that rank elsewhere). */
  async evidenceFor(query: string, unit: SearchHit['unit'], threshold?: number, granularity?: 'token' | 'sentence'): Promise<Array<[number, number]>> {
    return this.searcher.evidence(await this.searcher.encodeQuery(query), unit, threshold, granularity);
  }

  async encodeQuery(query: string): Promise<QueryEncoding> {
    return this.searcher.encodeQuery(query);
  }

  /** Exact dense scores of the units that can rank for a query (all, or the pruned candidates). */
  async denseScores(q: QueryEncoding, pruning: PruningOptions): Promise<ExactScores> {
    return this.searcher.denseScores(q, pruning);
  }

  async search(query: string, options: SearchOptions = {}): Promise<SearchResult[]> {
    const hits = await this.searcher.search(query, options);
    return hits.map((h) => ({
      path: h.unit.path, start: h.unit.start, end: h.unit.end, score: h.score, highlights: h.highlights,
      kind: h.unit.kind, language: h.unit.language, context: h.unit.context,
    }));
  }

  async dispose(): Promise<void> {
    await this.searcher.dispose();
    if (this.ownsEncoder) await this.encoder.dispose();
  }
}
