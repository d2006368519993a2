// Timing of exact MaxSim over N units × 120 tokens, 32 query rows, dim 128: the wasm SIMD kernel
// vs the JavaScript loop (maxsim.ts) vs onnxruntime's GEMM (DenseScorer.scoreAll). A script,
// not a test (timings depend on the machine and its load):
//
//   node --import tsx src/core/search/simd/bench.ts [units…]     (default: 10000 50000)
//
// Each figure is the best of a few runs; the JS loop is timed on a sample of units and scaled
// (it is linear in the units, and a full 50k run takes minutes).
//
// The two baselines are copies of maxsim.ts's maxSim and DenseScorer.scoreAll as of commit
// 7b9f4b6 (int8 TokenStore), so the figures do not move when those files are reworked.
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { MaxSimKernel } from './maxsim-kernel';
import { mulberry32 } from '../../bench/metrics';

interface Store {
  dim: number;
  codes: Int8Array;
  scales: Float32Array;
}

/** maxsim.ts maxSim at 7b9f4b6: the scalar JavaScript loop. */
function maxSim(query: Float32Array, rows: number, store: Store, first: number, count: number): number {
  const D = store.dim;
  const m = new Float32Array(rows).fill(-Infinity);
  const codes = store.codes;
  const scales = store.scales;
  const v = new Float32Array(D);
  for (let j = first; j < first + count; j++) {
    const s = scales[j];
    const base = j * D;
    for (let d = 0; d < D; d++) v[d] = codes[base + d] * s;
    for (let i = 0; i < rows; i++) {
      const qb = i * D;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += query[qb + d] * v[d];
      if (dot > m[i]) m[i] = dot;
    }
  }
  let total = 0;
  for (let i = 0; i < rows; i++) total += m[i] === -Infinity ? 0 : m[i];
  return total;
}

/** dense-scorer.ts DenseScorer at 7b9f4b6: onnxruntime Gemm over 16k-token blocks widened to float. */
class DenseScorer {
  private static readonly ONNX = 'CAgSD2V2aWRlbmNlLXNlYXJjaDpqCh4KAXEKAWQSAXMiBEdlbW0qDQoGdHJhbnNCGAGgAQISA3FkdFoVCgFxEhAKDggBEgoKAxIBbQoDEgFrWhUKAWQSEAoOCAESCgoDEgFuCgMSAWtiFQoBcxIQCg4IARIKCgMSAW0KAxIBbkIECgAQDQ==';
  private constructor(private readonly ort: typeof import('onnxruntime-node'), private readonly session: InferenceSession) {}

  static async create(threads = 1): Promise<DenseScorer> {
    const ort: typeof import('onnxruntime-node') = require('onnxruntime-node');
    const session = await ort.InferenceSession.create(Buffer.from(DenseScorer.ONNX, 'base64'), {
      intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential',
    });
    return new DenseScorer(ort, session);
  }

