import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evidenceRanges, evidenceSentences, mergeRanges, sentenceSpans, sigmoid, widenToWord, type EvidenceToken } from '../../src/core/search/evidence';

/** Offsets of the n-th occurrence of `needle` in `text`. */
function at(text: string, needle: string, nth = 0): [number, number] {
  let i = -1;
  for (let k = 0; k <= nth; k++) {
    i = text.indexOf(needle, i + 1);
    assert.ok(i >= 0, `${JSON.stringify(needle)} not in ${JSON.stringify(text)}`);
  }
  return [i, i + needle.length];
}

function show(text: string, ranges: Array<[number, number]>): string[] {
  return ranges.map(([s, e]) => text.slice(s, e));
}

describe('sigmoid', () => {
  it('is the logistic function', () => {
    assert.equal(sigmoid(0), 0.5);
    assert.ok(Math.abs(sigmoid(2) - 1 / (1 + Math.exp(-2))) < 1e-15);
    assert.ok(sigmoid(-50) < 1e-20 && sigmoid(50) === 1);
  });
});

describe('widenToWord', () => {
  it('widens a word piece to the whole ASCII word (letters, digits, underscore)', () => {
    const t = 'call max_retries2 now';
    assert.deepEqual(widenToWord(t, 8, 11), at(t, 'max_retries2'));
    assert.deepEqual(widenToWord(t, 5, 6), at(t, 'max_retries2'));
    assert.deepEqual(widenToWord(t, 16, 17), at(t, 'max_retries2'));
  });

  it('keeps a range that already is a whole word, and stops at text edges', () => {
    const t = 'alpha beta';
    assert.deepEqual(widenToWord(t, 0, 5), [0, 5]);
    assert.deepEqual(widenToWord(t, 6, 10), [6, 10]);
    assert.deepEqual(widenToWord(t, 7, 8), [6, 10]);
    assert.deepEqual(widenToWord('x', 0, 1), [0, 1]);
  });

  it('does not cross punctuation, hyphens, dots or whitespace', () => {
    const t = 'a well-known path.join(x)';
    assert.deepEqual(show(t, [widenToWord(t, 8, 10)]), ['known']);
    assert.deepEqual(show(t, [widenToWord(t, 2, 3)]), ['well']);
    assert.deepEqual(show(t, [widenToWord(t, 19, 20)]), ['join']);
    assert.deepEqual(show(t, [widenToWord(t, 14, 15)]), ['path']);
  });

  it('treats non-ASCII letters and digits as word characters', () => {
    const t = 'la naïve façade Straße ٣٤ 日本語 done';
    assert.deepEqual(show(t, [widenToWord(t, 4, 5)]), ['naïve']);
    assert.deepEqual(show(t, [widenToWord(t, 12, 13)]), ['façade']);
    const s = at(t, 'ß')[0];
    assert.deepEqual(show(t, [widenToWord(t, s, s + 1)]), ['Straße']);
    const d = at(t, '٤')[0];
    assert.deepEqual(show(t, [widenToWord(t, d, d + 1)]), ['٣٤']);
    const j = at(t, '本')[0];
    assert.deepEqual(show(t, [widenToWord(t, j, j + 1)]), ['日本語']);
  });

  it('handles astral letters (surrogate pairs) as whole code points', () => {
    const t = 'x 𝐀𝐁𝐂 y';
    // '𝐁' is a letter outside the BMP (two UTF-16 code units each).
    const [s, e] = at(t, '𝐁');
    assert.deepEqual(widenToWord(t, s, e), at(t, '𝐀𝐁𝐂'));
    assert.deepEqual(show(t, [widenToWord(t, s, e)]), ['𝐀𝐁𝐂']);
  });

  it('does not treat emoji as word characters', () => {
    const t = 'ship 🚀 fast';
    const [s, e] = at(t, '🚀');
    assert.deepEqual(widenToWord(t, s, e), [s, e]);
    const u = 'go🚀🚀now';
    const r = widenToWord(u, 0, 1);
    assert.deepEqual(show(u, [r]), ['go']);
    const n = at(u, 'now');
    assert.deepEqual(widenToWord(u, n[0] + 1, n[1]), n);
  });

  it('keeps a decomposed accent (base letter + combining mark, NFD text) inside the word', () => {
    // 'résumé' written with U+0301 COMBINING ACUTE ACCENT (as NFD text, e.g. from macOS):
    // the tokenizer may cut a word piece right after the mark; widening it must give the whole
    // word, marks included, not split a letter from its accent.
    const t = 'my re\u0301sume\u0301 here';
    const word = at(t, 're\u0301sume\u0301');
    const piece = at(t, 'sum');
    assert.deepEqual(widenToWord(t, piece[0], piece[1]), word);
  });
});

