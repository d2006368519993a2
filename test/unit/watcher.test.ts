import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { watchWorkspace } from '../../src/core/workspace/watcher';

function waitFor(pred: () => boolean, ms = 10000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      if (pred()) resolve();
      else if (Date.now() - t0 > ms) reject(new Error('timed out'));
      else setTimeout(tick, 50);
    };
    tick();
  });
}

describe('watchWorkspace', () => {
  it('reports added, changed and removed files in one debounced batch, and skips node_modules', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'es-watch-'));
    fs.mkdirSync(path.join(root, 'docs'));
    fs.mkdirSync(path.join(root, 'node_modules', 'x'), { recursive: true });
    fs.writeFileSync(path.join(root, 'docs', 'old.md'), '# Old\n');
    const batches: string[][] = [];
    const w = watchWorkspace(root, { debounceMs: 200, onChange: (p) => batches.push(p) });
    try {
      await w.ready;
      fs.writeFileSync(path.join(root, 'docs', 'new.md'), '# New\n');
      fs.writeFileSync(path.join(root, 'node_modules', 'x', 'README.md'), '# ignored\n');
      fs.rmSync(path.join(root, 'docs', 'old.md'));
      await waitFor(() => batches.flat().includes('docs/new.md') && batches.flat().includes('docs/old.md'));
      assert.ok(!batches.flat().some((p) => p.startsWith('node_modules/')), `node_modules reported: ${JSON.stringify(batches)}`);
      assert.ok(batches.length <= 2, `changes within the debounce window come as one batch (got ${batches.length})`);
    } finally {
      await w.close();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
