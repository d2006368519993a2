// Each unit's token spans are stored, packed, with its text (span-code.ts), and each vector's
// word-start flag (Encoder.keptTokens) with the vectors. Where a unit has no stored spans,
// evidence recovers them from the words of its text (unit-spans.ts), or by tokenising the text
// again where the words and flags disagree. Evidence only widens tokens to words and tests them
// against sentences, so what must hold is: for every unit of an indexed workspace — the fixture
// workspace's Markdown and code comments, long passages split into windows, comment blocks
// whose text skips the comment markers (non-contiguous file offsets), text with characters the
// tokenizer drops inside words, long runs without spaces, symbols, emoji, CJK, accents — in
// memory, read back from a saved index and after compaction, the stored spans are the exact
// ones, and the words give every vector the word its exact token span widens to (or that exact
// span, for a token that is no word), hence the same evidence ranges and sentences; the words
// are used, not the tokeniser, except on a text the scan cannot follow; and a unit without
// stored spans whose text does not give back its token count gets no highlights, reported once.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultModelDir } from '../../src/core/engine';
import { buildIndex, unitsForPassage, type SourceFile } from '../../src/core/index/indexer';
import { extractPassages } from '../../src/core/extract/index';
import { Encoder, type DocEncoding, type TokenSpans } from '../../src/core/model/encoder';
import { jsMatMulT } from '../../src/core/gemm';
import { loadIndex, saveIndex } from '../../src/core/index/index-file';
import { StoredUnit } from '../../src/core/index/stored-unit';
import { compact } from '../../src/core/index/compaction';
import { WORD_START_BIT } from '../../src/core/index/compressed-store';
import { unitSpans, wordSpans } from '../../src/core/index/unit-spans';
import { PreTokenizerWordScanner } from '../../src/core/model/pre-tokenizer-words';
import { evidenceRanges, evidenceSentences, widenToWord, type EvidenceToken } from '../../src/core/search/evidence';
import { pickEvidence, scoreTokens, Searcher } from '../../src/core/search/searcher';
import { mulberry32 } from '../../src/core/bench/metrics';
import type { IndexedUnit, WorkspaceIndex } from '../../src/core/index/workspace-index';
import { tempDirFactory } from '../temp-dirs';

const tmpDir = tempDirFactory('es-unit-spans-');
const ROOT = '/virtual';
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'workspace');

const WORDS = ['server', 'drains', 'open', 'connections', 'before', 'it', 'stops', 'retries', 'uploads', 'three', 'times', 'with', 'exponential', 'backoff', 'unless', 'the', 'header', 'says', 'otherwise', 'internationalization', 'caches', 'responses'];
const sentence = (i: number): string => Array.from({ length: 9 }, (_, k) => WORDS[(i * 7 + k * 3) % WORDS.length]).join(' ') + '.';