describe('mergeRanges', () => {
  it('joins ranges separated by a short gap without word characters', () => {
    const t = 'alpha beta, gamma';
    assert.deepEqual(mergeRanges(t, [at(t, 'alpha'), at(t, 'beta')]), [[0, 10]]);
    assert.deepEqual(mergeRanges(t, [at(t, 'beta'), at(t, 'gamma')]), [[6, 17]]);
    assert.deepEqual(mergeRanges(t, [at(t, 'alpha'), at(t, 'beta'), at(t, 'gamma')]), [[0, 17]]);
    // A line break is a gap like any other.
    const u = 'first\nsecond';
    assert.deepEqual(mergeRanges(u, [at(u, 'first'), at(u, 'second')]), [[0, 12]]);
  });

  it('keeps ranges apart when the gap holds a word character', () => {
    const t = 'alpha x beta';
    assert.deepEqual(mergeRanges(t, [at(t, 'alpha'), at(t, 'beta')]), [at(t, 'alpha'), at(t, 'beta')]);
    const u = 'ab 1 cd';
    assert.deepEqual(mergeRanges(u, [at(u, 'ab'), at(u, 'cd')]), [at(u, 'ab'), at(u, 'cd')]);
    const v = 'ab_cd';
    assert.deepEqual(mergeRanges(v, [[0, 2], [3, 5]]), [[0, 2], [3, 5]]);
  });

  it('respects maxGap: a gap of exactly maxGap merges, one more does not', () => {
    const t = 'ab , cd';
    assert.deepEqual(mergeRanges(t, [[0, 2], [5, 7]]), [[0, 7]], 'gap 3 = default maxGap');
    const u = 'ab  , cd';
    assert.deepEqual(mergeRanges(u, [[0, 2], [6, 8]]), [[0, 2], [6, 8]], 'gap 4 > 3');
    assert.deepEqual(mergeRanges(u, [[0, 2], [6, 8]], 4), [[0, 8]]);
    assert.deepEqual(mergeRanges(t, [[0, 2], [5, 7]], 0), [[0, 2], [5, 7]], 'maxGap 0 merges only touching ranges');
    assert.deepEqual(mergeRanges(t, [[0, 2], [2, 4]], 0), [[0, 4]]);
  });

  it('merges overlapping, contained, touching and duplicate ranges', () => {
    const t = 'abcdefghijklmnop';
    assert.deepEqual(mergeRanges(t, [[0, 5], [3, 8]]), [[0, 8]]);
    assert.deepEqual(mergeRanges(t, [[0, 10], [2, 3]]), [[0, 10]]);
    assert.deepEqual(mergeRanges(t, [[2, 3], [0, 10]]), [[0, 10]]);
    assert.deepEqual(mergeRanges(t, [[0, 3], [3, 6]]), [[0, 6]]);
    assert.deepEqual(mergeRanges(t, [[4, 6], [4, 6], [4, 6]]), [[4, 6]]);
  });

  it('sorts unsorted input and drops empty or reversed ranges', () => {
    const t = 'one two three four five';
    const input: Array<[number, number]> = [at(t, 'five'), [3, 3], at(t, 'one'), [9, 7], at(t, 'three')];
    assert.deepEqual(mergeRanges(t, input), [at(t, 'one'), at(t, 'three'), at(t, 'five')]);
    assert.deepEqual(mergeRanges(t, []), []);
    assert.deepEqual(mergeRanges(t, [[5, 5]]), []);
  });

  it('does not modify its input', () => {
    const t = 'alpha beta';
    const input: Array<[number, number]> = [[6, 10], [0, 5]];
    const copy = JSON.parse(JSON.stringify(input));
    mergeRanges(t, input);
    assert.deepEqual(input, copy);
  });

  it('sees an astral letter in a gap as a word character, an emoji as not', () => {
    const t = 'ab𝐀cd';
    assert.deepEqual(mergeRanges(t, [[0, 2], [4, 6]]), [[0, 2], [4, 6]]);
    const u = 'ab😀cd';
    assert.deepEqual(mergeRanges(u, [[0, 2], [4, 6]]), [[0, 6]]);
    const v = 'ab 😀 cd'; // gap of 4 code units
    assert.deepEqual(mergeRanges(v, [[0, 2], [6, 8]]), [[0, 2], [6, 8]]);
    assert.deepEqual(mergeRanges(v, [[0, 2], [6, 8]], 4), [[0, 8]]);
  });

  it('sees a non-ASCII letter in a gap as a word character, a dash as not', () => {
    const t = 'ab é cd';
    assert.deepEqual(mergeRanges(t, [[0, 2], [5, 7]]), [[0, 2], [5, 7]]);
    const u = 'ab — cd';
    assert.deepEqual(mergeRanges(u, [[0, 2], [5, 7]]), [[0, 7]]);
  });

  it('property: output is sorted, disjoint, covers every input range, and only bridges short word-free gaps', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const alphabet = ['a', 'é', ' ', ',', '\n', '😀', '𝐀', '_', '-'];
    for (let trial = 0; trial < 300; trial++) {
      let text = '';
      while (text.length < 40) text += alphabet[rnd(alphabet.length)];
      const ranges: Array<[number, number]> = [];
      const n = rnd(8);
      for (let k = 0; k < n; k++) {
        const s = rnd(text.length + 1);
        ranges.push([s, Math.min(text.length, s + rnd(6))]);
      }
      const maxGap = rnd(5);
      const out = mergeRanges(text, ranges, maxGap);
      for (let k = 0; k < out.length; k++) {
        assert.ok(out[k][0] < out[k][1]);
        if (k > 0) assert.ok(out[k][0] > out[k - 1][1], `disjoint and not touching: ${JSON.stringify(out)}`);
      }
      for (const [s, e] of ranges) {
        if (e <= s) continue;
        assert.ok(out.some(([a, b]) => a <= s && e <= b), `input [${s},${e}) covered by ${JSON.stringify(out)}`);
      }
      // Every position of an output range is in some input range, or in a bridged gap
      // (≤ maxGap, no word character).
      const covered = new Uint8Array(text.length);
      for (const [s, e] of ranges) for (let i = s; i < e; i++) covered[i] = 1;
      for (const [a, b] of out) {
        let i = a;
        while (i < b) {
          if (covered[i]) {
            i++;
            continue;
          }
          let j = i;
          while (j < b && !covered[j]) j++;
          assert.ok(j - i <= maxGap, `bridged gap [${i},${j}) longer than ${maxGap}`);
          assert.ok(!/[\p{L}\p{N}_]/u.test(text.slice(i, j)), `bridged gap ${JSON.stringify(text.slice(i, j))} has a word character`);
          i = j;
        }
      }
    }
  });
});

