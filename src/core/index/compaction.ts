// When and how the segmented store is compacted. Re-indexing a changed file appends a small part
// (a new segment once saved) and leaves the file's old vectors behind as dead space; the next
// compaction copies the live vectors of the parts it merges into one new part. Two triggers:
// - dead space above DEAD_SHARE of all vectors: everything is rewritten (bounded disk and memory
//   overhead: ids and norms of dead vectors stay resident, 3 B each);
// - more than MAX_PARTS parts (many small edits): the recent small parts are merged (size tiers:
//   the longest run of trailing parts no bigger together than the part before them), so the
//   usual compaction rewrites only what was re-indexed since the last one, not the whole index,
//   nor the large segments a big first build writes as it goes.
// A retrained codec needs neither: the indexer then builds a new store from scratch.
import { CompressedStoreBuilder, CompressedTokenStore } from './compressed-store';
import { relocateUnit } from './stored-unit';
import type { IndexedUnit } from './workspace-index';

export const DEAD_SHARE = 0.3;
export const MAX_PARTS = 8;

/** Vectors that some unit uses, per part of the store. */
export function liveTokensPerPart(store: CompressedTokenStore, units: readonly IndexedUnit[]): number[] {
  const live = new Array<number>(store.parts.length).fill(0);
  for (const u of units) if (u.tokenCount > 0) live[store.partOf(u.tokenFirst)] += u.tokenCount;
  return live;
}

/** The first part to merge, or -1 when the store is fine as it is. */
export function compactionStart(store: CompressedTokenStore, units: readonly IndexedUnit[]): number {
  if (store.count === 0) return -1;
  const live = liveTokensPerPart(store, units);
  const dead = store.count - live.reduce((a, b) => a + b, 0);
  if (dead > DEAD_SHARE * store.count) return 0;
  if (store.parts.length > MAX_PARTS) {
    const first = store.parts[0].count;
    if (live[0] < (1 - DEAD_SHARE) * first) return 0;
    // Size tiers: the longest run of trailing parts that together are no bigger than the part
    // before them is merged (recent small edits, not a large build's earlier segments), and at
    // least enough parts to come back to MAX_PARTS.
    let from = store.parts.length;
    let suffix = 0;
    for (let p = store.parts.length - 1; p >= 1; p--) {
      suffix += store.parts[p].count;
      if (suffix <= store.parts[p - 1].count) from = p;
    }
    return Math.min(from, MAX_PARTS - 1);
  }
  return -1;
}

/**
 * Parts [from, …) merged into one in-memory part holding only live vectors (the earlier parts
 * stay as they are); units moved accordingly, in the same order. New unit objects: the input
 * units may still be served by the previous index.
 */
export function compact(store: CompressedTokenStore, units: readonly IndexedUnit[], from: number): { store: CompressedTokenStore; units: IndexedUnit[] } {
  const keepCount = from < store.parts.length ? store.baseOf(from) : store.count;
  const kept = from > 0
    ? new CompressedTokenStore(store.codec, store.centroidIds.subarray(0, keepCount), store.norms.subarray(0, keepCount), store.parts.slice(0, from))
    : undefined;
  const b = new CompressedStoreBuilder(store.codec, 4096, kept);
  const out = units.map((u) => {
    if (u.tokenCount === 0) return relocateUnit(u, b.count);
    const at = u.tokenFirst < keepCount ? b.addFrom(kept!, u.tokenFirst, u.tokenCount) : b.addFrom(store, u.tokenFirst, u.tokenCount);
    return relocateUnit(u, at);
  });
  return { store: b.freeze(), units: out };
}
