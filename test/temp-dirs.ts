// Temporary folders for tests, under os.tmpdir() (never in the repository), removed after the file's tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

/** A `tmpDir(prefix?)` whose folders are all removed once the calling test file is done. */
export function tempDirFactory(defaultPrefix: string): (prefix?: string) => string {
  const made: string[] = [];
  after(() => {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  });
  return (prefix = defaultPrefix) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    made.push(d);
    return d;
  };
}