/** Files with passages longer than a window, in Markdown and in comments of several languages. */
function longFiles(): SourceFile[] {
  const para = (n: number, from = 0): string => Array.from({ length: n }, (_, i) => sentence(from + i)).join(' ');
  return [
    { path: 'docs/long.md', text: `# Long\n\n## Section\n\n${para(60)}\n\n- ${para(20, 3)}\n- item two\n\n${para(45, 5)}\n` },
    // One comment block of many lines: its text skips every `// ` marker.
    { path: 'src/long.ts', text: `${Array.from({ length: 70 }, (_, i) => `// ${sentence(i)}`).join('\n')}\nexport function drain(): void {}\n` },
    { path: 'src/block.ts', text: `/**\n${Array.from({ length: 60 }, (_, i) => ` * ${sentence(i + 1)}`).join('\n')}\n */\nexport class Server {}\n` },
    { path: 'scripts/long.py', text: `def drain():\n    """${Array.from({ length: 50 }, (_, i) => `    ${sentence(i + 2)}`).join('\n')}\n    """\n    return 1\n` },
    // Characters the tokenizer drops inside words (a zero-width space, a control character,
    // U+FFFD): gaps in the offsets that are no word boundary.
    { path: 'docs/hostile.md', text: `# Hostile\n\n${Array.from({ length: 240 }, (_, i) => (i % 3 === 0 ? 'inter\u200bnational' : i % 3 === 1 ? 'con\u0001nections' : 'up\ufffdloads')).join(' ')}\n` },
    // Runs without spaces longer than a window: a URL, CJK text, dotted names.
    { path: 'docs/runs.md', text: `# Runs\n\nSee https://example.com/${'aGVsbG8gd29ybGQ-'.repeat(60)}/end for details.\n\n${'服务器在停止之前关闭连接。'.repeat(30)}\n\n${Array.from({ length: 200 }, (_, i) => `mod${i}`).join('.')} ends here.\n` },
  ];
}

/** Text beyond ASCII words: accents (composed and not), symbols, emoji, CJK, Hangul (whose syllables WordPiece may cut), typographic punctuation. */
function unicodeFiles(): SourceFile[] {
  return [
    { path: 'docs/unicode.md', text: '# Unicode — naïve café\n\nThe café’s résumé and e\u0301cole: “quotes” … and — dashes. Straße İstanbul ǅemal ﬁne.\n\n'
      + 'Symbols © 2024 ™ ½ ² ① ≠ ℃ and x©y, emoji 😀 👍🏽 🇩🇪 ok❤️ok, math 𝐁𝐨𝐥𝐝 and 𠀀𠀁.\n\n'
      + '服务器在停止之前关闭连接。日本語のテキスト、カタカナ。한국어 텍스트입니다. 안녕하세요!\n\n'
      + 'Zero\u200bwidth in\u200bside, soft\u00adhyphen, a\u200b\u0301 mark after a gap, .\u0301 and ¿Qué? ¡Sí!\n\n'
      + `A long word that is not plain: ${'ab©'.repeat(30)} and ${'x\u200b'.repeat(40)}y.\n` },
    { path: 'src/unicode.ts', text: '/**\n * Drains the café’s connections — gracefully — before it stops (≈ 30 s).\n * 服务器关闭连接。 Emoji 🚀 launch; Hangul 한국어.\n */\nexport function drain(): void {}\n' },
  ];
}

/** Texts the words cannot be followed in (a capital sigma, an added token written out): these units take the tokeniser. */
function unfollowableFiles(): SourceFile[] {
  return [
    { path: 'docs/greek.md', text: '# Greek\n\nΟΔΟΣ and ΑΣ.Β are Greek words with a capital sigma.\n' },
    { path: 'docs/markers.md', text: '# Markers\n\nThe encoder adds [CLS] and [SEP] around a passage.\n' },
  ];
}

/**
 * Asserts that `fast` gives what evidence needs of `exact` (spans of the same vectors in file
 * `text`, unit [start, end)): each vector widens to the same word, or (a token that is no word)
 * has the same span; and evidence ranges and sentences are equal for random token scores.
 */
function assertSameEvidence(text: string, start: number, end: number, exact: TokenSpans, fast: TokenSpans, where: string): void {
  assert.equal(fast.starts.length, exact.starts.length, where);
  const hasWord = (s: number, e: number): boolean => /[\p{L}\p{N}\p{M}_]/u.test(text.slice(s, e));
  for (let k = 0; k < exact.starts.length; k++) {
    const [s, e, fs_, fe] = [exact.starts[k], exact.ends[k], fast.starts[k], fast.ends[k]];
    if (s >= 0 && e > s && hasWord(s, e)) {
      assert.deepEqual(widenToWord(text, fs_, fe), widenToWord(text, s, e), `${where}: vector ${k} ${JSON.stringify(text.slice(s, e))} widens to another word from ${JSON.stringify(text.slice(fs_, fe))}`);
      assert.ok(fs_ <= s && e <= fe, `${where}: vector ${k}: its word ${JSON.stringify(text.slice(fs_, fe))} holds its token ${JSON.stringify(text.slice(s, e))}`);
    } else {
      assert.deepEqual([fs_, fe], [s, e], `${where}: vector ${k} (no word: ${JSON.stringify(text.slice(s, e))}) keeps its exact span`);
    }
  }
  const r = mulberry32(exact.starts.length * 31 + start);
  for (let round = 0; round < 4; round++) {
    const p = Array.from(exact.starts, () => r());
    const tokens = (sp: TokenSpans): EvidenceToken[] => Array.from(sp.starts, (st, k) => ({ start: st, end: sp.ends[k], p: p[k] })).filter((t) => t.start >= 0);
    for (const threshold of [0.3, 0.6, 0.9]) {
      assert.deepEqual(evidenceRanges(text, tokens(fast), threshold), evidenceRanges(text, tokens(exact), threshold), `${where}: ranges at ${threshold}`);
      assert.deepEqual(evidenceSentences(text, start, end, tokens(fast), threshold), evidenceSentences(text, start, end, tokens(exact), threshold), `${where}: sentences at ${threshold}`);
    }
  }
}

/** The unit as if its segment stored no spans (a StoredUnit's text read now). */
function withoutSpans(u: IndexedUnit): IndexedUnit {
  const { path: p, start, end, kind, language, context, segments, tokenFirst, tokenCount } = u;
  return { path: p, start, end, kind, language, context, segments, tokenFirst, tokenCount };
}

function fixtureFiles(): SourceFile[] {
  const out: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) walk(abs);
      else out.push({ path: path.relative(FIXTURE, abs).split(path.sep).join('/'), text: fs.readFileSync(abs, 'utf8') });
    }
  };
  walk(FIXTURE);
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

