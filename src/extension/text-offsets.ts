// Offset arithmetic on file text (UTF-16 code units, as the core and VS Code both count).

/** Start offset of every line ('\n', '\r\n' and a lone '\r' end a line, as in VS Code). */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) i++;
      starts.push(i + 1);
    } else if (c === 10) starts.push(i + 1);
  }
  return starts;
}

/** Zero-based line and character of an offset. */
export function positionAt(starts: readonly number[], offset: number): { line: number; character: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo, character: offset - starts[lo] };
}

/** One-based line number of an offset. */
export function lineNumberAt(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || (c === 13 && text.charCodeAt(i + 1) !== 10)) line++;
  }
  return line;
}

const BOM = '\uFEFF';

/**
 * How offsets into the indexed text map onto the document's current text: the shift to add
 * (0, or -1 when the index kept a UTF-8 byte-order mark that the editor strips), or undefined
 * when the passage [start, end) no longer reads the same, in which case nothing may be drawn.
 */
export function passageShift(indexedText: string, documentText: string, start: number, end: number): number | undefined {
  if (start < 0 || end < start || end > indexedText.length) return undefined;
  const shift = indexedText.startsWith(BOM) && !documentText.startsWith(BOM) ? -1 : 0;
  const from = Math.max(start, -shift);
  if (from + shift < 0 || end + shift > documentText.length) return undefined;
  return indexedText.slice(from, end) === documentText.slice(from + shift, end + shift) ? shift : undefined;
}
