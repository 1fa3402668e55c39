import type { CachedFileInfo, CachedModelInfo } from './cache-manage.js';
import { decodeKeyPart } from './cache-key.js';

/**
 * Names `NodeFolderCache` gives its own files next to a model's. Every path part of a key is
 * percent-encoded and so never holds a bare `%` followed by `p`, `l` or `m`: these names cannot
 * collide with a model's files.
 */
export const PARTIAL_SUFFIX = '%partial';
export const PARTIAL_META_SUFFIX = '%partial.json';
export const LOCK_SUFFIX = '%lock';
/** In the model's folder: `{ "id": "<model id>" }`, so the folder can be listed and deleted by model. */
export const MODEL_MARKER = '%model.json';

/** The models under the cache folder `root`, found by their markers. */
export async function listModelsIn(root: string): Promise<CachedModelInfo[]> {
  const fs = await import('node:fs/promises');
  const models: CachedModelInfo[] = [];
  const visit = async (dir: string, model: CachedModelInfo | null, rel: string[]): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    if (entries.some((e) => e.isFile() && e.name === MODEL_MARKER)) {
      const id = await readMarker(`${dir}/${MODEL_MARKER}`);
      if (id !== null) {
        model = { id, files: [], bytes: 0, lastUsed: null };
        models.push(model);
        rel = [];
      }
    }
    for (const entry of entries) {
      const full = `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        await visit(full, model, [...rel, decodeKeyPart(entry.name)]);
        continue;
      }
      if (!model || !entry.isFile() || entry.name === MODEL_MARKER || entry.name.endsWith(LOCK_SUFFIX) || entry.name.endsWith(PARTIAL_META_SUFFIX)) continue;
      const complete = !entry.name.endsWith(PARTIAL_SUFFIX);
      const name = complete ? entry.name : entry.name.slice(0, -PARTIAL_SUFFIX.length);
      const stats = await fs.stat(full).catch(() => null);
      if (!stats) continue;
      const file: CachedFileInfo = { path: [...rel, decodeKeyPart(name)].join('/'), bytes: stats.size, complete };
      model.files.push(file);
      model.bytes += stats.size;
      const used = Math.max(stats.atimeMs, stats.mtimeMs);
      if (model.lastUsed === null || used > model.lastUsed.getTime()) model.lastUsed = new Date(used);
    }
  };
  await visit(root, null, []);
  for (const m of models) m.files.sort((a, b) => a.path.localeCompare(b.path));
  return models;
}

/**
 * Deletes the files of the model whose folder is `dir` (complete, partial, locks and the marker),
 * leaving any other model nested below it, then removes the folders left empty up to `root`.
 */
export async function deleteModelDir(dir: string, root: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const clean = async (folder: string, top: boolean): Promise<void> => {
    const entries = await fs.readdir(folder, { withFileTypes: true }).catch(() => []);
    if (!top && entries.some((e) => e.isFile() && e.name === MODEL_MARKER)) return;
    for (const entry of entries) {
      const full = `${folder}/${entry.name}`;
      if (entry.isDirectory()) await clean(full, false);
      else await fs.rm(full, { force: true });
    }
    await fs.rmdir(folder).catch(() => undefined);
  };
  await clean(dir, true);
  for (let parent = dir.slice(0, dir.lastIndexOf('/')); parent.length > root.length && parent.startsWith(root); parent = parent.slice(0, parent.lastIndexOf('/'))) {
    if (!(await fs.rmdir(parent).then(() => true, () => false))) break;
  }
}

async function readMarker(path: string): Promise<string | null> {
  const fs = await import('node:fs/promises');
  try {
    const id = (JSON.parse(await fs.readFile(path, 'utf8')) as { id?: unknown }).id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}
