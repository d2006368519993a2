// Synthetic workspaces for the speed bench (speed-bench.ts): N Markdown passages built from the
// prose paragraphs of a real corpus (by default the fastify docs of ../shared/bench/fastify),
// replicated with variation so that no two passages are equal and BM25 statistics stay
// realistic. Files hold SECTIONS_PER_FILE sections (## heading + one paragraph): one section is
// one passage for the Markdown extractor, so the passage count is N (give or take the rare
// paragraph longer than the encoder window, which becomes two units).
import fs from 'node:fs';
import path from 'node:path';

/** Bump when the generated text changes: cached workspaces and indexes are keyed by it. */
export const SPEED_CORPUS_VERSION = 1;
export const SECTIONS_PER_FILE = 10;
const FILES_PER_FOLDER = 100;

/** Prose paragraphs of the corpus's Markdown files: code fences, tables, HTML, headings left out. */
export function prose(corpusDir: string): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) walk(abs);
      else if (e.isFile() && /\.md$/i.test(e.name)) files.push(abs);
    }
  };
  walk(corpusDir);
  const out: string[] = [];
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8').replace(/\r\n?/g, '\n').replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '');
    for (const raw of text.split(/\n[ \t]*\n/)) {
      const p = raw.trim();
      if (p.split(/\s+/).length < 12 || p.length > 900) continue;
      if (/^(#|\||<|>|!\[|\[[^\]]*\]:|```|~~~|---|===)/.test(p)) continue;
      if (!/[a-z]{3,}.*[.:]/.test(p)) continue;
      out.push(p.replace(/\n{2,}/g, '\n'));
    }
  }
  if (out.length < 20) throw new Error(`only ${out.length} prose paragraphs under ${corpusDir}; the speed bench needs a Markdown corpus`);
  return out;
}

function firstSentence(p: string): string {
  const m = /^[\s\S]*?[.!?](?=\s|$)/.exec(p);
  return (m ? m[0] : p).replace(/\s+/g, ' ').trim();
}

/** A deterministic hash of an integer (no Math.random: the same N gives the same workspace). */
function mix(i: number): number {
  let x = (i + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** Passage i: paragraph i mod P verbatim the first time round; later copies get a sentence of another paragraph appended. */
export function passageText(paragraphs: readonly string[], i: number): { heading: string; body: string } {
  const P = paragraphs.length;
  const a = i % P;
  const round = Math.floor(i / P);
  const words = paragraphs[a].replace(/[^A-Za-z ]+/g, ' ').split(/\s+/).filter((w) => w.length > 3);
  const heading = `${words.slice(0, 3).join(' ') || 'Section'} ${i}`;
  if (round === 0) return { heading, body: paragraphs[a] };
  const b = mix(i) % P;
  return { heading, body: `${paragraphs[a]} ${firstSentence(paragraphs[b === a ? (b + 1) % P : b])}` };
}

export function relPathOfFile(f: number): string {
  return `docs/part-${String(Math.floor(f / FILES_PER_FOLDER)).padStart(4, '0')}/topic-${String(f).padStart(6, '0')}.md`;
}

/** The text of file f of a workspace of n passages. */
export function fileText(paragraphs: readonly string[], n: number, f: number): string {
  let s = `# Topic ${f}\n\n`;
  for (let k = 0; k < SECTIONS_PER_FILE; k++) {
    const i = f * SECTIONS_PER_FILE + k;
    if (i >= n) break;
    const p = passageText(paragraphs, i);
    s += `## ${p.heading}\n\n${p.body}\n\n`;
  }
  return s;
}

export function fileCount(n: number): number {
  return Math.ceil(n / SECTIONS_PER_FILE);
}

/** Writes the workspace of n passages into dir (which must be empty or absent). */
export function writeWorkspace(dir: string, paragraphs: readonly string[], n: number): { files: number; bytes: number } {
  let bytes = 0;
  const files = fileCount(n);
  for (let f = 0; f < files; f++) {
    const abs = path.join(dir, relPathOfFile(f));
    if (f % FILES_PER_FOLDER === 0) fs.mkdirSync(path.dirname(abs), { recursive: true });
    const t = fileText(paragraphs, n, f);
    fs.writeFileSync(abs, t);
    bytes += Buffer.byteLength(t);
  }
  return { files, bytes };
}
