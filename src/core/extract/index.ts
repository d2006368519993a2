// Entry point of extraction: picks the extractor for a path's language.

import type { Passage } from '../types';
import { extractComments } from './comments';
import { languageForPath, normalizeLanguageId } from './languages';
import { extractMarkdown } from './markdown';
import { DEFAULT_MAX_CHARS } from './segments';

export { passageText, type PassageText } from './passage-text';
export { languageForPath, languageIdForPath, normalizeLanguageId, SUPPORTED_LANGUAGES, type LanguageInfo } from './languages';
export { DEFAULT_MAX_CHARS } from './segments';

export interface ExtractOptions {
  /** Soft target size (characters) of one passage body; longer sections/comments are split. Default 1000. */
  maxChars?: number;
  /**
   * Restricts which languages' comments are indexed (ids or aliases: 'typescript', 'ts',
   * 'python', 'sh', …). Default: all supported. Markdown files are always extracted.
   */
  languages?: string[];
}

function languageAllowed(id: string, languages: string[] | undefined): boolean {
  if (id === 'markdown' || !languages) return true;
  return languages.some((l) => normalizeLanguageId(l) === id);
}

/** Whether `path` (by extension or well-known name) would give passages under `options.languages`. */
export function isSupportedPath(path: string, options: Pick<ExtractOptions, 'languages'> = {}): boolean {
  const lang = languageForPath(path);
  return !!lang && languageAllowed(lang.id, options.languages);
}

/**
 * Passages of one file. `path` is the workspace-relative path (forward slashes) stored in the
 * passages; `text` the file decoded as UTF-8. Unsupported paths give [].
 */
export function extractPassages(path: string, text: string, options: ExtractOptions = {}): Passage[] {
  const lang = languageForPath(path);
  if (!lang || !languageAllowed(lang.id, options.languages)) return [];
  const maxChars = options.maxChars && options.maxChars > 0 ? options.maxChars : DEFAULT_MAX_CHARS;
  if (lang.kind === 'markdown') return extractMarkdown(path, text, { maxChars });
  return extractComments(path, text, lang.id, lang.syntax!, { maxChars });
}
