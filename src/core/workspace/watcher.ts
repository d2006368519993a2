// Watches a workspace folder with chokidar and reports changed paths in debounced batches, so
// that a burst of saves (a branch switch, a formatter run) costs one incremental re-index.
// Which files matter is decided later by the scan's own rules; here only folders that are never
// indexed (node_modules, .git, build output…) are skipped, to keep the watcher cheap.
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { DEFAULT_EXCLUDED_DIRS } from './scan';

export interface WatchOptions {
  /** Quiet time before a batch is reported (default 300 ms). */
  debounceMs?: number;
  /** Called with the workspace-relative paths (forward slashes) added, changed or removed. */
  onChange: (paths: string[]) => void;
  onError?: (e: Error) => void;
}

export interface WorkspaceWatcher {
  /** Resolves once the initial directory walk is done and changes are being reported. */
  ready: Promise<void>;
  close(): Promise<void>;
}

export function watchWorkspace(root: string, o: WatchOptions): WorkspaceWatcher {
  const abs = path.resolve(root);
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const watcher: FSWatcher = watch(abs, {
    ignoreInitial: true,
    followSymlinks: false,
    ignored: (p: string) => {
      const rel = path.relative(abs, p);
      return rel !== '' && rel.split(path.sep).some((part) => DEFAULT_EXCLUDED_DIRS.has(part));
    },
  });
  const note = (p: string): void => {
    pending.add(path.relative(abs, p).split(path.sep).join('/'));
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      const batch = [...pending].sort();
      pending.clear();
      o.onChange(batch);
    }, o.debounceMs ?? 300);
  };
  for (const ev of ['add', 'change', 'unlink'] as const) watcher.on(ev, note);
  watcher.on('error', (e) => o.onError?.(e instanceof Error ? e : new Error(String(e))));
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    async close() {
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}
