// The token estimate of an indexing run: Markdown and code learn separate tokens-per-byte
// ratios, so a folder whose docs come first does not predict its code as prose.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenEstimate } from '../../src/core/index/token-estimate';

test('docs read first do not inflate the estimate for the code still to read', () => {
  const e = new TokenEstimate();
  e.plan('docs/a.md', 100_000);
  e.plan('docs/b.md', 100_000);
  for (let i = 0; i < 10; i++) e.plan(`src/f${i}.ts`, 100_000);
  // Before anything is read: priors (0.3 for Markdown, 0.04 for code).
  assert.equal(e.total(), Math.round(200_000 * 0.3 + 1_000_000 * 0.04));
  e.read('docs/a.md', 100_000, 35_000);
  e.read('docs/b.md', 100_000, 35_000);
  assert.equal(e.queued, 70_000);
  // The docs are done; code is still estimated from its own prior, not at 0.35 tokens a byte.
  assert.equal(e.total(), 70_000 + 1_000_000 * 0.04);
  // Code read at 0.01 tokens a byte pulls the code estimate down.
  for (let i = 0; i < 5; i++) e.read(`src/f${i}.ts`, 100_000, 1_000);
  const t = e.total();
  assert.ok(t < 70_000 + 5_000 + 500_000 * 0.02 && t > 70_000 + 5_000 + 500_000 * 0.01, `code ratio learned: ${t}`);
  // A planned file that turns out binary is no longer expected.
  const before = e.total();
  e.skip('src/f9.ts', 100_000);
  assert.ok(e.total() < before);
  for (let i = 5; i < 9; i++) e.read(`src/f${i}.ts`, 100_000, 1_000);
  assert.equal(e.total(), e.queued, 'everything read: the estimate is exact');
});
