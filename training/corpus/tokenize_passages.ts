// Tokenizes every passage of passages.jsonl with the runtime tokenizer for masked-language-model
// pretraining: "[CLS] context [SEP] text", cut to 256 ids. Output: <out>.u16 (all ids, uint16
// little-endian, back to back) and <out>.off.i32 (passage start offsets, n + 1 of them).
import fs from 'node:fs';
import readline from 'node:readline';
import { TextTokenizer } from '../../src/core/model/tokenizer';

const [tokPath, inPath, outBase] = process.argv.slice(2);
const MAX = 256, CLS = 101, SEP = 102;
(async () => {
  const tok = await TextTokenizer.load(tokPath);
  const ids: number[] = [];
  const offs: number[] = [0];
  const rl = readline.createInterface({ input: fs.createReadStream(inPath, 'utf8'), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line) continue;
    const p = JSON.parse(line);
    const seq = [CLS];
    if (p.context) seq.push(...tok.tokenize(p.context).ids.subarray(0, 40), SEP);
    for (const id of tok.tokenize(p.text).ids.subarray(0, MAX - seq.length)) seq.push(id);
    if (seq.length < 8) continue;
    for (const id of seq) ids.push(id);
    offs.push(ids.length);
  }
  fs.writeFileSync(outBase + '.u16', Buffer.from(Uint16Array.from(ids).buffer));
  fs.writeFileSync(outBase + '.off.i32', Buffer.from(Int32Array.from(offs).buffer));
  console.error(`tokenized ${offs.length - 1} passages, ${ids.length} ids`);
})();
