// How many encoder tokens an indexing run will take, before the files are read: from their sizes
// and the tokens per byte seen so far. Markdown is all prose (about 0.3 tokens a byte) while code
// only contributes its comments (0.01–0.1), and a folder lists its docs and its code in runs, so
// each kind learns its own ratio; until a kind has been seen, a prior stands in for it.
import { languageForPath } from '../extract/languages';

type Kind = 'markdown' | 'code';

/** Tokens per byte assumed for a kind until some of it has been read (fastify docs and sources). */
const PRIOR: Record<Kind, number> = { markdown: 0.3, code: 0.04 };
/** Weight of the prior, in bytes: after a few files of a kind its observed ratio takes over. */
const PRIOR_BYTES = 16 * 1024;

export class TokenEstimate {
  private readonly kinds: Record<Kind, { toRead: number; read: number; tokens: number }> = {
    markdown: { toRead: 0, read: 0, tokens: 0 },
    code: { toRead: 0, read: 0, tokens: 0 },
  };

  private kind(path: string): Kind {
    return languageForPath(path)?.kind === 'markdown' ? 'markdown' : 'code';
  }

  /** A file that will be read (its size or mtime changed, or it is new). */
  plan(path: string, bytes: number): void {
    this.kinds[this.kind(path)].toRead += bytes;
  }

  /** A planned file was read: `tokens` were queued for encoding (0 when its content was unchanged). */
  read(path: string, bytes: number, tokens: number): void {
    const k = this.kinds[this.kind(path)];
    k.read += bytes;
    k.tokens += tokens;
  }

  /** A planned file was not indexed after all (binary, unreadable, gone): nothing more to expect from it. */
  skip(path: string, bytes: number): void {
    this.kinds[this.kind(path)].toRead -= bytes;
  }

  /** Tokens known so far (extracted files). */
  get queued(): number {
    return this.kinds.markdown.tokens + this.kinds.code.tokens;
  }

  /** Tokens known plus those expected from the bytes still to read. */
  total(): number {
    let t = 0;
    for (const kind of ['markdown', 'code'] as const) {
      const k = this.kinds[kind];
      const ratio = (k.tokens + PRIOR[kind] * PRIOR_BYTES) / (k.read + PRIOR_BYTES);
      t += k.tokens + Math.max(0, k.toRead - k.read) * ratio;
    }
    return Math.round(t);
  }
}