describe('token spans, stored or recovered from a unit\'s text', () => {
  let encoder: Encoder;
  before(async () => {
    encoder = await Encoder.load(defaultModelDir());
  });
  after(async () => {
    await encoder.dispose();
  });

  it('are stored exact, and come from the words of every unit of an indexed workspace where none are stored, giving the highlights its exact spans give (in memory, read back from the segments, and compacted)', async () => {
    const files = [...fixtureFiles(), ...longFiles(), ...unicodeFiles(), ...unfollowableFiles()];
    const built = (await buildIndex(ROOT, files, encoder, undefined, { matmul: jsMatMulT })).index;
    const expect = { root: ROOT, model: encoder.fingerprint, dim: encoder.dim };
    const dir = tmpDir();
    saveIndex(dir, built);
    const r = loadIndex(dir, expect);
    assert.ok('index' in r, JSON.stringify(r));
    const loaded = r.index;
    assert.ok(loaded.units.every((u) => u instanceof StoredUnit), 'loaded units read their text from their segment');
    // Compacted (every vector and unit copied into a new part) and saved again: the spans are
    // copied from the segment they were in.
    const compacted = compact(loaded.store, loaded.units, 0);
    const dir2 = tmpDir();
    saveIndex(dir2, { ...loaded, ...compacted });
    const r2 = loadIndex(dir2, expect);
    assert.ok('index' in r2, JSON.stringify(r2));
    const rewritten = r2.index;
    assert.ok(rewritten.units.every((u) => u instanceof StoredUnit && !loaded.units.some((l) => (l as StoredUnit).segment === u.segment)), 'in new segments');

    // What the indexer encoded, unit by unit: the files extracted and windowed again, and encoded.
    const items = files.flatMap((f) => extractPassages(f.path, f.text!).flatMap((p) => unitsForPassage(encoder, p).map((x, k, all) => ({ ...x, windows: all.length, window: k }))));
    const encodings: DocEncoding[] = [];
    for (const it of items) encodings.push(...(await encoder.encodeDocs([it.input])));
    assert.equal(built.units.length, items.length);
    assert.equal(loaded.units.length, items.length);
    const unfollowable = new Set(unfollowableFiles().map((f) => f.path));

    let windows = 0;
    let byWords = 0;
    let nonPlainVectors = 0;
    const commentWindows = new Set<string>();
    for (const [k, it] of items.entries()) {
      const e = encodings[k];
      const where = `${it.unit.path} [${it.unit.start}, ${it.unit.end}) window ${it.window + 1} of ${it.windows}`;
      const text = files.find((f) => f.path === it.unit.path)!.text!;
      const flags = encoder.keptTokens(it.input).wordStarts;
      for (const ix of [built, loaded, rewritten]) {
        const stored = ix.units[k];
        assert.deepEqual([stored.path, stored.start, stored.end, stored.tokenCount], [it.unit.path, it.unit.start, it.unit.end, e.count], where);
        // The index holds each vector's word-start flag, and the exact spans of every unit.
        assert.deepEqual(Array.from({ length: stored.tokenCount }, (_, v) => (ix.store.startsWord(stored.tokenFirst + v) ? 1 : 0)), [...flags], `${where}: flags`);
        assert.ok(stored.spans, `${where}: spans stored`);
        assert.deepEqual(unitSpans(encoder, stored, ix.store.norms), { starts: e.starts, ends: e.ends }, `${where}: stored spans`);
        // Without them: tokenising the text again still gives the exact spans (the way left where the words fail).
        const u = withoutSpans(stored);
        assert.deepEqual(unitSpans(encoder, u), { starts: e.starts, ends: e.ends }, where);
        const words = wordSpans(encoder, u, ix.store.norms);
        if (unfollowable.has(u.path)) {
          assert.equal(words, undefined, `${where}: the words cannot be followed here`);
          assert.deepEqual(unitSpans(encoder, u, ix.store.norms), { starts: e.starts, ends: e.ends }, `${where}: by the tokeniser`);
          continue;
        }
        assert.ok(words, `${where}: the words and the flags agree`);
        assert.deepEqual(unitSpans(encoder, u, ix.store.norms), words, `${where}: unitSpans takes the words`);
        assertSameEvidence(text, u.start, u.end, e, words, where);
        byWords++;
        for (let v = 0; v < e.count; v++) if (e.starts[v] >= 0 && (e.starts[v] !== words.starts[v] || e.ends[v] !== words.ends[v])) nonPlainVectors++;
      }
      if (it.windows > 1) {
        windows++;
        if (it.unit.kind === 'comment' && it.unit.segments.length > 1) commentWindows.add(it.unit.path);
        // A window begins a word, so that its text alone tokenises as it did in its passage.
        if (it.window > 0) assert.ok(!encoder.tokenizer.continuesWord(it.input.bodyIds[0]), `${where} begins inside a word`);
      }
    }
    // The fixture exercises what it is meant to.
    assert.equal(byWords, 3 * (items.length - items.filter((x) => unfollowable.has(x.unit.path)).length));
    assert.ok(nonPlainVectors > 100, `vectors whose word is wider than their token: ${nonPlainVectors}`);
    assert.ok(windows >= 10, `windows of long passages: ${windows}`);
    assert.deepEqual([...commentWindows].sort(), ['scripts/long.py', 'src/block.ts', 'src/long.ts'], 'windows of comment blocks, each of several lines');
    for (const p of ['docs/hostile.md', 'docs/runs.md', 'src/long.ts', 'src/block.ts', 'scripts/long.py', 'docs/long.md']) {
      assert.ok(items.filter((x) => x.unit.path === p).length > 1, `${p} is split into windows`);
    }
    assert.ok(items.some((x) => x.unit.kind === 'markdown' && x.windows === 1) && items.some((x) => x.unit.kind === 'comment' && x.windows === 1));
  });

  it('flag the first kept token of each word of the body, never a marker, context or punctuation token', async () => {
    const text = 'The server’s re-tries: internationalization, 中文 and 😀!';
    const tok = encoder.tokenizer.tokenize(text);
    const input = { contextIds: encoder.contextIds('Shutdown > Draining'), bodyIds: tok.ids, bodyStarts: tok.starts, bodyEnds: tok.ends };
    const kept = encoder.keptSpans(input);
    const flags = encoder.keptTokens(input).wordStarts;
    assert.equal(flags.length, kept.starts.length);
    const [e] = await encoder.encodeDocs([input]);
    assert.deepEqual({ starts: e.starts, ends: e.ends }, kept, 'the spans the index stores (the encoding\'s) are keptSpans');
    const flagged = [...flags.entries()].filter(([, f]) => f === 1).map(([v]) => text.slice(kept.starts[v], kept.ends[v]));
    assert.deepEqual(flagged, ['The', 'server', 's', 're', 'tries', 'international', '中', '文', 'and', '😀']);
    // Marker and context vectors come first, unflagged; every body vector after a flag continues its word.
    const firstBody = kept.starts.findIndex((s) => s >= 0);
    assert.ok(firstBody > 2 && flags.subarray(0, firstBody).every((f) => f === 0) && flags[firstBody] === 1);
  });

  it('a window never begins inside a word, even where a character the tokenizer drops leaves a gap in it', () => {
    // A word whose pieces after such a gap differ from its pieces alone, in number of tokens
    // alike: had a window begun there, its spans would be recomputed wrong with no count to tell.
    const tk = encoder.tokenizer;
    const relative = (r: { starts: Int32Array; ends: Int32Array }, from: number): number[][] =>
      Array.from(r.starts, (st, k) => [st - from, r.ends[k] - from]).filter(([st]) => st >= 0);
    const word = [...tk.vocabEntries()].map(([t]) => t).filter((t) => /^[a-z]{4,}$/.test(t)).map((t) => `${t}s`).find((w) => {
      const inWord = relative(tk.tokenize(`ab\u0001${w}`), 3);
      const alone = relative(tk.tokenize(w), 0);
      return inWord.length === alone.length && JSON.stringify(inWord) !== JSON.stringify(alone);
    });
    assert.ok(word, 'such a word exists in the vocabulary');
    const cap = encoder.bodyCapacity(0);
    // The passage's token `cap` (the first that no longer fits) is the word's first piece after the gap.
    const text = `${'the '.repeat(cap - 1)}ab\u0001${word} and more words after it.`;
    const p = { path: 'a.md', start: 0, end: text.length, kind: 'markdown' as const, language: 'markdown', context: '', segments: [{ text, offset: 0 }] };
    const items = unitsForPassage(encoder, p);
    assert.equal(items.length, 2);
    assert.equal(items[1].unit.start, text.indexOf('ab\u0001'), 'the second window begins with the whole word');
    for (const it of items) {
      const kept = encoder.keptSpans(it.input);
      const unit = { ...it.unit, tokenFirst: 0, tokenCount: kept.starts.length };
      assert.deepEqual(unitSpans(encoder, unit), kept);
      const flags = encoder.keptTokens(it.input).wordStarts;
      const words = wordSpans(encoder, unit, Uint8Array.from(flags, (f) => f * WORD_START_BIT));
      assert.ok(words, 'the words and the flags agree');
      assertSameEvidence(text, unit.start, unit.end, kept, words, `window at ${unit.start}`);
    }
  });

  it('give the same highlights as the spans encodeDocs gave, through the searcher, stored or recovered from the words', async () => {
    const files = [...longFiles().slice(0, 3), ...unicodeFiles()];
    const built = (await buildIndex(ROOT, files, encoder, undefined, { matmul: jsMatMulT })).index;
    const text = new Map(files.map((f) => [f.path, f.text!]));
    const items = files.flatMap((f) => extractPassages(f.path, f.text!).flatMap((p) => unitsForPassage(encoder, p)));
    for (const stored of [true, false]) {
      const index = stored ? built : { ...built, units: built.units.map(withoutSpans) };
      const searcher = new Searcher(encoder, index, (p) => text.get(p)!);
      let highlighted = 0;
      // Stored spans are read, never recovered; without them each unit's spans are recovered
      // once, from its words (its text is never tokenised again), then served from the
      // searcher's cache of shown units.
      let scans = 0;
      let retokenised = 0;
      const scan = PreTokenizerWordScanner.prototype.scan;
      PreTokenizerWordScanner.prototype.scan = function (this: PreTokenizerWordScanner, t: string) {
        scans++;
        return scan.call(this, t);
      };
      const keptSpans = encoder.keptSpans;
      encoder.keptSpans = (d) => {
        retokenised++;
        return keptSpans.call(encoder, d);
      };
      for (const query of ['how does the server drain connections before it stops', 'exponential backoff for uploads']) {
        const q = await encoder.encodeQuery(query);
        for (const [k, u] of index.units.entries()) {
          const [e] = await encoder.encodeDocs([items[k].input]);
          for (const granularity of ['token', 'sentence'] as const) {
            const want = pickEvidence(encoder, text.get(u.path)!, u.start, u.end, scoreTokens(encoder, q, index.store, u.tokenFirst, e), 0.3, granularity);
            assert.deepEqual(await searcher.evidence(q, u, 0.3, granularity), want, `${u.path} [${u.start}, ${u.end}) ${granularity}: ${query}`);
            if (want.length > 0) highlighted++;
          }
        }
      }
      encoder.keptSpans = keptSpans;
      PreTokenizerWordScanner.prototype.scan = scan;
      assert.ok(highlighted > 10, `units with highlights: ${highlighted}`);
      assert.ok(index.units.length < 256, 'all units fit the cache');
      assert.equal(scans, stored ? 0 : index.units.length, 'spans recovered once a unit without stored ones, 2 questions × 2 granularities asked');
      assert.equal(retokenised, 0, 'no unit\'s text tokenised again');
      await searcher.dispose();
    }
  });

  it('a unit without stored spans whose text does not give back its token count gets no highlights, and is reported once', async () => {
    const files: SourceFile[] = [
      { path: 'docs/a.md', text: '# Shutdown\n\nThe server drains open connections before it stops.\n' },
      { path: 'docs/b.md', text: '# Uploads\n\nFailed uploads are retried three times with exponential backoff.\n' },
    ];
    const built = (await buildIndex(ROOT, files, encoder, undefined, { matmul: jsMatMulT })).index;
    // Unit 0 without stored spans, as if its text had changed under it (or been cut inside a
    // word): one word more.
    const u0 = built.units[0];
    const changed: IndexedUnit = { ...withoutSpans(u0), segments: u0.segments.map((s) => ({ ...s, text: s.text.replace('open', 'open idle') })) };
    const index: WorkspaceIndex = { ...built, units: [changed, ...built.units.slice(1)] };
    const spans = unitSpans(encoder, changed);
    assert.ok('reason' in spans && new RegExp(`^docs/a\\.md \\[${u0.start}, ${u0.end}\\) has ${u0.tokenCount} token vectors but its text gives ${u0.tokenCount + 1} tokens$`).test(spans.reason), JSON.stringify(spans));

    const logged: string[] = [];
    const text = new Map(files.map((f) => [f.path, f.text!]));
    const searcher = new Searcher(encoder, index, (p) => text.get(p)!, (m) => logged.push(m));
    for (let round = 0; round < 2; round++) {
      const hits = await searcher.search('how does the server stop', { top: 2, threshold: 0 });
      assert.equal(hits.length, 2);
      for (const h of hits) {
        if (h.unit === changed) assert.deepEqual(h.highlights, [], 'no highlights rather than wrong ones');
        else assert.ok(h.highlights.length > 0, 'the other unit is highlighted');
      }
    }
    assert.equal(logged.length, 1, `reported once: ${JSON.stringify(logged)}`);
    assert.match(logged[0], /^evidence: docs\/a\.md \[\d+, \d+\) has \d+ token vectors but its text gives \d+ tokens; no highlights for it$/);
    await searcher.dispose();
  });
});
