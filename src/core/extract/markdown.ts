// Markdown → passages: one passage per section (ATX `#` or setext `===`/`---` heading and
// the content up to the next heading), long sections split into pieces.
//
// Choices:
// - YAML (`---`) and TOML (`+++`) front matter at the very top is skipped.
// - HTML comments `<!-- -->` stay in the text (they are rare and usually prose).
// - Fenced code blocks (``` or ~~~, any indentation so fences inside list items count) stay in
//   their section; headings inside them are not headings. A blank line inside a fence is not
//   a paragraph boundary when splitting.
// - A heading with no content under it gives no passage (its text still appears in the
//   contexts of its sub-sections). Sections whose body has no letter are skipped.
// - Segments are verbatim: the heading text (markers and closing `#`s stripped) and then one
//   segment per paragraph; lines ending in CR/CRLF are separate segments (no '\r' inside).

import type { Passage, TextSegment } from '../types';
import {
  DEFAULT_MAX_CHARS,
  collapseWs,
  isLineBreak,
  paragraphSegments,
  pieceRegion,
  segmentsHaveLetter,
  splitSegments,
  trimRange,
} from './segments';

export interface MarkdownOptions {
  maxChars?: number;
}

interface Section {
  level: number;
  /** Start of the heading (line start), or -1 for the preamble before the first heading. */
  headingStart: number;
  headingSegs: TextSegment[];
  contentStart: number;
  contentEnd: number;
}

