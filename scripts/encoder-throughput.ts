// The raw encoder's throughput on a folder's passages: what indexing that folder could reach if
// scanning, extraction and storing cost nothing. Compare with the tokens/s of `index` (its
// --json report: stats.sequenceTokens / stats.seconds).
//
//   node --import tsx scripts/encoder-throughput.ts DIR [--model DIR]
import path from 'node:path';
import { defaultModelDir } from '../src/core/engine';
import { extractPassages } from '../src/core/extract/index';
import { unitsForPassage } from '../src/core/index/indexer';
import { Encoder, type DocInput } from '../src/core/model/encoder';
import { scanWorkspace } from '../src/core/workspace/scan';

async function main(): Promise<void> {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: encoder-throughput.ts DIR [--model DIR]');
  const m = process.argv.indexOf('--model');
  const encoder = await Encoder.load(path.resolve(m > 0 ? process.argv[m + 1] : defaultModelDir()));
  const inputs: DocInput[] = [];
  for await (const f of scanWorkspace(dir)) {
    for (const p of extractPassages(f.path, f.text)) for (const u of unitsForPassage(encoder, p)) inputs.push(u.input);
  }
  const tokens = inputs.reduce((n, d) => n + encoder.sequenceLength(d), 0);
  await encoder.encodeDocs(inputs.slice(0, 32)); // warm-up
  const t0 = process.hrtime.bigint();
  // Batches of 64 passages, as the indexer sends them.
  for (let i = 0; i < inputs.length; i += 64) await encoder.encodeDocs(inputs.slice(i, i + 64));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(`${JSON.stringify({ passages: inputs.length, tokens, seconds: Number(s.toFixed(2)), tokensPerSecond: Math.round(tokens / s) })}\n`);
  await encoder.dispose();
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 1;
});
