// Source code → comment passages.
//
// A single linear lexer, configured per language by `CommentSyntax`, walks the file and
// records comments while skipping string literals (so `"http://x"` or `'#'` is not a
// comment), template literals with `${}` nesting, raw strings, heredocs, and JS/Ruby regex
// literals (decided from the previous significant token). Comments are then grouped and
// turned into passages.
//
// Choices:
// - Consecutive own-line line comments (`//`, `///`, `//!`, `#`) form one passage; a blank
//   line or a code line ends the run. A comment after code on the same line (trailing
//   comment) is its own small passage, subject to the same filters (so `// TODO` is dropped
//   but `x = 3  # retries before the server gives up` is kept).
// - Block comments `/* */`, doc blocks `/** */` (leading ` * ` stripped per line), Ruby
//   `=begin/=end`, Rust/Swift/Kotlin nested block comments, Python docstrings (the first
//   statement of a module, class or def: a string literal with optional r/u prefix).
// - Skipped: shebang lines, license headers (a comment before the first code token that
//   mentions copyright/license and permission/SPDX/licensed), pragma lines (eslint-…,
//   noqa, @ts-ignore, go:build, …), lines without a letter or digit (decorations), comments
//   with fewer than 3 words, and, for non-doc comments, commented-out code (more than half of
//   the lines look like code).
// - Context: the file's base name, plus the identifier declared on the code line right after
//   the comment (no blank line in between; decorators/attributes skipped), or on the code
//   before a trailing comment, or the def/class owning a docstring: `reply.js onSend`.
// - Segments: one per comment line, markers stripped, trimmed; never contain '\r'.

import type { Passage, TextSegment } from '../types';
import type { CommentSyntax } from './languages';
import { DEFAULT_MAX_CHARS, hasAlnum, isLineBreak, isWs, pieceRegion, pushTrimmed, segmentsHaveLetter, splitSegments } from './segments';
import { lastAtOrBefore, lineStarts } from '../text-lines';

export interface CommentOptions {
  maxChars?: number;
}

export interface RawComment {
  kind: 'line' | 'block' | 'docstring';
  /** `[start, end)`: the whole comment, markers included. */
  start: number;
  end: number;
  /** The text between the markers. */
  bodyStart: number;
  bodyEnd: number;
  /** '//', '///', '//!', '#', '/*', '/**', '/*!', '=begin', '"""'. */
  marker: string;
  /** No code before it on its line. */
  ownLine: boolean;
  /** Offset of the first code token after the comment, -1 if none. */
  nextCode: number;
  /** Docstrings: the def/class name, '' for a module docstring. */
  owner?: string;
}

export interface LexResult {
  comments: RawComment[];
  /** Offset of the first code token, -1 when the file has none. */
  firstCode: number;
  /** Start offset of every line. */
  lineStarts: number[];
}

const LF = 10, CR = 13, SP = 32, TAB = 9, BANG = 33, DQ = 34, HASH = 35, DOLLAR = 36, PERCENT = 37, SQ = 39,
  LPAREN = 40, RPAREN = 41, STAR = 42, SLASH = 47, LT = 60, EQ = 61, GT = 62, QUESTION = 63, AT = 64,
  LBRACKET = 91, BACKSLASH = 92, RBRACKET = 93, BT = 96, LBRACE = 123, PIPE = 124, RBRACE = 125, TILDE = 126, DASH = 45;

const MAX_DEPTH = 48;

const enum Sig {
  None,
  Ident,
  Keyword,
  Operand,
  Punct,
}

const REGEX_KEYWORDS = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield',
  'await', 'and', 'or', 'not', 'if', 'unless', 'while', 'until', 'when', 'elsif', 'then', 'puts', 'print',
]);

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === DOLLAR || (c >= 128 && !isWs(c));
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

interface QuoteOptions {
  escapes: boolean;
  multiline: boolean;
  interp?: CommentSyntax['interpolation'];
  /** Closing needs three quote characters. */
  triple?: boolean;
  /** A doubled quote is an escaped quote (C# verbatim, YAML single-quoted). */
  doubled?: boolean;
}

class Lexer {
  readonly comments: RawComment[] = [];
  readonly lineStarts: number[];
  firstCode = -1;
  private pos = 0;
  private readonly n: number;
  private lastCodeEnd = -1;
  private sig: Sig = Sig.None;
  private lastPunct = 0;
  private pending: RawComment[] = [];
  private stop = false;
  // Python logical lines.
  private parenDepth = 0;
  private logicalStart = -1;
  private logicalEnd = -1;
  private prevLogicalStart = -1;
  private prevLogicalEnd = -1;
  // Shell/Ruby heredocs waiting for the end of the current line.
  private heredocs: Array<{ id: string; indent: boolean }> = [];
  // YAML block scalar: indentation of the line that opened it, -1 when none.
  private yamlBlockIndent = -1;

  constructor(
    private readonly text: string,
    private readonly syn: CommentSyntax,
  ) {
    this.n = text.length;
    this.lineStarts = lineStarts(text);
  }

  run(): void {
    const t = this.text;
    // Shebang (not Rust's `#![attr]`).
    const s0 = t.charCodeAt(0) === 0xfeff ? 1 : 0;
    if (t.charCodeAt(s0) === HASH && t.charCodeAt(s0 + 1) === BANG && !(this.syn.rust && t.charCodeAt(s0 + 2) === LBRACKET)) {
      this.pos = this.eol(s0);
    }
    this.scan(-1, 0);
  }

  // -- helpers -----------------------------------------------------------------------

  private eol(p: number): number {
    const t = this.text;
    const n = this.n;
    while (p < n) {
      const c = t.charCodeAt(p);
      if (c === LF || c === CR) break;
      p++;
    }
    return p;
  }