describe('evidenceRanges', () => {
  const text = 'Call server.close() to stop accepting connections gracefully.';
  const tok = (word: string, p: number, nth = 0): EvidenceToken => {
    const [start, end] = at(text, word, nth);
    return { start, end, p };
  };

  it('keeps tokens with p >= threshold (equality included) and drops the rest', () => {
    const tokens = [tok('Call', 0.2), tok('server', 0.5), tok('close', 0.49999), tok('stop', 0.9), tok('accepting', 0.5)];
    assert.deepEqual(show(text, evidenceRanges(text, tokens, 0.5)), ['server', 'stop accepting']);
    assert.deepEqual(show(text, evidenceRanges(text, tokens, 0.95)), []);
    assert.deepEqual(show(text, evidenceRanges(text, tokens, 0)), ['Call server.close', 'stop accepting']);
  });

  it('a threshold of 1 keeps only p = 1; a threshold above every p gives no ranges', () => {
    const tokens = [tok('stop', 1), tok('gracefully', 0.999999)];
    assert.deepEqual(show(text, evidenceRanges(text, tokens, 1)), ['stop']);
    assert.deepEqual(evidenceRanges(text, tokens, 1.0000001), []);
    assert.deepEqual(evidenceRanges(text, [], 0), []);
  });

  it('widens word pieces to words and merges neighbours across short gaps', () => {
    // 'gracefully' as pieces 'grace' + '##fully': either piece alone highlights the word.
    const [g] = at(text, 'gracefully');
    assert.deepEqual(show(text, evidenceRanges(text, [{ start: g + 5, end: g + 10, p: 0.8 }], 0.5)), ['gracefully']);
    assert.deepEqual(
      show(text, evidenceRanges(text, [{ start: g, end: g + 5, p: 0.8 }, { start: g + 5, end: g + 10, p: 0.8 }], 0.5)),
      ['gracefully'],
    );
    // 'connections gracefully' (one space) merges; 'stop … connections' (a word between) does not.
    assert.deepEqual(show(text, evidenceRanges(text, [tok('connections', 1), tok('gracefully', 1)], 0.5)), ['connections gracefully']);
    assert.deepEqual(show(text, evidenceRanges(text, [tok('stop', 1), tok('connections', 1)], 0.5)), ['stop', 'connections']);
    // maxGap is passed through.
    assert.deepEqual(show(text, evidenceRanges(text, [tok('connections', 1), tok('gracefully', 1)], 0.5, 0)), ['connections', 'gracefully']);
  });

  it('ignores tokens without a span (markers/context: -1) and empty spans, whatever their p', () => {
    const tokens: EvidenceToken[] = [{ start: -1, end: -1, p: 1 }, { start: 5, end: 5, p: 1 }, { start: 9, end: 7, p: 1 }, tok('stop', 1)];
    assert.deepEqual(show(text, evidenceRanges(text, tokens, 0.5)), ['stop']);
  });

  it('does not depend on token order', () => {
    const tokens = [tok('gracefully', 0.7), tok('Call', 0.7), tok('stop', 0.7), tok('server', 0.7)];
    const a = evidenceRanges(text, tokens, 0.5);
    const b = evidenceRanges(text, [...tokens].reverse(), 0.5);
    assert.deepEqual(a, b);
    assert.deepEqual(show(text, a), ['Call server', 'stop', 'gracefully']);
  });

  it('returns absolute offsets into a larger file text', () => {
    const file = '# Title\n\nSome text. ' + text;
    const base = file.indexOf(text);
    const [s, e] = at(text, 'stop');
    const r = evidenceRanges(file, [{ start: base + s, end: base + e, p: 1 }], 0.5);
    assert.deepEqual(r, [[base + s, base + e]]);
    assert.equal(file.slice(r[0][0], r[0][1]), 'stop');
  });
});

