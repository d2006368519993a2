// Tokenizes training pairs with the runtime tokenizer (src/core/model/tokenizer.ts), so training
// sees exactly the ids the extension will feed the model, and turns evidence character ranges
// into per-token labels. Input: pairs.jsonl from make_pairs.py. Output, one JSON line a pair:
//   {"q": [query ids, no markers], "pos": [context ids], "posb": [body ids], "lab": [0/1 per body
//    token] | null, "negc": [...], "negb": [...]}
import fs from 'node:fs';
import readline from 'node:readline';
import { TextTokenizer } from '../../src/core/model/tokenizer';

const [tokPath, inPath, outPath] = process.argv.slice(2);
(async () => {
  const tok = await TextTokenizer.load(tokPath);
  const out = fs.createWriteStream(outPath);
  const rl = readline.createInterface({ input: fs.createReadStream(inPath, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  const ids = (t: string, max: number): number[] => Array.from(tok.tokenize(t).ids.subarray(0, max));
  for await (const line of rl) {
    if (!line) continue;
    const r = JSON.parse(line);
    const body = tok.tokenize(r.pos);
    const nb = Math.min(body.ids.length, 180);
    let lab: number[] | null = null;
    if (r.ev && r.ev.length) {
      lab = [];
      for (let t = 0; t < nb; t++) {
        const s = body.starts[t], e = body.ends[t];
        lab.push(r.ev.some(([a, b]: [number, number]) => s < b && e > a) ? 1 : 0);
      }
    }
    const rec = { q: ids(r.q, 30), posc: ids(r.ctx, 40), posb: Array.from(body.ids.subarray(0, nb)), lab, negc: ids(r.neg_ctx, 40), negb: ids(r.neg, 180) };
    if (!out.write(JSON.stringify(rec) + '\n')) await new Promise<void>((res) => out.once('drain', () => res()));
    n++;
  }
  out.end();
  console.error(`tokenized ${n} pairs`);
})();
