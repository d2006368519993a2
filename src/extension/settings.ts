// Settings → core options. Pure (no `vscode` import): the reader in settings-reader.ts hands
// the raw values in, so this mapping is unit-tested under plain Node.
import os from 'node:os';
import path from 'node:path';
import type { ExtractOptions } from '../core/extract/index';
import type { SearchOptions } from '../core/search/searcher';
import type { ScanOptions } from '../core/workspace/scan';

export const HIGHLIGHT_STYLES = ['background', 'border', 'underline'] as const;
export type HighlightStyle = (typeof HIGHLIGHT_STYLES)[number];

/** The `evidenceSearch.*` settings of one workspace folder, validated. */
export interface EvidenceSettings {
  include: string[];
  exclude: string[];
  useExcludeSettings: boolean;
  maxFileSize: number;
  languages: string[];
  maxResults: number;
  /** null: the model's calibrated threshold. */
  evidenceThreshold: number | null;
  highlightStyle: HighlightStyle;
  /** '' : the model shipped with the extension. */
  modelFolder: string;
  indexOnStartup: boolean;
}

export const DEFAULT_SETTINGS: Readonly<EvidenceSettings> = {
  include: [],
  exclude: [],
  useExcludeSettings: true,
  maxFileSize: 1_000_000,
  languages: [],
  maxResults: 20,
  evidenceThreshold: null,
  highlightStyle: 'background',
  modelFolder: '',
  indexOnStartup: true,
};

function stringList(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.filter((s): s is string => typeof s === 'string' && s.trim() !== '').map((s) => s.trim());
}

function integerIn(v: unknown, min: number, max: number): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : undefined;
}

/**
 * Validates raw setting values (settings.json may hold anything): a value of the wrong type
 * falls back to its default, numbers are clamped to their range.
 */
export function normalizeSettings(get: (key: keyof EvidenceSettings) => unknown): EvidenceSettings {
  const d = DEFAULT_SETTINGS;
  const threshold = get('evidenceThreshold');
  const style = get('highlightStyle');
  const model = get('modelFolder');
  const bool = (k: 'useExcludeSettings' | 'indexOnStartup'): boolean => {
    const v = get(k);
    return typeof v === 'boolean' ? v : d[k];
  };
  return {
    include: stringList(get('include')) ?? d.include,
    exclude: stringList(get('exclude')) ?? d.exclude,
    useExcludeSettings: bool('useExcludeSettings'),
    maxFileSize: integerIn(get('maxFileSize'), 1_000, 100_000_000) ?? d.maxFileSize,
    languages: stringList(get('languages')) ?? d.languages,
    maxResults: integerIn(get('maxResults'), 1, 200) ?? d.maxResults,
    evidenceThreshold: typeof threshold === 'number' && Number.isFinite(threshold) ? Math.min(1, Math.max(0, threshold)) : null,
    highlightStyle: (HIGHLIGHT_STYLES as readonly unknown[]).includes(style) ? (style as HighlightStyle) : d.highlightStyle,
    modelFolder: typeof model === 'string' ? model.trim() : '',
    indexOnStartup: bool('indexOnStartup'),
  };
}

/**
 * The globs of a `files.exclude` / `search.exclude` map that are switched on. Entries with a
 * `when` clause (`{ "when": "$(basename).ts" }`) depend on sibling files and are left out: the
 * scanner cannot evaluate them, and leaving a file in is the safe side.
 */
export function enabledGlobs(map: unknown): string[] {
  if (!map || typeof map !== 'object') return [];
  const out: string[] = [];
  for (const [glob, on] of Object.entries(map as Record<string, unknown>)) {
    if (on !== true) continue;
    const g = glob.trim().replace(/^\.\//, '').replace(/^\/+/, '');
    if (g) out.push(g);
  }
  return out;
}

/** ScanOptions of one folder: our include/exclude plus, unless switched off, files.exclude and search.exclude. */
export function scanOptionsFor(s: EvidenceSettings, filesExclude: unknown, searchExclude: unknown): ScanOptions {
  const exclude = [...s.exclude];
  if (s.useExcludeSettings) exclude.push(...enabledGlobs(filesExclude), ...enabledGlobs(searchExclude));
  const scan: ScanOptions = { maxFileBytes: s.maxFileSize, exclude: [...new Set(exclude)] };
  if (s.include.length) scan.include = [...s.include];
  if (s.languages.length) scan.languages = [...s.languages];
  return scan;
}

export function extractOptionsFor(s: EvidenceSettings): ExtractOptions {
  return s.languages.length ? { languages: [...s.languages] } : {};
}

export function searchOptionsFor(s: EvidenceSettings): SearchOptions {
  const o: SearchOptions = { top: s.maxResults };
  if (s.evidenceThreshold !== null) o.threshold = s.evidenceThreshold;
  return o;
}

/** The model folder to load: the setting (`~` expanded, relative to the home folder) or the shipped one. */
export function resolveModelDir(setting: string, shipped: string, home: string = os.homedir()): string {
  if (!setting) return shipped;
  const expanded = setting === '~' ? home : setting.startsWith('~/') || setting.startsWith('~\\') ? path.join(home, setting.slice(2)) : setting;
  return path.resolve(home, expanded);
}

/** A key that changes exactly when a folder's index must be rebuilt (scan or extraction options). */
export function indexingKey(scan: ScanOptions, extract: ExtractOptions): string {
  const { onSkip: _onSkip, signal: _signal, ...plain } = scan;
  return JSON.stringify([plain, extract]);
}