describe('sentenceSpans', () => {
  const sents = (t: string, a = 0, b = t.length): string[] => show(t, sentenceSpans(t, a, b));

  it('ends sentences at . ! ? : followed by whitespace, trimmed', () => {
    assert.deepEqual(sents('One. Two!  Three?\nFour: five'), ['One.', 'Two!', 'Three?', 'Four:', 'five']);
    assert.deepEqual(sents('x.\ty'), ['x.', 'y']);
  });

  it('does not cut inside dotted names, versions or calls', () => {
    assert.deepEqual(sents('Use path.join(a, b) in version 1.2.3 now. Next one'), ['Use path.join(a, b) in version 1.2.3 now.', 'Next one']);
  });

  it('cuts at blank lines (LF or CRLF) and before list items, headings and table rows, without their Markdown markers', () => {
    assert.deepEqual(sents('Para one\n\nPara two\n- item a\n* item b\n# Head\n| a | b |'), ['Para one', 'Para two', 'item a', 'item b', 'Head', '| a | b |']);
    assert.deepEqual(sents('Steps:\n1. first step\n2) second step. Done.'), ['Steps:', 'first step', 'second step.', 'Done.']);
    assert.deepEqual(sents('a\r\n\r\nb'), ['a', 'b']);
  });

  it('stays inside [start, end) and gives nothing for blank text', () => {
    const t = 'XX. Alpha beta. Gamma delta. YY.';
    assert.deepEqual(sents(t, 4, 28), ['Alpha beta.', 'Gamma delta.']);
    for (const [a, b] of sentenceSpans(t, 4, 28)) assert.ok(a >= 4 && b <= 28);
    assert.deepEqual(sentenceSpans('   \n\n  ', 0, 7), []);
    assert.deepEqual(sentenceSpans('abc', 1, 1), []);
  });
});

