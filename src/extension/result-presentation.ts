// How a result reads in lists (quick pick, tree): title, location, snippet. Pure.
import { buildSnippet, type Snippet } from './snippet';
import { lineNumberAt } from './text-offsets';

export interface PresentableResult {
  path: string;
  start: number;
  end: number;
  highlights: Array<[number, number]>;
  kind: string;
  context: string;
  indexedText: string;
  folder: { name: string };
}

export interface ResultPresentation {
  /** Heading path or documented symbol; the file name when the passage has none. */
  title: string;
  /** 1-based line of the first evidence word (or of the passage). */
  line: number;
  /** `folder/path:line` in multi-root workspaces, `path:line` otherwise. */
  location: string;
  snippet: Snippet;
}

export function presentResult(r: PresentableResult, multiRoot: boolean, maxLength = 160): ResultPresentation {
  const anchor = r.highlights.length ? Math.min(...r.highlights.map((h) => h[0])) : r.start;
  const line = lineNumberAt(r.indexedText, Math.max(r.start, anchor));
  const base = r.path.slice(r.path.lastIndexOf('/') + 1);
  const title = r.context.replace(/\s+/g, ' ').trim() || base;
  const location = `${multiRoot ? `${r.folder.name}/` : ''}${r.path}:${line}`;
  const snippet = buildSnippet(r.indexedText, r.start, r.end, r.highlights, {
    maxLength,
    kind: r.kind === 'markdown' ? 'markdown' : 'comment',
  });
  return { title, line, location, snippet };
}
