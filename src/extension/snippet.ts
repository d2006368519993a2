// The one-line preview of a result: a window of the passage around its first evidence words,
// whitespace collapsed and comment markers dropped, with the evidence ranges mapped into it
// (for TreeItemLabel highlights). Pure.

export interface Snippet {
  text: string;
  /** [start, end) ranges of `text` that are evidence words. */
  highlights: Array<[number, number]>;
}

export interface SnippetOptions {
  /** Characters of passage text at most (an ellipsis may be added at either end). Default 160. */
  maxLength?: number;
  /** Characters kept before the first evidence word when the line starts further back. Default 40. */
  lead?: number;
  /** 'comment': drop `//`, `#`, `*`, `--`, … at line starts; 'markdown': drop heading, quote and list markers. */
  kind?: 'comment' | 'markdown' | 'plain';
}

const COMMENT_LEADER = /^(?:\/\/[/!]?|\/\*+!?|\*\/|\*(?!\/)|#+!?|--+|;+|%+|"""|'''|<!--)[ \t]?/;
const MARKDOWN_LEADER = /^(?:#{1,6}(?=[ \t]|$)|>+|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t]))[ \t]?/;

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\f' || c === '\v' || c === '\u00a0' || c === '\ufeff';
}

export function buildSnippet(text: string, start: number, end: number, highlights: ReadonlyArray<readonly [number, number]>, options: SnippetOptions = {}): Snippet {
  const maxLength = options.maxLength ?? 160;
  const lead = options.lead ?? 40;
  const kind = options.kind ?? 'plain';
  start = Math.max(0, Math.min(start, text.length));
  end = Math.max(start, Math.min(end, text.length));
  const hs = highlights
    .map(([s, e]) => [Math.max(s, start), Math.min(e, end)] as [number, number])
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0]);
  const anchor = hs.length ? hs[0][0] : start;

  // Window start: the anchor's line, or a word boundary shortly before the anchor on a long line.
  let from = anchor;
  while (from > start && text[from - 1] !== '\n' && text[from - 1] !== '\r') from--;
  const lineStart = from;
  let cut = false;
  if (anchor - from > lead) {
    from = anchor - lead;
    let k = from;
    while (k < anchor && !isSpace(text[k])) k++;
    if (k < anchor) from = k + 1;
    cut = from > lineStart;
  }

  const out: string[] = [];
  const src: number[] = [];
  let atLineStart = !cut;
  let truncated = false;
  let i = from;
  while (i < end) {
    const c = text[i];
    if (c === '\n' || c === '\r') {
      atLineStart = true;
      i++;
      continue;
    }
    if (atLineStart) {
      while (i < end && isSpace(text[i])) i++;
      const rest = text.slice(i, Math.min(end, i + 12));
      const m = kind === 'comment' ? COMMENT_LEADER.exec(rest) : kind === 'markdown' ? MARKDOWN_LEADER.exec(rest) : null;
      if (m) i += m[0].length;
      atLineStart = false;
      if (out.length && out[out.length - 1] !== ' ') {
        out.push(' ');
        src.push(-1);
      }
      continue;
    }
    if (kind === 'comment' && c === '*' && text[i + 1] === '/') {
      i += 2;
      continue;
    }
    if (out.length >= maxLength) {
      truncated = true;
      break;
    }
    if (isSpace(c)) {
      if (out.length && out[out.length - 1] !== ' ') {
        out.push(' ');
        src.push(i);
      }
      i++;
      continue;
    }
    out.push(c);
    src.push(i);
    i++;
  }
  while (out.length && out[out.length - 1] === ' ') {
    out.pop();
    src.pop();
  }
  if (truncated && out.length && i < end && /\S/.test(text.slice(i, end))) {
    // drop a half-shown last word unless it is the only one
    const lastSpace = out.lastIndexOf(' ');
    if (lastSpace > 0 && !isSpace(text[i])) {
      out.length = lastSpace;
      src.length = lastSpace;
    }
    out.push('…');
    src.push(-1);
  }

  // Evidence marks per character; an inserted space between two marked characters is marked too.
  const marked = src.map((s) => s >= 0 && hs.some(([a, b]) => s >= a && s < b));
  for (let k = 1; k + 1 < out.length; k++) if (out[k] === ' ' && !marked[k] && marked[k - 1] && marked[k + 1]) marked[k] = true;
  const prefix = cut ? 1 : 0;
  const ranges: Array<[number, number]> = [];
  for (let k = 0; k < out.length; k++) {
    if (!marked[k]) continue;
    let e = k;
    while (e + 1 < out.length && marked[e + 1]) e++;
    ranges.push([k + prefix, e + 1 + prefix]);
    k = e;
  }
  return { text: (cut ? '…' : '') + out.join(''), highlights: ranges };
}