  async scoreAll(query: Float32Array, rows: number, store: Store, units: ReadonlyArray<{ tokenFirst: number; tokenCount: number }>): Promise<Float32Array> {
    const D = store.dim;
    const scores = new Float32Array(units.length);
    const qt: Tensor = new this.ort.Tensor('float32', query.subarray(0, rows * D), [rows, D]);
    let u = 0;
    while (u < units.length) {
      const first = units[u].tokenFirst;
      let end = u;
      let last = first;
      while (end < units.length && (end === u || units[end].tokenFirst + units[end].tokenCount - first <= 16384) && units[end].tokenFirst === last) {
        last = units[end].tokenFirst + units[end].tokenCount;
        end++;
      }
      const n = last - first;
      if (n === 0) {
        u = end;
        continue;
      }
      const block = new Float32Array(n * D);
      const codes = store.codes;
      const base = first * D;
      for (let x = 0; x < n * D; x++) block[x] = codes[base + x];
      const out = await this.session.run({ q: qt, d: new this.ort.Tensor('float32', block, [n, D]) });
      const s = out.s.data as Float32Array;
      for (let k = u; k < end; k++) {
        const a = units[k].tokenFirst - first;
        const b = a + units[k].tokenCount;
        let total = 0;
        for (let i = 0; i < rows; i++) {
          let m = -Infinity;
          const row = i * n;
          for (let j = a; j < b; j++) {
            const v = s[row + j] * store.scales[first + j];
            if (v > m) m = v;
          }
          if (m !== -Infinity) total += m;
        }
        scores[k] = total;
      }
      u = end;
    }
    return scores;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

const DIM = 128;
const ROWS = 32;
const TOKENS = 120;
const REPEAT = 5;
const JS_SAMPLE = 1000;

/** Best wall-clock and best process CPU time (ms) over n runs: on a shared machine the CPU
 * time is the steadier figure (onnxruntime's work on its own threads is counted too). */
interface Time {
  wall: number;
  cpu: number;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function best(f: () => void, n = REPEAT): Time {
  const b = { wall: Infinity, cpu: Infinity };
  for (let i = 0; i < n; i++) {
    const c = cpuMs();
    const t = performance.now();
    f();
    b.wall = Math.min(b.wall, performance.now() - t);
    b.cpu = Math.min(b.cpu, cpuMs() - c);
  }
  return b;
}

async function bestAsync(f: () => Promise<unknown>, n = REPEAT): Promise<Time> {
  const b = { wall: Infinity, cpu: Infinity };
  for (let i = 0; i < n; i++) {
    const c = cpuMs();
    const t = performance.now();
    await f();
    b.wall = Math.min(b.wall, performance.now() - t);
    b.cpu = Math.min(b.cpu, cpuMs() - c);
  }
  return b;
}

const scale = (t: Time, k: number): Time => ({ wall: t.wall * k, cpu: t.cpu * k });

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number);
  const r = mulberry32(1);
  const dense = await DenseScorer.create(1);
  for (const U of sizes.length ? sizes : [10000, 50000]) {
    const T = U * TOKENS;
    // random int8 codes with TokenStoreBuilder's scales (unit vectors: max|v| / 127 ≈ 0.2 / 127)
    const codes = new Int8Array(T * DIM);
    for (let i = 0; i < codes.length; i++) codes[i] = (r() * 255 - 127) | 0;
    const scales = new Float32Array(T).map(() => (0.15 + 0.1 * r()) / 127);
    const store: Store = { dim: DIM, codes, scales };
    const units = Array.from({ length: U }, (_, u) => ({ tokenFirst: u * TOKENS, tokenCount: TOKENS }));
    const query = new Float32Array(ROWS * DIM).map(() => r() - 0.5);

    const kernel = new MaxSimKernel(DIM);
    let ks: Float32Array = new Float32Array(0);
    const tKernel = best(() => {
      kernel.setQuery(query, ROWS);
      ks = kernel.scoreStore(store, units);
    });
    // the kernel alone, tokens already in wasm memory (what a caller decompressing into the
    // token buffer sees), on a chunk of CHUNK_TOKENS tokens scaled to U units
    const chunkUnits = Math.min(U, Math.floor(32768 / TOKENS));
    const buf = kernel.tokenBuffer(chunkUnits * TOKENS, chunkUnits);
    buf.codes.set(codes.subarray(0, chunkUnits * TOKENS * DIM));
    buf.scales.set(scales.subarray(0, chunkUnits * TOKENS));
    buf.counts.fill(TOKENS);
    const tCompute = scale(best(() => kernel.scoreTokenBuffer(chunkUnits), 5), U / chunkUnits);

    const sample = Math.min(U, JS_SAMPLE);
    const js = new Float32Array(sample);
    const tJs = scale(best(() => {
      for (let u = 0; u < sample; u++) js[u] = maxSim(query, ROWS, store, u * TOKENS, TOKENS);
    }, 1), U / sample);

    let ds: Float32Array = new Float32Array(0);
    const tDense = await bestAsync(async () => {
      ds = await dense.scoreAll(query, ROWS, store, units);
    });

    let maxErr = 0;
    for (let u = 0; u < U; u++) maxErr = Math.max(maxErr, Math.abs(ks[u] - ds[u]));
    let maxErrJs = 0;
    for (let u = 0; u < sample; u++) maxErrJs = Math.max(maxErrJs, Math.abs(ks[u] - js[u]));
    const f = (t: Time) => `${t.wall.toFixed(0).padStart(6)} ms wall ${t.cpu.toFixed(0).padStart(6)} ms CPU`;
    const x = (t: Time) => `×${(t.wall / tKernel.wall).toFixed(1)} wall ×${(t.cpu / tKernel.cpu).toFixed(1)} CPU of the kernel`;
    console.log(`${U} units × ${TOKENS} tokens, ${ROWS} query rows, dim ${DIM} (best of ${REPEAT}):`);
    console.log(`  wasm SIMD kernel (scoreStore, incl. copy)   ${f(tKernel)}`);
    console.log(`  wasm SIMD kernel (tokens already in wasm)   ${f(tCompute)}  (scaled from ${chunkUnits} units)`);
    console.log(`  onnxruntime GEMM (DenseScorer.scoreAll)     ${f(tDense)}  ${x(tDense)}`);
    console.log(`  JS loop (maxsim.ts maxSim)                  ${f(tJs)}  ${x(tJs)} (scaled from ${sample} units)`);
    console.log(`  max |kernel − GEMM| ${maxErr.toExponential(2)}, max |kernel − JS| ${maxErrJs.toExponential(2)} (scores ~${ks[0].toFixed(1)})`);
  }
  await dense.dispose();
}

void main();
