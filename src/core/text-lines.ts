// Line arithmetic on text (UTF-16 offsets). LF, CRLF and a lone CR each end a line, as in
// VS Code, so line numbers agree between the core, the CLI and the editor.

/** Start offset of every line. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) starts.push(i + 1);
    else if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) i++;
      starts.push(i + 1);
    }
  }
  return starts;
}

/** Index of the last element ≤ x in an ascending array (0 when x precedes them all). */
export function lastAtOrBefore(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (sorted[mid] <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** One-based line number of an offset. */
export function lineNumberAt(text: string, offset: number): number {
  return lastAtOrBefore(lineStarts(text), offset) + 1;
}
