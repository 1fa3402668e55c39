import type { ModelSource } from './model-source.js';

/**
 * A source whose revision can move (a Hub branch or tag): it can name the immutable revision
 * (a commit) its revision points at now, and give the same model bound to that commit. The
 * cache keys such a source's files by the commit, so a moved branch gets new entries and one
 * load reads one commit even if the branch moves while it downloads.
 */
export interface PinnableModelSource extends ModelSource {
  /**
   * The commit the source's revision names now: the revision itself when it already is one
   * (no request), else asked of the server with `path` (a file of the model; default
   * `model_index.json`). A server that names no commit gives the revision unchanged. Errors are
   * the source's own (`ModelSourceError`, `ModelFileNotFoundError`; `status` null for a network
   * failure).
   */
  resolveRevision(options?: { path?: string; signal?: AbortSignal }): Promise<string>;
  /** The same model read at `revision` (as `resolveRevision` gives it); its `id` names that revision. */
  atRevision(revision: string): ModelSource;
}

/** Whether `source` names a revision that can move and can be pinned to a commit. */
export function isPinnable(source: ModelSource): source is PinnableModelSource {
  const s = source as Partial<PinnableModelSource>;
  return typeof s.resolveRevision === 'function' && typeof s.atRevision === 'function';
}
