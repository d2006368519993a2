// Escaping document text for the places VS Code renders it.

/**
 * Quick pick labels, descriptions and details render `$(name)` as a codicon; document text must
 * show as written, so every `$(` that is not already escaped gets a backslash.
 */
export function escapeCodicons(text: string): string {
  return text.replace(/(\\)?\$\(/g, (m, escaped: string | undefined) => (escaped ? m : '\\$('));
}

/** One line for a label: whitespace runs (line breaks included) become one space. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
