// Builds or refreshes a WorkspaceIndex from a stream of files. Files whose content hash is
// unchanged keep their units and vectors from the previous index; only new or changed files
// are extracted, tokenized and encoded, in batches across files.
import crypto from 'node:crypto';
import { extractPassages, type ExtractOptions } from '../extract/index';
import { passageText } from '../extract/passage-text';
import type { Encoder, DocInput } from '../model/encoder';
import type { Passage } from '../types';
import { TokenStoreBuilder } from './token-store';
import type { IndexedFile, IndexedUnit, WorkspaceIndex } from './workspace-index';

export interface SourceFile {
  /** Workspace-relative, forward slashes. */
  path: string;
  text: string;
}

export interface IndexProgress {
  filesDone: number;
  filesEncoded: number;
  tokensEncoded: number;
  /** Files expected in all, when known (the caller's estimate; filesDone may exceed it). */
  filesTotal?: number;
}

export interface IndexStats {
  files: number;
  filesReused: number;
  filesEncoded: number;
  units: number;
  tokens: number;
  tokensEncoded: number;
  seconds: number;
}

export interface IndexerOptions {
  extract?: ExtractOptions;
  onProgress?: (p: IndexProgress) => void;
  /** Passages encoded per batch (bounded memory). */
  batchPassages?: number;
  signal?: AbortSignal;
  /**
   * Awaited before each encoding batch and between files: indexing waits while the promise is
   * pending (paused). An abort of `signal` ends the wait with 'indexing cancelled'.
   */
  pauseGate?: () => Promise<void>;
}

export function contentHash(text: string): string {
  return crypto.createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A passage's body tokens, windowed to what the encoder takes; each window is one unit. */
export function unitsForPassage(encoder: Encoder, p: Passage): Array<{ unit: Passage; input: DocInput }> {
  const pt = passageText(p);
  const tok = encoder.tokenizer.tokenize(pt.text);
  const contextIds = encoder.contextIds(p.context);
  const cap = encoder.bodyCapacity(contextIds.length);
  const n = tok.ids.length;
  const fileStarts = new Int32Array(n);
  const fileEnds = new Int32Array(n);
  for (let t = 0; t < n; t++) {
    fileStarts[t] = pt.toFileOffset(tok.starts[t]);
    fileEnds[t] = Math.max(fileStarts[t], pt.toFileOffset(tok.ends[t]));
  }
  if (n <= cap) {
    return [{ unit: p, input: { contextIds, bodyIds: tok.ids, bodyStarts: fileStarts, bodyEnds: fileEnds } }];
  }
  // Windows end at a word start (a token that begins after a gap in the text), so a window
  // never splits a word and widened highlights stay inside their unit.
  const out: Array<{ unit: Passage; input: DocInput }> = [];
  for (let w = 0, e = 0; w < n; w = e) {
    e = Math.min(n, w + cap);
    if (e < n) {
      let cut = e;
      while (cut > w + 1 && fileStarts[cut] <= fileEnds[cut - 1]) cut--;
      if (cut > w + 1) e = cut;
    }
    const start = w === 0 ? p.start : fileStarts[w];
    const end = e === n ? p.end : fileStarts[e];
    const segments = p.segments
      .map((s) => {
        const a = Math.max(s.offset, start);
        const b = Math.min(s.offset + s.text.length, end);
        return b > a ? { offset: a, text: s.text.slice(a - s.offset, b - s.offset) } : null;
      })
      .filter((s): s is { offset: number; text: string } => s !== null);
    out.push({
      unit: { ...p, start, end, segments },
      input: { contextIds, bodyIds: tok.ids.slice(w, e), bodyStarts: fileStarts.slice(w, e), bodyEnds: fileEnds.slice(w, e) },
    });
  }
  return out;
}

export async function buildIndex(
  root: string,
  files: AsyncIterable<SourceFile> | Iterable<SourceFile>,
  encoder: Encoder,
  previous: WorkspaceIndex | undefined,
  options: IndexerOptions = {},
): Promise<{ index: WorkspaceIndex; stats: IndexStats }> {
  const t0 = Date.now();
  const batchPassages = options.batchPassages ?? 64;
  const prevFiles = new Map((previous?.files ?? []).map((f) => [f.path, f]));
  const store = new TokenStoreBuilder(encoder.dim);
  const indexedFiles: IndexedFile[] = [];
  const units: IndexedUnit[] = [];
  const stats: IndexStats = { files: 0, filesReused: 0, filesEncoded: 0, units: 0, tokens: 0, tokensEncoded: 0, seconds: 0 };
  // Pending work: units waiting for their vectors, grouped by file to keep file order.
  let pending: Array<{ file: IndexedFile; items: Array<{ unit: Passage; input: DocInput }> }> = [];
  let pendingCount = 0;

  const gate = async (): Promise<void> => {
    const { pauseGate, signal } = options;
    if (signal?.aborted) throw new Error('indexing cancelled');
    if (!pauseGate) return;
    if (!signal) return pauseGate();
    let onAbort: () => void = () => {};
    const aborted = new Promise<void>((resolve) => {
      onAbort = resolve;
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([pauseGate(), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    if (signal.aborted) throw new Error('indexing cancelled');
  };

  const flush = async (): Promise<void> => {
    await gate();
    const inputs = pending.flatMap((p) => p.items.map((i) => i.input));
    const encoded = inputs.length > 0 ? await encoder.encodeDocs(inputs) : [];
    let k = 0;
    for (const { file, items } of pending) {
      file.unitFirst = units.length;
      for (const item of items) {
        const e = encoded[k++];
        const first = store.addFloat(e.vectors, e.starts, e.ends);
        units.push({ ...item.unit, tokenFirst: first, tokenCount: e.count });
        stats.tokensEncoded += e.count;
      }
      file.unitCount = items.length;
      indexedFiles.push(file);
    }
    pending = [];
    pendingCount = 0;
  };

  for await (const f of files) {
    await gate();
    stats.files++;
    const hash = contentHash(f.text);
    const prev = prevFiles.get(f.path);
    if (prev && previous && prev.hash === hash) {
      // Unchanged: copy units and vectors, no encoding.
      if (pendingCount > 0) await flush();
      const first = units.length;
      for (let u = prev.unitFirst; u < prev.unitFirst + prev.unitCount; u++) {
        const old = previous.units[u];
        const at = store.addFrom(previous.store, old.tokenFirst, old.tokenCount);
        units.push({ ...old, tokenFirst: at });
      }
      indexedFiles.push({ ...prev, unitFirst: first });
      stats.filesReused++;
    } else {
      const passages = extractPassages(f.path, f.text, options.extract);
      const items = passages.flatMap((p) => unitsForPassage(encoder, p));
      pending.push({ file: { path: f.path, hash, size: f.text.length, unitFirst: 0, unitCount: 0 }, items });
      pendingCount += items.length;
      stats.filesEncoded++;
      if (pendingCount >= batchPassages) await flush();
    }
    options.onProgress?.({ filesDone: stats.files, filesEncoded: stats.filesEncoded, tokensEncoded: stats.tokensEncoded });
  }
  if (pendingCount > 0 || pending.length > 0) await flush();
  const frozen = store.freeze();
  stats.units = units.length;
  stats.tokens = frozen.count;
  stats.seconds = (Date.now() - t0) / 1000;
  return { index: { root, modelFingerprint: encoder.fingerprint, files: indexedFiles, units, store: frozen }, stats };
}
