// A child process for the crash and hostile-workspace tests: loads the model, says "ready",
// opens (indexes) a workspace through the public engine API, optionally runs a few searches,
// and prints one JSON line with the report, the saved index's file list, the results and its
// peak RSS. Run as `node --import tsx open-child.ts <root> <indexDir> [options JSON]`.
//
// It is a separate process so that the parent can SIGKILL it at any point (crash test) and
// can read a peak RSS that belongs to indexing alone (hostile-workspace test).
import path from 'node:path';
import { WorkspaceSearch } from '../../../src/core/engine';
import { Encoder } from '../../../src/core/model/encoder';
import { loadIndex } from '../../../src/core/index/index-file';
import { instrumentIndexWrites, type CrashPlan } from './crash-points';

interface ChildOptions {
  modelDir: string;
  maxFileBytes?: number;
  queries?: string[];
  top?: number;
  /** Count the file operations on the index folder, and die at one of them (crash-points.ts). */
  crash?: CrashPlan;
}

async function main(): Promise<void> {
  const [root, indexDir, json] = process.argv.slice(2);
  const o: ChildOptions = JSON.parse(json ?? '{}');
  const encoder = await Encoder.load(path.resolve(o.modelDir));
  const indexOps = o.crash ? instrumentIndexWrites(indexDir, o.crash) : undefined;
  // The parent times its SIGKILL from this line: everything after it is indexing and saving.
  process.stdout.write('ready\n');
  const progress: number[] = [];
  const ws = await WorkspaceSearch.open(root, {
    modelDir: o.modelDir,
    indexDir,
    encoder,
    scan: o.maxFileBytes !== undefined ? { maxFileBytes: o.maxFileBytes } : undefined,
    onProgress: (p) => {
      progress.push(p.filesDone);
    },
  });
  process.stdout.write('opened\n');
  const results: Record<string, unknown> = {};
  for (const q of o.queries ?? []) results[q] = await ws.search(q, { top: o.top ?? 10 });
  const loaded = loadIndex(indexDir, { root: ws.report.root, model: encoder.fingerprint, dim: encoder.dim });
  const savedFiles = 'index' in loaded ? loaded.index.files.map((f) => f.path) : null;
  const out = {
    report: ws.report,
    savedFiles,
    loadReason: 'reason' in loaded ? loaded.reason : null,
    indexOps: indexOps?.() ?? null,
    results,
    // resourceUsage().maxRSS is in kilobytes on Linux and macOS.
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  await ws.dispose();
  await encoder.dispose();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(`open-child: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