  private afterBreak(p: number): number {
    const t = this.text;
    if (t.charCodeAt(p) === CR && t.charCodeAt(p + 1) === LF) return p + 2;
    return p < this.n ? p + 1 : p;
  }

  private lineStartOf(p: number): number {
    return this.lineStarts[lastAtOrBefore(this.lineStarts, p)];
  }

  private onlyWsBefore(p: number): boolean {
    const t = this.text;
    let i = p - 1;
    while (i >= 0 && (t.charCodeAt(i) === SP || t.charCodeAt(i) === TAB)) i--;
    return i < 0 || isLineBreak(t.charCodeAt(i)) || t.charCodeAt(i) === 0xfeff;
  }

  private begin(p: number): void {
    if (this.firstCode < 0) this.firstCode = p;
    if (this.pending.length) {
      for (const c of this.pending) c.nextCode = p;
      this.pending.length = 0;
    }
    if (this.logicalStart < 0) this.logicalStart = p;
    this.lastCodeEnd = p + 1;
    this.logicalEnd = p + 1;
  }

  private end(e: number, sig: Sig): void {
    this.lastCodeEnd = e;
    this.logicalEnd = e;
    this.sig = sig;
    this.pos = e;
  }

  private token(p: number, e: number, sig: Sig): void {
    this.begin(p);
    this.end(e, sig);
  }

  private addComment(kind: RawComment['kind'], start: number, end: number, bodyStart: number, bodyEnd: number, marker: string, owner?: string): void {
    const c: RawComment = {
      kind,
      start,
      end,
      bodyStart,
      bodyEnd: Math.max(bodyStart, bodyEnd),
      marker,
      ownLine: kind === 'docstring' || this.lastCodeEnd <= this.lineStartOf(start),
      nextCode: -1,
    };
    if (owner !== undefined) c.owner = owner;
    this.comments.push(c);
    if (kind !== 'docstring') this.pending.push(c);
  }

  private operandPosition(): boolean {
    const s = this.sig;
    if (s === Sig.None || s === Sig.Keyword) return true;
    if (s === Sig.Punct) return this.lastPunct !== RPAREN && this.lastPunct !== RBRACKET;
    return false;
  }

  // -- main loop ---------------------------------------------------------------------

  /** Scans code; with `closer` ≥ 0, returns after the unbalanced closer (interpolation end). */
  private scan(closer: number, depth: number): void {
    const t = this.text;
    const n = this.n;
    const opener = closer === RBRACE ? LBRACE : closer === RPAREN ? LPAREN : -1;
    let nest = 0;
    while (this.pos < n && !this.stop) {
      const p = this.pos;
      const c = t.charCodeAt(p);
      if (c === LF || c === CR) {
        this.newline(p, closer < 0);
        continue;
      }
      if (c === SP || c === TAB || c === 11 || c === 12 || c === 0xfeff || c === 0xa0) {
        this.pos = p + 1;
        continue;
      }
      if (closer >= 0) {
        if (c === closer) {
          if (nest === 0) {
            this.pos = p + 1;
            return;
          }
          nest--;
        } else if (c === opener) nest++;
      }
      if (this.comment(p, c)) continue;
      if (this.string(p, c, depth)) continue;
      if (this.special(p, c)) continue;
      if (isIdentStart(c)) {
        this.word(p, depth);
        continue;
      }
      if (isDigit(c)) {
        this.number(p);
        continue;
      }
      this.punct(p, c);
    }
  }

  private newline(p: number, top: boolean): void {
    const t = this.text;
    this.pos = this.afterBreak(p);
    if (this.syn.python && this.parenDepth <= 0 && !(p > 0 && t.charCodeAt(p - 1) === BACKSLASH)) {
      if (this.logicalStart >= 0) {
        this.prevLogicalStart = this.logicalStart;
        this.prevLogicalEnd = this.logicalEnd;
        this.logicalStart = -1;
      }
    }
    if (!top) return;
    if (this.heredocs.length) this.skipHeredocs();
    if (this.yamlBlockIndent >= 0) this.skipBlockScalar();
  }

  private punct(p: number, c: number): void {
    if (this.syn.python) {
      if (c === LPAREN || c === LBRACKET || c === LBRACE) this.parenDepth++;
      else if (c === RPAREN || c === RBRACKET || c === RBRACE) this.parenDepth = Math.max(0, this.parenDepth - 1);
    }
    this.token(p, p + 1, Sig.Punct);
    this.lastPunct = c;
  }

  private number(p: number): void {
    const t = this.text;
    let i = p + 1;
    while (i < this.n) {
      const c = t.charCodeAt(i);
      if (isIdentPart(c) || c === 46) i++;
      else if (c === SQ && this.syn.cpp && isIdentPart(t.charCodeAt(i + 1))) i += 2; // 1'000'000
      else break;
    }
    this.token(p, i, Sig.Operand);
  }

