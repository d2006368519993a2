// Indexing progress as words, for logs, the CLI and the extension's status bar. Pure.
import type { IndexProgress } from './indexer';

/** "120/373 files, 41k/170k tokens 24%, 12 s left" — for logs and the CLI. */
export function formatProgress(p: IndexProgress): string {
  const k = (n: number): string => (n >= 10_000 ? `${Math.round(n / 1000)}k` : String(n));
  const files = p.filesTotal !== undefined ? `${p.filesDone}/${p.filesTotal} files` : `${p.filesDone} files`;
  const tokens = p.tokensTotal !== undefined ? `${k(p.tokensDone)}/${k(p.tokensTotal)} tokens` : `${k(p.tokensDone)} tokens`;
  const pct = p.fraction !== undefined ? ` ${Math.floor(p.fraction * 100)}%` : '';
  const eta = p.etaSeconds !== undefined && p.fraction !== 1 ? `, ${formatEta(p.etaSeconds)} left` : '';
  return `${files}, ${tokens}${pct}${eta}`;
}

export function formatEta(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}
