// Builds the training passages with the product's own extractor (src/core/extract), so that
// training sees passages cut exactly as the indexer cuts them at run time.
//
// usage: tsx training/corpus/build_passages.ts OUT.jsonl MANIFEST.json
// Sources (each capped so that no single one dominates): npm package tarballs unpacked by
// fetch_npm.sh, Debian's Python docs (reST, read as Markdown-like text), the Python, Go, Rust
// (librust-*-dev) and Ruby sources that Debian ships. Benchmark corpora are excluded by path.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { extractPassages } from '../../src/core/extract/index';
import { passageText } from '../../src/core/extract/passage-text';

const [outPath, manifestPath] = process.argv.slice(2);
const WORK = process.env.WORK ?? path.join(__dirname, '..', 'work');

interface Source { name: string; root: string; cap: number; asMarkdown?: RegExp; skip?: RegExp }
const EXCLUDE = /(^|\/)(fastify|got|ripgrep|grep[-_a-z0-9.]*|ignore-[0-9][^/]*|globset[^/]*|avvio|light-my-request|find-my-way|fast-json-stringify)(\/|$)|\/(test|tests|testdata|__tests__|fixtures|vendor)\/|_test\.go$|\.min\.js$|(^|\/)(LICEN[CS]E|CHANGELOG|HISTORY|CHANGES)[^/]*$/i;
const SOURCES: Source[] = [
  { name: 'npm', root: path.join(WORK, 'npm', 'pkgs'), cap: 200_000 },
  { name: 'python-docs', root: '/usr/share/doc/python3.11/html/_sources', cap: 40_000, asMarkdown: /\.rst\.txt$/ },
  { name: 'python-stdlib', root: '/usr/lib/python3.11', cap: 40_000, skip: /\/(site-packages|dist-packages|idlelib|lib2to3|turtledemo|pydoc_data)\// },
  { name: 'go-stdlib', root: '/usr/share/go-1.19/src', cap: 40_000, skip: /\/(cmd|internal)\// },
  { name: 'rust-crates', root: '/usr/share/cargo/registry', cap: 40_000 },
  { name: 'ruby-stdlib', root: '/usr/lib/ruby/3.1.0', cap: 15_000 },
];

function* walk(dir: string): Generator<string> {
  let entries: fs.Dirent[];
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return; }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

const LICENSE = /permission is hereby granted|licensed under the|copyright \(c\)|all rights reserved|spdx-license/i;
const out = fs.createWriteStream(outPath);
/** No package may dominate (aws-sdk alone has ~90k generated doc comments). */
const PER_PACKAGE_CAP = 2_500;
const perPackage = new Map<string, number>();
const seen = new Set<string>();
const manifest: Record<string, { files: number; passages: number; chars: number }> = {};
for (const src of SOURCES) {
  const stats = { files: 0, passages: 0, chars: 0 };
  manifest[src.name] = stats;
  if (!fs.existsSync(src.root)) { console.error(`missing source ${src.root}`); continue; }
  for (const abs of walk(src.root)) {
    if (stats.passages >= src.cap) break;
    const rel = path.relative(src.root, abs).split(path.sep).join('/');
    if (EXCLUDE.test('/' + rel) || (src.skip && src.skip.test('/' + rel))) continue;
    let st: fs.Stats;
    try { st = fs.statSync(abs); } catch { continue; }
    if (st.size > 1_000_000 || st.size < 40) continue;
    const asPath = src.asMarkdown && src.asMarkdown.test(rel) ? rel.replace(src.asMarkdown, '.md') : rel;
    let text: string;
    try { text = fs.readFileSync(abs, 'utf8'); } catch { continue; }
    if (text.includes('\u0000')) continue;
    let passages;
    try { passages = extractPassages(asPath, text, { maxChars: 700 }); } catch (e) { console.error(`extract failed ${abs}: ${e}`); continue; }
    if (passages.length === 0) continue;
    stats.files++;
    const pkg = src.name === 'npm' || src.name === 'rust-crates' ? rel.split('/')[0] : `${src.name}/${path.dirname(rel)}`;
    for (const p of passages) {
      if (src.name !== 'python-docs' && (perPackage.get(pkg) ?? 0) >= PER_PACKAGE_CAP) break;
      const body = passageText(p).text;
      if (LICENSE.test(body) || body.replace(/[^A-Za-z]/g, '').length < 40) continue;
      const h = crypto.createHash('sha1').update(body).digest('hex');
      if (seen.has(h)) continue;
      seen.add(h);
      // A Markdown passage's first segment is its own heading when it sits on a heading line.
      let heading = '';
      let rest = body;
      if (p.kind === 'markdown') {
        const s0 = p.segments[0];
        const lineStart = text.lastIndexOf('\n', s0.offset - 1) + 1;
        const lineEnd = text.indexOf('\n', s0.offset);
        const nextLine = lineEnd >= 0 ? text.slice(lineEnd + 1, text.indexOf('\n', lineEnd + 1) >>> 0) : '';
        if (/^#{1,6}\s/.test(text.slice(lineStart, s0.offset + 1)) || /^\s*(=+|-+|~+|\^+|\*+)\s*$/.test(nextLine)) {
          heading = s0.text;
          rest = p.segments.slice(1).map((s) => s.text).join('\n');
        }
      }
      if (rest.replace(/[^A-Za-z]/g, '').length < 40) continue;
      out.write(JSON.stringify({ src: `${src.name}:${pkg}`, file: `${src.name}/${rel}`, kind: p.kind, lang: p.language, context: p.context, heading, text: rest }) + '\n');
      stats.passages++;
      perPackage.set(pkg, (perPackage.get(pkg) ?? 0) + 1);
      stats.chars += rest.length;
    }
  }
  console.error(`${src.name}: ${JSON.stringify(stats)}`);
}
out.end(() => {
  fs.writeFileSync(manifestPath, JSON.stringify({ sources: manifest, excluded: EXCLUDE.source }, null, 1));
});
