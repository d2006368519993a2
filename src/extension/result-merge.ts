// Moved to the core (src/core/search/result-merge.ts), where MultiRootSearch uses it; kept here
// so that existing imports of the extension's merge keep working.
export { DEFAULT_FUSION, mergeFolderResults, type Fusion, type Mergeable } from '../core/search/result-merge';
