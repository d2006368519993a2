// Bundles the extension, the CLI, the encoding worker they start (dist/encode-worker.js,
// found next to the bundle at run time) and the speed bench. onnxruntime-node is a native
// (N-API) addon with its binaries beside it, so it stays external and ships in node_modules.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  external: ['vscode', 'onnxruntime-node'],
  logLevel: 'info',
};
const builds = [
  { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js' },
  { ...common, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
  { ...common, entryPoints: ['src/core/model/encode-worker.ts'], outfile: 'dist/encode-worker.js' },
  // The speed bench, bundled like the CLI so that it measures the code that ships.
  { ...common, entryPoints: ['src/core/bench/speed-bench.ts'], outfile: 'dist/speed-bench.js' },
];
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
