// BM25 set-up after an index open: built from the units' texts (analysing every one) versus from
// the term lists their segments store. Takes a saved index folder, and reads a copy of it, so that
// the folder itself is not touched.
// `--repeat N` also times both on the index's units repeated N times: a synthetic stand-in for an
// index N times larger (same texts and segments, so the work per unit is the real one).
//   node --expose-gc --import tsx scripts/bm25-setup-bench.ts <indexDir> [--repeat 10] [--queries file.jsonl]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadIndex } from '../src/core/index/index-file';
import { storedTerms } from '../src/core/index/stored-unit';
import { Bm25Index } from '../src/core/search/bm25';
import type { IndexedUnit, WorkspaceIndex } from '../src/core/index/workspace-index';

const args = process.argv.slice(2);
const dir = args[0];
const opt = (name: string): string | undefined => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const repeat = Number(opt('--repeat') ?? 10);
const queriesFile = opt('--queries');
const queries = queriesFile
  ? fs.readFileSync(queriesFile, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { query: string }).query)
  : ['how does the server stop', 'route options schema validation', 'plugin encapsulation hooks'];
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function open(d: string): { index: WorkspaceIndex } {
  const m = JSON.parse(fs.readFileSync(path.join(d, 'index.json'), 'utf8'));
  const r = loadIndex(d, { root: m.root, model: m.model, dim: m.dim });
  if (!('index' in r)) throw new Error(r.reason);
  return r;
}

function time(what: string, units: readonly IndexedUnit[], stored: boolean): Bm25Index {
  gc();
  const rss0 = process.memoryUsage().rss;
  const t = process.hrtime.bigint();
  const b = stored ? new Bm25Index(units, storedTerms(units)) : new Bm25Index(units);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  const peak = process.memoryUsage().rss;
  gc();
  console.log(`${what}: ${units.length} units, ${ms.toFixed(0)} ms (RSS +${((peak - rss0) / 2 ** 20).toFixed(0)} MB right after, +${((process.memoryUsage().rss - rss0) / 2 ** 20).toFixed(0)} MB after gc)`);
  return b;
}

const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'bm25-setup-'));
try {
  fs.cpSync(dir, copy, { recursive: true });
  const { index } = open(copy);
  const units = index.units;
  // Texts first then stored, twice: the second round has the files in the page cache for both.
  for (let round = 1; round <= 2; round++) {
    const a = time(`round ${round}, from texts`, units, false);
    const b = time(`round ${round}, from stored terms`, units, true);
    const same = queries.every((q) => JSON.stringify(a.search(q, 100)) === JSON.stringify(b.search(q, 100)));
    console.log(`  same top-100 and scores on all ${queries.length} questions: ${same}`);
  }
  if (repeat > 1) {
    const many = Array.from({ length: repeat }, () => units).flat();
    const a = time(`units ×${repeat}, from texts`, many, false);
    const b = time(`units ×${repeat}, from stored terms`, many, true);
    const same = queries.every((q) => JSON.stringify(a.search(q, 100)) === JSON.stringify(b.search(q, 100)));
    console.log(`  same top-100 and scores on all ${queries.length} questions: ${same}`);
  }
  const bytes = (ext: RegExp): number => fs.readdirSync(copy).filter((f) => ext.test(f)).reduce((n, f) => n + fs.statSync(path.join(copy, f)).size, 0);
  console.log(`segments on disk: ${(bytes(/^seg-/) / 2 ** 20).toFixed(1)} MB`);
} finally {
  fs.rmSync(copy, { recursive: true, force: true });
}