describe('evidenceSentences', () => {
  const text = 'Call close() to stop the server. It waits for requests. Logs go to stderr.';
  const toks = (pairs: Array<[string, number]>): EvidenceToken[] => pairs.map(([w, p]) => {
    const [start, end] = at(text, w);
    return { start, end, p };
  });

  it('keeps whole sentences whose mean p reaches the threshold, in text order', () => {
    const tokens = toks([['Call', 0.9], ['close', 0.8], ['stop', 0.7], ['server', 0.9], ['waits', 0.1], ['requests', 0.2], ['Logs', 0.9], ['stderr', 0.8]]);
    assert.deepEqual(show(text, evidenceSentences(text, 0, text.length, tokens, 0.5)), ['Call close() to stop the server.', 'Logs go to stderr.']);
  });

  it('always keeps the best sentence of a shown passage, even when no sentence mean reaches the threshold; nothing without tokens', () => {
    const tokens = toks([['Call', 0.1], ['close', 0.1], ['waits', 0.6], ['requests', 0.1], ['Logs', 0.2]]);
    assert.deepEqual(show(text, evidenceSentences(text, 0, text.length, tokens, 0.5)), ['It waits for requests.']);
    assert.deepEqual(show(text, evidenceSentences(text, 0, text.length, toks([['waits', 0.4]]), 0.5)), ['It waits for requests.']);
    assert.deepEqual(evidenceSentences(text, 0, text.length, [], 0.1), []);
  });

  it('only returns sentences inside the region', () => {
    const tokens = toks([['Call', 0.9], ['waits', 0.9], ['Logs', 0.9]]);
    const [a] = at(text, 'It waits');
    const [, b] = at(text, 'requests.');
    assert.deepEqual(show(text, evidenceSentences(text, a, b, tokens, 0.5)), ['It waits for requests.']);
  });
  it('gives the same sentences for tokens in text order (one sweep) as in any order, tokens across sentence ends and empty ones included', () => {
    // The definition, every sentence against every token.
    const reference = (tokens: EvidenceToken[], threshold: number): Array<[number, number]> => {
      const scored = sentenceSpans(text, 0, text.length).map(([a, b]) => {
        const inside = tokens.filter((t) => t.start >= a && t.end <= b);
        return { a, b, mean: inside.length ? inside.reduce((s, t) => s + t.p, 0) / inside.length : 0 };
      });
      const picked = scored.filter((s) => s.mean >= threshold);
      const best = scored.reduce((x, y) => (y.mean > x.mean ? y : x));
      if (best.mean > 0 && !picked.includes(best)) picked.push(best);
      return picked.map((s) => [s.a, s.b] as [number, number]).sort((x, y) => x[0] - y[0]);
    };
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (let trial = 0; trial < 300; trial++) {
      const tokens: EvidenceToken[] = [];
      for (let k = 0, n = Math.floor(random() * 30); k < n; k++) {
        const start = Math.floor(random() * text.length);
        tokens.push({ start, end: Math.min(text.length, start + Math.floor(random() * 8)), p: random() });
      }
      const sorted = [...tokens].sort((x, y) => x.start - y.start);
      for (const threshold of [0.3, 0.6]) {
        assert.deepEqual(evidenceSentences(text, 0, text.length, sorted, threshold), reference(sorted, threshold), `trial ${trial}, in order`);
        assert.deepEqual(evidenceSentences(text, 0, text.length, tokens, threshold), reference(tokens, threshold), `trial ${trial}, any order`);
      }
    }
  });
});
