// `npm run test:e2e [-- --update-media-screenshots] [-- --vsix <file>]`: the UI tests
// (workbench.test.ts) under node's test runner. Screenshots go to a folder outside the repository
// (printed at the end); with --update-media-screenshots two of them are also copied to
// media/screenshots/ for the README. With --vsix the packaged extension is installed and tested
// instead of the development folder.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const toMedia = process.argv.includes('--update-media-screenshots');
const vsixAt = process.argv.indexOf('--vsix');
const vsix = vsixAt > 0 ? path.resolve(process.argv[vsixAt + 1]) : undefined;
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', path.join(__dirname, 'workbench.test.ts')], {
  stdio: 'inherit',
  env: {
    ...process.env,
    ...(toMedia ? { EVIDENCE_SEARCH_SCREENSHOTS_TO_MEDIA: '1' } : {}),
    ...(vsix ? { EVIDENCE_SEARCH_E2E_VSIX: vsix } : {}),
  },
});
process.exit(r.status ?? 1);