  private word(p: number, depth: number): void {
    const t = this.text;
    const syn = this.syn;
    let i = p + 1;
    while (i < this.n && isIdentPart(t.charCodeAt(i))) i++;
    const len = i - p;
    const next = t.charCodeAt(i);
    const w = len <= 12 ? t.slice(p, i) : '';
    if (syn.python && (next === DQ || next === SQ) && len <= 2 && /^(?:[rRuUbBfF]|[rR][bBfF]|[bBfF][rR])$/.test(w)) {
      this.pyString(p, len, depth);
      return;
    }
    if (syn.rust && (w === 'r' || w === 'br' || w === 'cr') && (next === HASH || next === DQ)) {
      let j = i;
      while (t.charCodeAt(j) === HASH) j++;
      if (t.charCodeAt(j) === DQ) {
        const close = '"' + '#'.repeat(j - i);
        const k = t.indexOf(close, j + 1);
        this.token(p, k < 0 ? this.n : k + close.length, Sig.Operand);
        return;
      }
    }
    if (syn.cpp && next === DQ && (w === 'R' || w === 'u8R' || w === 'uR' || w === 'UR' || w === 'LR')) {
      const paren = t.indexOf('(', i + 1);
      if (paren > 0 && paren - i <= 17 && !/[\s\\)]/.test(t.slice(i + 1, paren))) {
        const close = ')' + t.slice(i + 1, paren) + '"';
        const k = t.indexOf(close, paren + 1);
        this.token(p, k < 0 ? this.n : k + close.length, Sig.Operand);
        return;
      }
    }
    if (syn.ruby && w === '__END__' && this.onlyWsBefore(p) && (i >= this.n || isLineBreak(next))) {
      this.stop = true;
      return;
    }
    if (syn.cssUrl && next === LPAREN && (w === 'url' || w === 'URL')) {
      let j = i + 1;
      while (j < this.n && t.charCodeAt(j) !== RPAREN && !isLineBreak(t.charCodeAt(j))) j++;
      this.token(p, t.charCodeAt(j) === RPAREN ? j + 1 : j, Sig.Operand);
      return;
    }
    this.token(p, i, w && REGEX_KEYWORDS.has(w) ? Sig.Keyword : Sig.Ident);
  }

  // -- comments ----------------------------------------------------------------------

  private comment(p: number, c: number): boolean {
    const t = this.text;
    const syn = this.syn;
    if (syn.ruby && c === EQ && t.startsWith('=begin', p) && (p === 0 || isLineBreak(t.charCodeAt(p - 1))) && (p + 6 >= this.n || isWs(t.charCodeAt(p + 6)))) {
      const bodyStart = this.afterBreak(this.eol(p));
      let l = bodyStart;
      while (l < this.n) {
        if (t.startsWith('=end', l) && (l + 4 >= this.n || isWs(t.charCodeAt(l + 4)))) {
          const e = this.eol(l);
          this.addComment('block', p, e, bodyStart, l, '=begin');
          this.pos = e;
          return true;
        }
        l = this.afterBreak(this.eol(l));
      }
      this.addComment('block', p, this.n, bodyStart, this.n, '=begin');
      this.pos = this.n;
      return true;
    }
    if (syn.block && c === syn.block[0].charCodeAt(0) && t.startsWith(syn.block[0], p)) {
      this.blockComment(p);
      return true;
    }
    for (const m of syn.line) {
      if (c !== m.charCodeAt(0) || !t.startsWith(m, p)) continue;
      if (c === HASH) {
        const b = syn.hashBoundary ?? 'any';
        if (b === 'line-start' && !this.onlyWsBefore(p)) return false;
        if (b === 'word' && p > 0) {
          const prev = t.charCodeAt(p - 1);
          const ok = isWs(prev) || (syn.shell && (prev === 59 || prev === PIPE || prev === 38 || prev === LPAREN || prev === RPAREN || prev === LT || prev === GT));
          if (!ok) return false;
        }
      }
      const e = this.eol(p);
      let marker = m;
      if (m === '//') {
        const c2 = t.charCodeAt(p + 2);
        if (c2 === SLASH && t.charCodeAt(p + 3) !== SLASH) marker = '///';
        else if (c2 === BANG) marker = '//!';
      }
      this.addComment('line', p, e, p + m.length, e, marker);
      this.pos = e;
      return true;
    }
    return false;
  }

  private blockComment(p: number): void {
    const t = this.text;
    const [open, close] = this.syn.block!;
    let i = p + open.length;
    let end = -1;
    if (!this.syn.nestedBlocks) {
      const k = t.indexOf(close, i);
      if (k >= 0) end = k + close.length;
    } else {
      let depth = 1;
      const o0 = open.charCodeAt(0);
      const c0 = close.charCodeAt(0);
      while (i < this.n) {
        const ch = t.charCodeAt(i);
        if (ch === c0 && t.startsWith(close, i)) {
          i += close.length;
          if (--depth === 0) {
            end = i;
            break;
          }
        } else if (ch === o0 && t.startsWith(open, i)) {
          depth++;
          i += open.length;
        } else i++;
      }
    }
    const terminated = end >= 0;
    if (!terminated) end = this.n;
    let marker = open;
    if (open === '/*') {
      const c2 = t.charCodeAt(p + 2);
      if (c2 === STAR && t.charCodeAt(p + 3) !== SLASH) marker = '/**';
      else if (c2 === BANG) marker = '/*!';
    }
    this.addComment('block', p, end, p + open.length, terminated ? end - close.length : end, marker);
    this.pos = end;
  }

  // -- strings -----------------------------------------------------------------------

  /** Scans a quoted literal starting at `p` whose opening is `openLen` characters long. Returns whether it was terminated. */
  private quoted(p: number, openLen: number, q: number, o: QuoteOptions, depth: number): boolean {
    const t = this.text;
    const n = this.n;
    this.begin(p);
    let i = p + openLen;
    let terminated = false;
    const interp = depth < MAX_DEPTH ? o.interp : undefined;
    while (i < n) {
      const ch = t.charCodeAt(i);
      if (ch === q) {
        if (o.triple) {
          if (t.charCodeAt(i + 1) === q && t.charCodeAt(i + 2) === q) {
            i += 3;
            // Python/Kotlin allow quotes right before the closing triple ("""a"""").
            while (t.charCodeAt(i) === q) i++;
            terminated = true;
            break;
          }
          i++;
          continue;
        }
        if (o.doubled && t.charCodeAt(i + 1) === q) {
          i += 2;
          continue;
        }
        i++;
        terminated = true;
        break;
      }
      if (interp) {
        const c1 = t.charCodeAt(i + 1);
        let inner = -1;
        let skip = 0;
        if (interp === '${' && ch === DOLLAR && c1 === LBRACE) (inner = RBRACE), (skip = 2);
        else if (interp === '#{' && ch === HASH && c1 === LBRACE) (inner = RBRACE), (skip = 2);
        else if (interp === '\\(' && ch === BACKSLASH && c1 === LPAREN) (inner = RPAREN), (skip = 2);
        else if (interp === '{' && ch === LBRACE) {
          if (c1 === LBRACE) {
            i += 2;
            continue;
          }
          (inner = RBRACE), (skip = 1);
        }
        if (inner >= 0) {
          this.pos = i + skip;
          this.scan(inner, depth + 1);
          i = this.pos;
          continue;
        }
      }
      if (ch === BACKSLASH && o.escapes) {
        i += t.charCodeAt(i + 1) === CR && t.charCodeAt(i + 2) === LF ? 3 : 2;
        continue;
      }
      if ((ch === LF || ch === CR) && !o.multiline) break;
      i++;
    }
    this.end(Math.min(i, n), Sig.Operand);
    return terminated;
  }

  private pyString(p: number, prefixLen: number, depth: number): void {
    const t = this.text;
    const prefix = t.slice(p, p + prefixLen).toLowerCase();
    const qp = p + prefixLen;
    const q = t.charCodeAt(qp);
    const triple = t.charCodeAt(qp + 1) === q && t.charCodeAt(qp + 2) === q;
    const qlen = triple ? 3 : 1;
    const stmtStart = this.logicalStart < 0 && this.parenDepth === 0;
    const headerStart = this.prevLogicalStart;
    const headerEnd = this.prevLogicalEnd;
    const terminated = this.quoted(p, prefixLen + qlen, q, { escapes: true, multiline: triple, triple, interp: prefix.includes('f') ? '{' : undefined }, depth);
    const end = this.pos;
    if (!stmtStart || !terminated || /[bf]/.test(prefix)) return;
    // The string must be the whole statement.
    let j = end;
    while (j < this.n && (t.charCodeAt(j) === SP || t.charCodeAt(j) === TAB)) j++;
    if (j < this.n && !isLineBreak(t.charCodeAt(j)) && t.charCodeAt(j) !== HASH && t.charCodeAt(j) !== 59) return;
    let owner: string | undefined;
    if (this.firstCode === p) owner = '';
    else if (headerStart >= 0 && headerEnd - headerStart < 4000) {
      const m = /^(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)[\s\S]*:$/.exec(t.slice(headerStart, headerEnd));
      if (m) owner = m[1];
    }
    if (owner === undefined) return;
    this.addComment('docstring', p, end, qp + qlen, end - qlen, triple ? (q === DQ ? '"""' : "'''") : String.fromCharCode(q), owner);
  }

  private yamlScalarStart(p: number): boolean {
    const t = this.text;
    let i = p - 1;
    while (i >= 0 && (t.charCodeAt(i) === SP || t.charCodeAt(i) === TAB)) i--;
    if (i < 0 || isLineBreak(t.charCodeAt(i))) return true;
    const ch = t.charCodeAt(i);
    if (ch === LBRACKET || ch === LBRACE || ch === 44) return true;
    if (i === p - 1) return false; // directly after a non-indicator character: part of a plain scalar
    return ch === 58 /* : */ || ch === DASH || ch === QUESTION;
  }

  private string(p: number, c: number, depth: number): boolean {
    const t = this.text;
    const syn = this.syn;
    if (c === DQ && syn.double) {
      if (syn.python) {
        this.pyString(p, 0, depth);
        return true;
      }
      if (syn.yaml && !this.yamlScalarStart(p)) return false;
      if (syn.csharp && t.startsWith('"""', p)) {
        this.csharpRaw(p, 0);
        return true;
      }
      if (syn.triple && t.startsWith('"""', p)) {
        this.quoted(p, 3, DQ, { escapes: !syn.rawTriple, multiline: true, triple: true, interp: syn.interpolation }, depth);
        return true;
      }
      this.quoted(p, 1, DQ, { escapes: true, multiline: !!syn.multilineStrings, interp: syn.interpolation }, depth);
      return true;
    }
    if (c === SQ) {
      switch (syn.single) {
        case 'string':
          if (syn.python) {
            this.pyString(p, 0, depth);
            return true;
          }
          if (syn.triple === 'both' && t.startsWith("'''", p)) {
            this.quoted(p, 3, SQ, { escapes: !syn.literalSingle, multiline: true, triple: true }, depth);
            return true;
          }
          this.quoted(p, 1, SQ, { escapes: !syn.literalSingle, multiline: !!syn.multilineStrings }, depth);
          return true;
        case 'char':
          this.quoted(p, 1, SQ, { escapes: true, multiline: false }, depth);
          return true;
        case 'rust':
          return this.rustQuote(p);
        case 'yaml':
          if (!this.yamlScalarStart(p)) return false;
          this.quoted(p, 1, SQ, { escapes: false, multiline: true, doubled: true }, depth);
          return true;
        default:
          return false;
      }
    }
    if (c === BT) {
      switch (syn.backtick) {
        case 'template':
          this.quoted(p, 1, BT, { escapes: true, multiline: true, interp: '${' }, depth);
          return true;
        case 'raw':
          this.quoted(p, 1, BT, { escapes: false, multiline: true }, depth);
          return true;
        case 'string':
          this.quoted(p, 1, BT, { escapes: true, multiline: true, interp: syn.interpolation }, depth);
          return true;
        default:
          return false;
      }
    }
    if (syn.csharp && (c === AT || c === DOLLAR)) {
      let i = p;
      let verbatim = false;
      let interp = false;
      while (i < this.n && i - p < 8) {
        const ch = t.charCodeAt(i);
        if (ch === AT) verbatim = true;
        else if (ch === DOLLAR) interp = true;
        else break;
        i++;
      }
      if (t.charCodeAt(i) !== DQ) return false;
      if (t.startsWith('"""', i)) {
        this.csharpRaw(p, i - p);
        return true;
      }
      this.quoted(p, i - p + 1, DQ, { escapes: !verbatim, multiline: verbatim, doubled: verbatim, interp: interp ? '{' : undefined }, depth);
      return true;
    }
    if (syn.swift && c === HASH) {
      let i = p;
      while (t.charCodeAt(i) === HASH) i++;
      if (t.charCodeAt(i) !== DQ) return false;
      const hashes = '#'.repeat(i - p);
      const close = (t.startsWith('"""', i) ? '"""' : '"') + hashes;
      const k = t.indexOf(close, i + (close.length - hashes.length));
      this.token(p, k < 0 ? this.n : k + close.length, Sig.Operand);
      return true;
    }
    if (syn.shell && c === DOLLAR && t.charCodeAt(p + 1) === SQ) {
      this.quoted(p, 2, SQ, { escapes: true, multiline: true }, depth);
      return true;
    }
    return false;
  }

  /** C# 11 raw string: N ≥ 3 quotes … N quotes, no escapes. */
  private csharpRaw(p: number, prefixLen: number): void {
    const t = this.text;
    let i = p + prefixLen;
    const qs = i;
    while (t.charCodeAt(i) === DQ) i++;
    const close = '"'.repeat(i - qs);
    const k = t.indexOf(close, i);
    this.token(p, k < 0 ? this.n : k + close.length, Sig.Operand);
  }

  /** Rust `'`: char literal ('a', '\n', '\u{1F600}', '😀') or lifetime/label ('a, 'static). */
  private rustQuote(p: number): boolean {
    const t = this.text;
    const c1 = t.charCodeAt(p + 1);
    if (c1 === BACKSLASH) {
      let i = p + 3;
      while (i < this.n && i < p + 14 && t.charCodeAt(i) !== SQ && !isLineBreak(t.charCodeAt(i))) i++;
      this.token(p, t.charCodeAt(i) === SQ ? i + 1 : i, Sig.Operand);
      return true;
    }
    if (Number.isNaN(c1) || isLineBreak(c1)) return false;
    const len = c1 >= 0xd800 && c1 <= 0xdbff ? 2 : 1;
    if (t.charCodeAt(p + 1 + len) === SQ) {
      this.token(p, p + 2 + len, Sig.Operand);
      return true;
    }
    return false; // lifetime: `'` is punctuation, the name follows as an identifier
  }

  // -- language specials -------------------------------------------------------------

  private special(p: number, c: number): boolean {
    const t = this.text;
    const syn = this.syn;
    // `</` is a JSX closing tag, not a regex.
    if (c === SLASH && syn.regex && this.operandPosition() && !(this.sig === Sig.Punct && this.lastPunct === LT && this.lastCodeEnd === p)) {
      if (this.regex(p)) return true;
    }
    if (syn.ruby) {
      const c1 = t.charCodeAt(p + 1);
      if (c === DOLLAR && p + 1 < this.n && !isIdentPart(c1) && !isWs(c1)) {
        this.token(p, p + 2, Sig.Operand); // $' $" $~ globals
        return true;
      }
      if (c === QUESTION && this.operandPosition() && p + 1 < this.n && !isWs(c1)) {
        let e = c1 === BACKSLASH ? p + 3 : p + 1 + (c1 >= 0xd800 && c1 <= 0xdbff ? 2 : 1);
        if (!isIdentPart(t.charCodeAt(e)) || c1 === BACKSLASH) {
          e = Math.min(e, this.n);
          this.token(p, e, Sig.Operand);
          return true;
        }
      }
      if (c === PERCENT && this.operandPosition() && this.percentLiteral(p)) return true;
      if (c === LT && this.heredoc(p)) return true;
    }
    if (syn.shell) {
      if (c === BACKSLASH) {
        const e = t.charCodeAt(p + 1) === CR && t.charCodeAt(p + 2) === LF ? p + 3 : Math.min(p + 2, this.n);
        this.token(p, e, Sig.Operand);
        return true;
      }
      if (c === LT && this.heredoc(p)) return true;
    }
    if (syn.yaml && (c === PIPE || c === GT) && this.yamlScalarStart(p)) {
      const e = this.eol(p);
      if (/^[|>][-+0-9]*[ \t]*(?:#.*)?$/.test(t.slice(p, Math.min(e, p + 200)))) {
        const ls = this.lineStartOf(p);
        let k = ls;
        while (t.charCodeAt(k) === SP) k++;
        // `- |` items: the content is indented relative to the dash.
        this.yamlBlockIndent = k - ls;
      }
    }
    return false;
  }

  private regex(p: number): boolean {
    const t = this.text;
    let i = p + 1;
    let cls = false;
    while (i < this.n) {
      const ch = t.charCodeAt(i);
      if (isLineBreak(ch)) return false;
      if (ch === BACKSLASH) {
        i += 2;
        continue;
      }
      if (ch === LBRACKET) cls = true;
      else if (ch === RBRACKET) cls = false;
      else if (ch === SLASH && !cls) break;
      i++;
    }
    if (i >= this.n) return false;
    i++;
    while (i < this.n && isIdentPart(t.charCodeAt(i))) i++;
    this.token(p, i, Sig.Operand);
    return true;
  }

  /** Ruby %q(…), %w[…], %(…) and friends. */
  private percentLiteral(p: number): boolean {
    const t = this.text;
    let i = p + 1;
    if (/[qQwWiIrsx]/.test(t[i] ?? '')) i++;
    const d = t.charCodeAt(i);
    if (Number.isNaN(d) || isIdentPart(d) || isWs(d) || d === EQ) return false;
    const close = d === LPAREN ? RPAREN : d === LBRACKET ? RBRACKET : d === LBRACE ? RBRACE : d === LT ? GT : d;
    let depth = 1;
    i++;
    while (i < this.n) {
      const ch = t.charCodeAt(i);
      if (ch === BACKSLASH) {
        i += 2;
        continue;
      }
      if (ch === close) {
        if (--depth === 0) {
          i++;
          break;
        }
      } else if (ch === d && close !== d) depth++;
      i++;
    }
    this.token(p, Math.min(i, this.n), Sig.Operand);
    return true;
  }

  /** `<<EOF`, `<<-EOF`, `<<'EOF'` (shell) and `<<~EOS`, `<<-EOS`, `<<EOS` (Ruby). */
  private heredoc(p: number): boolean {
    const t = this.text;
    if (t.charCodeAt(p + 1) !== LT || t.charCodeAt(p + 2) === LT) return false;
    let i = p + 2;
    let indent = false;
    const c = t.charCodeAt(i);
    if (c === TILDE || c === DASH) {
      indent = true;
      i++;
    }
    if (this.syn.shell) while (t.charCodeAt(i) === SP || t.charCodeAt(i) === TAB) i++;
    let quote = 0;
    const qc = t.charCodeAt(i);
    if (qc === SQ || qc === DQ || qc === BT) {
      quote = qc;
      i++;
    }
    const idStart = i;
    while (i < this.n && (isIdentPart(t.charCodeAt(i)) || (quote && t.charCodeAt(i) !== quote && !isLineBreak(t.charCodeAt(i))))) i++;
    if (i === idStart) return false;
    const id = t.slice(idStart, i);
    if (quote) {
      if (t.charCodeAt(i) !== quote) return false;
      i++;
    }
    if (this.syn.ruby && !indent && !quote && !/^[A-Z_]/.test(id)) return false;
    this.heredocs.push({ id, indent });
    this.token(p, i, Sig.Operand);
    return true;
  }

  private skipHeredocs(): void {
    const t = this.text;
    for (const h of this.heredocs) {
      while (this.pos < this.n) {
        const e = this.eol(this.pos);
        let line = t.slice(this.pos, e);
        if (h.indent) line = line.trimStart();
        this.pos = this.afterBreak(e);
        if (line.trimEnd() === h.id) break;
      }
    }
    this.heredocs = [];
  }

  private skipBlockScalar(): void {
    const t = this.text;
    const base = this.yamlBlockIndent;
    this.yamlBlockIndent = -1;
    while (this.pos < this.n) {
      const e = this.eol(this.pos);
      let k = this.pos;
      while (k < e && t.charCodeAt(k) === SP) k++;
      if (k === e || k - this.pos > base) {
        if (e >= this.n) {
          this.pos = this.n;
          break;
        }
        this.pos = this.afterBreak(e);
        continue;
      }
      break;
    }
  }
}

