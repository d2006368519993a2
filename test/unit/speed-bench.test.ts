// The speed bench's pieces that decide what it measures: the synthetic workspace (deterministic,
// N passages, all distinct) and the percentile and size parsing behind its figures.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { extractPassages } from '../../src/core/extract/index';
import { fileCount, fileText, passageText, relPathOfFile, writeWorkspace, SECTIONS_PER_FILE } from '../../src/core/bench/speed-corpus';
import { parseSize, percentile } from '../../src/core/bench/speed-bench';
import { tempDirFactory } from '../temp-dirs';

const tmpDir = tempDirFactory('es-speed-');
const PARAGRAPHS = Array.from({ length: 30 }, (_, i) => `Paragraph ${i} explains how the request lifecycle handles hooks number ${i}. It has a second sentence about plugins ${i}.`);

describe('speed bench workspace', () => {
  it('n passages, each one Markdown section, all distinct; the same n gives the same files', () => {
    const n = 95;
    const dir = tmpDir();
    const w = writeWorkspace(dir, PARAGRAPHS, n);
    assert.equal(w.files, fileCount(n));
    assert.equal(w.files, Math.ceil(n / SECTIONS_PER_FILE));
    let passages = 0;
    const bodies = new Set<string>();
    for (let f = 0; f < w.files; f++) {
      const text = fs.readFileSync(path.join(dir, relPathOfFile(f)), 'utf8');
      assert.equal(text, fileText(PARAGRAPHS, n, f), 'deterministic');
      const ps = extractPassages(relPathOfFile(f), text);
      passages += ps.length;
      for (const p of ps) bodies.add(p.segments.map((s) => s.text).join('\n'));
    }
    assert.equal(passages, n, 'one passage per section');
    assert.equal(bodies.size, n, 'no two passages are equal');
    assert.notEqual(passageText(PARAGRAPHS, 3).body, passageText(PARAGRAPHS, 33).body, 'a later copy of a paragraph differs');
  });

  it('percentile and --sizes', () => {
    const xs = Array.from({ length: 100 }, (_, i) => 100 - i);
    assert.equal(percentile(xs, 50), 50);
    assert.equal(percentile(xs, 95), 95);
    assert.equal(percentile([7], 95), 7);
    assert.equal(parseSize('1k'), 1000);
    assert.equal(parseSize('100K'), 100_000);
    assert.equal(parseSize('2500'), 2500);
    assert.throws(() => parseSize('ten'), /not a size/);
    assert.throws(() => parseSize('5'), />= 10/);
  });
});