/** Base name without directory and last extension: 'docs/Reference/Hooks.md' → 'Hooks'. */
export function fileStem(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

const ATX = /^ {0,3}(#{1,6})(?=[ \t]|$)/;
const FENCE = /^[ \t]*(`{3,}|~{3,})(.*)$/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
// Paragraph first lines that cannot be the text of a setext heading (lists, quotes, tables, HTML, code).
const NOT_SETEXT_TEXT = /^(?: {0,3}(?:[-*+](?:[ \t]|$)|\d{1,9}[.)](?:[ \t]|$)|>|\||<)| {4}|\t)/;
const THEMATIC_BREAK = /^ {0,3}([-*_])[ \t]*(?:\1[ \t]*){2,}$/;

export function extractMarkdown(path: string, text: string, options: MarkdownOptions = {}): Passage[] {
  const maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
  const stem = fileStem(path);

  // Line table.
  const ls: number[] = [];
  const le: number[] = [];
  {
    let i = 0;
    const n = text.length;
    while (i <= n) {
      let e = i;
      while (e < n && !isLineBreak(text.charCodeAt(e))) e++;
      ls.push(i);
      le.push(e);
      if (e >= n) break;
      i = e + (text.charCodeAt(e) === 13 && text.charCodeAt(e + 1) === 10 ? 2 : 1);
    }
  }
  const lineCount = ls.length;
  const line = (k: number): string => text.slice(ls[k], le[k]);

  // Front matter.
  let first = 0;
  {
    const l0 = line(0).replace(/^\ufeff/, '').trimEnd();
    if (l0 === '---' || l0 === '+++') {
      for (let k = 1; k < lineCount; k++) {
        const t = line(k).trimEnd();
        if (t === l0 || (l0 === '---' && t === '...')) {
          first = k + 1;
          break;
        }
      }
    }
  }
  if (first >= lineCount) return [];

  const sections: Section[] = [];
  const fences: Array<[number, number]> = [];
  let cur: Section = { level: 0, headingStart: -1, headingSegs: [], contentStart: ls[first], contentEnd: text.length };
  const open = (sec: Section, closeAt: number): void => {
    cur.contentEnd = closeAt;
    sections.push(cur);
    cur = sec;
  };

  let fence: { ch: string; len: number; start: number } | null = null;
  let paraStart = -1; // first line of the current paragraph, -1 when none
  let paraOk = false; // whether that paragraph may become a setext heading

  for (let k = first; k < lineCount; k++) {
    const l = line(k);
    if (fence) {
      const m = FENCE.exec(l);
      if (m && m[1][0] === fence.ch && m[1].length >= fence.len && m[2].trim() === '') {
        fences.push([fence.start, le[k]]);
        fence = null;
      }
      continue;
    }
    const fm = FENCE.exec(l);
    if (fm && !(fm[1][0] === '`' && fm[2].includes('`'))) {
      fence = { ch: fm[1][0], len: fm[1].length, start: ls[k] };
      paraStart = -1;
      continue;
    }
    const [ts, te] = trimRange(text, ls[k], le[k]);
    if (te === ts) {
      paraStart = -1;
      continue;
    }
    const am = ATX.exec(l);
    if (am) {
      const headingSegs: TextSegment[] = [];
      let [hs, he] = trimRange(text, ls[k] + am[0].length, le[k]);
      // Optional closing sequence: spaces then #s (or a heading that is only #s).
      let j = he;
      while (j > hs && text.charCodeAt(j - 1) === 35) j--;
      if (j === hs) he = hs;
      else if (j < he && (text.charCodeAt(j - 1) === 32 || text.charCodeAt(j - 1) === 9)) [hs, he] = trimRange(text, hs, j);
      if (he > hs) headingSegs.push({ text: text.slice(hs, he), offset: hs });
      const contentStart = k + 1 < lineCount ? ls[k + 1] : le[k];
      open({ level: am[1].length, headingStart: ls[k], headingSegs, contentStart, contentEnd: text.length }, ls[k]);
      paraStart = -1;
      continue;
    }
    const sm = paraStart >= 0 && paraOk ? SETEXT.exec(l) : null;
    if (sm) {
      const headingSegs: TextSegment[] = [];
      paragraphSegments(text, ls[paraStart], le[k - 1], headingSegs);
      const contentStart = k + 1 < lineCount ? ls[k + 1] : le[k];
      open(
        { level: sm[1][0] === '=' ? 1 : 2, headingStart: ls[paraStart], headingSegs, contentStart, contentEnd: text.length },
        ls[paraStart],
      );
      paraStart = -1;
      continue;
    }
    if (paraStart < 0) {
      paraStart = k;
      paraOk = !NOT_SETEXT_TEXT.test(l) && !SETEXT.test(l) && !THEMATIC_BREAK.test(l);
    }
  }
  if (fence) fences.push([fence.start, text.length]);
  cur.contentEnd = text.length;
  sections.push(cur);

  // Passages.
  const out: Passage[] = [];
  const stack: Array<{ level: number; text: string }> = [];
  for (const sec of sections) {
    const headingText = collapseWs(sec.headingSegs.map((s) => s.text).join(' '));
    if (sec.level > 0) while (stack.length && stack[stack.length - 1].level >= sec.level) stack.pop();
    const context = [stem, ...stack.map((h) => h.text)].join(' > ');
    if (sec.level > 0 && headingText) stack.push({ level: sec.level, text: headingText });

    const contentSegs: TextSegment[] = [];
    paragraphSegments(text, sec.contentStart, sec.contentEnd, contentSegs);
    if (!contentSegs.length) continue;
    const segs = sec.headingSegs.concat(contentSegs);
    if (!segmentsHaveLetter(segs)) continue;

    const [cs, ce] = trimRange(text, sec.contentStart, sec.contentEnd);
    const regionStart = sec.headingStart >= 0 ? sec.headingStart : cs;
    const pieces = splitSegments(text, segs, maxChars, { noBreak: fences });
    pieces.forEach((piece, i) => {
      if (!segmentsHaveLetter(piece)) return;
      const [start, end] = pieceRegion(piece, i, pieces.length, regionStart, ce);
      out.push({
        path,
        start,
        end,
        kind: 'markdown',
        language: 'markdown',
        context: i > 0 && headingText ? `${context} > ${headingText}` : context,
        segments: piece,
      });
    });
  }
  return out;
}