/** Runs the comment lexer over `text` (exported for tests and tools). */
export function lexComments(text: string, syntax: CommentSyntax): LexResult {
  const lx = new Lexer(text, syntax);
  lx.run();
  return { comments: lx.comments, firstCode: lx.firstCode, lineStarts: lx.lineStarts };
}

// ---------------------------------------------------------------------------------------
// From raw comments to passages.

const PRAGMA =
  /^(?:eslint(?:-disable|-enable|\s)|eslint-env|istanbul\s+ignore|c8\s+ignore|v8\s+ignore|prettier-ignore|biome-ignore|@ts-(?:ignore|nocheck|check|expect-error)\s*$|tslint:|jshint|jscs:|global\s+\w|noqa|nosec|pylint:|pyright:|type:\s*ignore|mypy:|fmt:\s*(?:off|on|skip)|isort:|pragma:?\s|nolint|NOSONAR|clang-format\s+(?:on|off)|NOLINT|go:\w|\+build\s|-\*-|vim?:|ex:|webpackChunkName|@flow\b|@jsx\s|@refresh|#(?:region|endregion)\b|region\b|endregion\b|shellcheck\s|rubocop:|frozen_string_literal:|@formatter:|CHECKSTYLE|\$FlowFixMe|sourceMappingURL|<reference\s|<amd-(?:module|dependency)\s)/i;

const CONTROL = new Set([
  'if', 'else', 'elif', 'elsif', 'for', 'foreach', 'while', 'do', 'switch', 'case', 'default', 'return', 'catch', 'try',
  'finally', 'function', 'new', 'typeof', 'sizeof', 'await', 'yield', 'super', 'this', 'self', 'with', 'throw', 'throws',
  'delete', 'void', 'in', 'of', 'not', 'and', 'or', 'is', 'print', 'echo', 'assert', 'import', 'from', 'require',
  'include', 'using', 'package', 'then', 'fi', 'done', 'esac', 'unless', 'until', 'begin', 'end', 'raise', 'match',
  'when', 'loop', 'go', 'defer', 'select', 'static', 'const', 'let', 'var', 'val', 'public', 'private', 'protected',
  'export', 'async', 'fn', 'def', 'func', 'fun', 'class', 'pub', 'puts', 'local', 'break', 'continue', 'pass', 'lambda',
]);

const MODS =
  '(?:(?:export|default|declare|public|private|protected|internal|static|final|abstract|sealed|open|override|async|unsafe|' +
  'extern(?:\\s+"[^"]*")?|inline|virtual|pub(?:\\([^)]*\\))?|data|inner|companion|readonly|partial|fileprivate|mutating|' +
  'lateinit|suspend|operator|infix|tailrec|external|actual|expect|synchronized|native|transient|volatile|strictfp|local|' +
  'const(?=\\s+(?:fn|enum)\\b)|template\\s*<[^<>]*>)\\s+)*';
// Identifiers: Unicode letters/digits, `_` and `$`.
const ID_START = '[\\p{L}_$]';
const ID = ID_START + '[\\p{L}\\p{N}_$]*';
const QUAL = '(?:' + ID + '(?:<[^<>]*>)?(?:::|\\.))*';
const NAME = '(' + ID + '[?!]?)';
const DECL_RE = new RegExp(
  '^' + MODS + '(?:function\\s*\\*?|def|fn|func|fun|class|interface|trait|struct|enum(?:\\s+class)?|union|type|typealias|' +
    'module|namespace|object|protocol|extension|impl|mod|record|macro_rules!|let|const|var|val|alias)(?:\\s+|(?=<))' +
    '(?:mut\\s+)?(?:<[^<>]*>\\s*)?(?:\\([^()]*\\)\\s*)?' + QUAL + NAME,
  'u',
);
const DEFINE_RE = /^#\s*define\s+([A-Za-z_]\w*)/;
const ASSIGN_RE = new RegExp('^' + MODS + '(?:(?:my|our|readonly|export)\\s+)?' + QUAL + NAME + '\\s*(?::(?!:)\\s*[^=]{1,80}?)?\\s*=(?![=>~])', 'u');
// `String url = …`, `int count;`, `char *name;`, `std::string s = …` (type, then name).
const TYPED_RE = new RegExp('^' + MODS + '(' + ID + '(?:(?:::|\\.)' + ID + ')*)(?:<[^<>]*>)?(?:\\[\\])*[*&?]*\\s+[*&]*' + NAME.replace('[?!]?', '') + '\\s*(?:=(?![=>])|;|\\[|,)', 'u');
const PROP_RE = new RegExp('^' + MODS + '(?:-\\s+)?(' + ID_START + '[\\p{L}\\p{N}_$-]*)\\s*[?!]?\\s*:(?!:)', 'u');
const TABLE_RE = /^\[+\s*([^\]\s]+)\s*\]/;
const CSS_RULE_RE = /^([^{};]{1,120}?)\s*\{/;

function nameOk(name: string | undefined): string {
  if (!name) return '';
  return CONTROL.has(name) ? '' : name;
}

/** The identifier a code line declares, when obvious; '' otherwise. */
export function declaredName(line: string, language: string): string {
  const s = line.trim().slice(0, 300);
  if (!s) return '';
  if (language === 'css' || language === 'scss' || language === 'less') {
    const m = CSS_RULE_RE.exec(s);
    return m ? m[1].replace(/\s+/g, ' ').trim() : '';
  }
  if (language === 'toml') {
    const m = TABLE_RE.exec(s);
    if (m) return m[1];
  }
  let m = DECL_RE.exec(s);
  if (m) return m[1]; // declared with a keyword: `fn new` is a fine name
  m = DEFINE_RE.exec(s);
  if (m) return m[1];
  m = ASSIGN_RE.exec(s);
  if (m) return nameOk(m[1]);
  m = TYPED_RE.exec(s);
  if (m && !CONTROL.has(m[1])) return nameOk(m[2]);
  m = PROP_RE.exec(s);
  if (m) return nameOk(m[1]);
  // A function/method header or call: the identifier right before the first '('.
  const paren = s.indexOf('(');
  if (paren > 0) {
    const firstWord = /^[\p{L}_$][\p{L}\p{N}_$]*/u.exec(s);
    if (firstWord && CONTROL.has(firstWord[0]) && !/^(?:public|private|protected|static|export|async|pub|fn|def|func|fun|function)$/.test(firstWord[0])) return '';
    let before = s.slice(0, paren).trimEnd();
    if (before.endsWith('>')) before = before.replace(/<[^<>]*>$/, '').trimEnd();
    const nm = /([\p{L}_$][\p{L}\p{N}_$]*)$/u.exec(before);
    // Only modifiers/types/qualifiers may precede the name (not `a + foo(` or `x, foo(`).
    if (nm && !/[=+\-/%!|^~?,;(]/.test(before.slice(0, before.length - nm[1].length))) return nameOk(nm[1]);
  }
  return '';
}

function looksLikeCodeLine(l: string): boolean {
  const last = l.charCodeAt(l.length - 1);
  if (last === 59 /* ; */ || last === LBRACE || last === RBRACE) return true;
  const first = l.charCodeAt(0);
  if (first === RBRACE || first === RPAREN || first === RBRACKET) return true;
  return (
    /^(?:import\s+[\w{*]|from\s+[\w.]+\s+import\s|#include\s|package\s+[\w.]+$|using\s+[\w.]+;)/.test(l) ||
    /^(?:const|let|var|val)\s+[\w$]+\s*=/.test(l) ||
    /^(?:def|fn|func|function)\s+\w+\s*\(.*\)\s*[:{]?$/.test(l) ||
    /^[\w$.]+\s*\([^()]*\)\s*;?$/.test(l) ||
    /^[A-Za-z_$][\w$.[\]'"]*\s*[+\-*/|&]?=\s*[^=\s]/.test(l) ||
    /^(?:return|if|elif|else|for|while)\b.*[:;{)]$/.test(l)
  );
}

function countWords(segs: readonly TextSegment[], atLeast: number): number {
  let words = 0;
  for (const s of segs) {
    const t = s.text;
    let i = 0;
    while (i < t.length) {
      while (i < t.length && isWs(t.charCodeAt(i))) i++;
      const st = i;
      while (i < t.length && !isWs(t.charCodeAt(i))) i++;
      if (i > st && hasAlnum(t.slice(st, Math.min(i, st + 64)))) {
        if (++words >= atLeast) return words;
      }
    }
  }
  return words;
}

function isLicense(segs: readonly TextSegment[]): boolean {
  let s = '';
  for (const g of segs) {
    s += g.text + '\n';
    if (s.length > 8000) break;
  }
  return /copyright|licen[sc]e/i.test(s) && /permission|spdx|licensed/i.test(s);
}

/** Per-line segments of a comment body, markers stripped. */
function commentSegments(text: string, raw: RawComment, out: TextSegment[]): void {
  if (raw.kind === 'line') {
    let s = raw.bodyStart;
    const mc = raw.marker.charCodeAt(0);
    if (mc === SLASH) while (s < raw.bodyEnd && (text.charCodeAt(s) === SLASH || text.charCodeAt(s) === BANG)) s++;
    else if (mc === HASH) while (s < raw.bodyEnd && text.charCodeAt(s) === HASH) s++;
    pushTrimmed(text, s, raw.bodyEnd, out);
    return;
  }
  let s = raw.bodyStart;
  let e = raw.bodyEnd;
  if (raw.kind === 'block' && raw.marker !== '=begin') {
    while (s < e && (text.charCodeAt(s) === STAR || text.charCodeAt(s) === BANG)) s++; // /** /*! /*****
    while (e > s && text.charCodeAt(e - 1) === STAR) e--; // *****/
  }
  const stripStar = raw.kind === 'block' && raw.marker !== '=begin';
  let i = s;
  let first = true;
  while (i <= e) {
    let le = i;
    while (le < e && !isLineBreak(text.charCodeAt(le))) le++;
    let ls = i;
    while (ls < le && isWs(text.charCodeAt(ls))) ls++;
    if (stripStar && !first && text.charCodeAt(ls) === STAR) ls++;
    pushTrimmed(text, ls, le, out);
    first = false;
    if (le >= e) break;
    i = text.charCodeAt(le) === CR && text.charCodeAt(le + 1) === LF ? le + 2 : le + 1;
  }
}

function baseName(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return path.slice(slash + 1);
}

export function extractComments(path: string, text: string, language: string, syntax: CommentSyntax, options: CommentOptions = {}): Passage[] {
  const maxChars = options.maxChars ?? DEFAULT_MAX_CHARS;
  const { comments, firstCode, lineStarts } = lexComments(text, syntax);
  const base = baseName(path);
  const lineOf = (p: number): number => lastAtOrBefore(lineStarts, p);
  const lineEnd = (l: number): number => {
    let e = l + 1 < lineStarts.length ? lineStarts[l + 1] : text.length;
    while (e > lineStarts[l] && isLineBreak(text.charCodeAt(e - 1))) e--;
    return e;
  };
  const blankLine = (l: number): boolean => {
    for (let i = lineStarts[l], e = lineEnd(l); i < e; i++) if (!isWs(text.charCodeAt(i))) return false;
    return true;
  };

  const symbolFor = (group: RawComment[]): string => {
    const first = group[0];
    const last = group[group.length - 1];
    if (first.kind === 'docstring') return first.owner ?? '';
    if (!first.ownLine) return declaredName(text.slice(Math.max(lineStarts[lineOf(first.start)], first.start - 300), first.start), language);
    if (last.nextCode < 0) return '';
    const endLine = lineOf(Math.max(last.start, last.end - 1));
    let codeLine = lineOf(last.nextCode);
    if (codeLine - endLine > 6) return '';
    for (let l = endLine + 1; l < codeLine; l++) if (blankLine(l)) return '';
    for (let tries = 0; tries < 6 && codeLine < lineStarts.length; tries++) {
      const from = codeLine === endLine ? last.end : lineStarts[codeLine];
      const lineText = text.slice(from, Math.min(lineEnd(codeLine), from + 300)).trim();
      if (/^(?:@|#\[|\[[A-Z])/.test(lineText) && !/^@(?:interface)\b/.test(lineText)) {
        codeLine++;
        if (codeLine >= lineStarts.length || blankLine(codeLine)) return '';
        continue;
      }
      return declaredName(lineText, language);
    }
    return '';
  };

  const out: Passage[] = [];
  const emit = (group: RawComment[]): void => {
    const first = group[0];
    const last = group[group.length - 1];
    const all: TextSegment[] = [];
    for (const r of group) commentSegments(text, r, all);
    if (!all.length) return;
    const isDoc = first.kind === 'docstring' || first.marker === '/**' || first.marker === '/*!' || first.marker === '///' || first.marker === '//!' || first.marker === '=begin';
    if (!isDoc) {
      let code = 0;
      for (const s of all) if (looksLikeCodeLine(s.text)) code++;
      if (code * 2 > all.length) return;
    }
    const segs = all.filter((s) => hasAlnum(s.text) && !PRAGMA.test(s.text));
    if (!segs.length || countWords(segs, 3) < 3) return;
    if ((firstCode < 0 || first.start <= firstCode) && isLicense(segs)) return; // `<=`: a license module docstring
    const symbol = symbolFor(group);
    const context = symbol ? `${base} ${symbol}` : base;
    const pieces = splitSegments(text, segs, maxChars);
    pieces.forEach((piece, i) => {
      if (!segmentsHaveLetter(piece)) return;
      const [start, end] = pieceRegion(piece, i, pieces.length, first.start, last.end);
      out.push({ path, start, end, kind: 'comment', language, context, segments: piece });
    });
  };

  let k = 0;
  while (k < comments.length) {
    const group = [comments[k++]];
    if (group[0].kind === 'line' && group[0].ownLine) {
      while (k < comments.length) {
        const nx = comments[k];
        const prev = group[group.length - 1];
        if (nx.kind !== 'line' || !nx.ownLine || lineOf(nx.start) !== lineOf(prev.start) + 1) break;
        group.push(nx);
        k++;
      }
    }
    emit(group);
  }
  return out;
}
