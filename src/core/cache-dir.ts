// Where caches live: never inside the searched folder.
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';

/** The per-user cache folder of this tool (XDG on Linux, Library/Caches on macOS, LOCALAPPDATA on Windows). */
export function userCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32') return path.join(env.LOCALAPPDATA || path.join(os.homedir(), 'AppData', 'Local'), 'evidence-search', 'Cache');
  if (platform === 'darwin') return path.join(os.homedir(), 'Library', 'Caches', 'evidence-search');
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'evidence-search');
}

/** The index folder of one workspace root under a cache folder: one per (root, model). */
export function indexDirFor(cacheRoot: string, absRoot: string, modelFingerprint: string): string {
  const key = crypto.createHash('sha256').update(`${absRoot}\0${modelFingerprint}`).digest('hex').slice(0, 16);
  return path.join(cacheRoot, 'indexes', `${path.basename(absRoot).replace(/[^\w.-]/g, '_') || 'root'}-${key}`);
}
