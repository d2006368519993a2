// Evidence ranges as plain offsets: keeping them valid while the document is edited, and
// stepping through them. Pure, so the editor glue stays thin.

export type OffsetRange = readonly [start: number, end: number];

/** One replacement: `length` characters at `offset` became `insertedLength` characters. */
export interface OffsetChange {
  offset: number;
  length: number;
  insertedLength: number;
}

/**
 * The ranges after a set of non-overlapping changes (as one text-change event reports them,
 * each in the coordinates of the text before the event). A range whose text is touched —
 * overlapped, or an insertion strictly inside it — is dropped; ranges after a change shift.
 * An insertion exactly at a range's start or end leaves the range's text alone.
 */
export function rangesAfterChanges(ranges: readonly OffsetRange[], changes: readonly OffsetChange[]): Array<[number, number]> {
  let out: Array<[number, number]> = ranges.map(([s, e]) => [s, e]);
  const ordered = [...changes].sort((a, b) => b.offset - a.offset);
  for (const c of ordered) {
    const cEnd = c.offset + c.length;
    const delta = c.insertedLength - c.length;
    const next: Array<[number, number]> = [];
    for (const [s, e] of out) {
      if (cEnd <= s) {
        next.push([s + delta, e + delta]);
      } else if (c.offset >= e) {
        next.push([s, e]);
      }
      // otherwise the change touches the text under the range: drop it
    }
    out = next;
  }
  return out;
}

/**
 * Index of the range to go to from `offset`: the first that starts after it (direction 1) or
 * the last that starts before it (direction -1), wrapping around; -1 when there are none.
 */
export function stepRange(ranges: readonly OffsetRange[], offset: number, direction: 1 | -1): number {
  if (ranges.length === 0) return -1;
  const order = ranges.map((r, i) => i).sort((a, b) => ranges[a][0] - ranges[b][0]);
  if (direction === 1) {
    for (const i of order) if (ranges[i][0] > offset) return i;
    return order[0];
  }
  for (let k = order.length - 1; k >= 0; k--) if (ranges[order[k]][0] < offset) return order[k];
  return order[order.length - 1];
}
