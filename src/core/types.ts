// Shared data shapes of the core. Nothing here imports `vscode`: the core runs under plain Node.

/** A contiguous piece of a passage's text that is a verbatim slice of the file. */
export interface TextSegment {
  /** Exactly `fileText.slice(offset, offset + text.length)`. */
  text: string;
  /** Start offset in the file text (JavaScript string index, UTF-16 code units). */
  offset: number;
}

export type PassageKind = 'markdown' | 'comment';

/**
 * A searchable unit: a Markdown section (or a piece of a long one) or a comment block.
 * Comment markers (`//`, `*`, `#`, `"""`) are not part of any segment, so the encoder
 * sees prose, yet every segment maps back to exact file offsets.
 */
export interface Passage {
  /** Workspace-relative path with forward slashes. */
  path: string;
  /** `[start, end)`: the passage's region in the file text; segments lie inside it. */
  start: number;
  end: number;
  kind: PassageKind;
  /** Language id of the source (e.g. 'markdown', 'typescript', 'python', 'rust'). */
  language: string;
  /**
   * Text the encoder sees before the passage body but that is not highlighted:
   * the Markdown heading path (`Hooks > onClose`) or, for comments, the file name and
   * the symbol the comment documents. May be ''.
   */
  context: string;
  /** The passage body, in file order, markers stripped; joined with '\n' for encoding. */
  segments: TextSegment[];
}

/** Why a file was not indexed. */
export type SkipReason = 'binary' | 'too-large' | 'minified' | 'unreadable' | 'unsupported';

export interface SkippedFile {
  path: string;
  reason: SkipReason;
  detail?: string;
}
