// Offset arithmetic on file text (UTF-16 code units, as the core and VS Code both count).
import { lastAtOrBefore } from '../core/text-lines';

export { lineStarts, lineNumberAt } from '../core/text-lines';

/** Zero-based line and character of an offset. */
export function positionAt(starts: readonly number[], offset: number): { line: number; character: number } {
  const line = lastAtOrBefore(starts, offset);
  return { line, character: offset - starts[line] };
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
