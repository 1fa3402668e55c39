import type { CachedFileInfo, CachedModelInfo } from './cache-manage.js';
import { decodeKeyPart } from './cache-key.js';
import { LOCK_SUFFIX, MODEL_MARKER, PARTIAL_META_SUFFIX, PARTIAL_SUFFIX } from './cache-node-list.js';
import { isNotFound, readText, type OpfsDir } from './cache-opfs-io.js';

/** What a model folder's marker holds: its id, and when a file of it was last read. */
export interface OpfsMarker {
  id: string;
  lastUsed?: number;
}

export async function readMarker(dir: FileSystemDirectoryHandle): Promise<OpfsMarker | null> {
  try {
    const text = await readText(dir, MODEL_MARKER);
    if (text === null) return null;
    const m = JSON.parse(text) as Partial<OpfsMarker>;
    return typeof m.id === 'string' ? { id: m.id, ...(typeof m.lastUsed === 'number' ? { lastUsed: m.lastUsed } : {}) } : null;
  } catch {
    return null;
  }
}

/**
 * The models under the OPFS folder `root`, found by their markers (the same layout as the Node
 * folder cache: `<file>`, `<file>%partial`, `<file>%partial.json`, `%model.json`). `lastUsed` is
 * the marker's last read, else the newest file's modification.
 */
export async function listOpfsModels(root: FileSystemDirectoryHandle): Promise<CachedModelInfo[]> {
  const models: CachedModelInfo[] = [];
  const visit = async (dir: OpfsDir, model: CachedModelInfo | null, rel: string[]): Promise<void> => {
    const marker = await readMarker(dir);
    if (marker) {
      model = { id: marker.id, files: [], bytes: 0, lastUsed: marker.lastUsed === undefined ? null : new Date(marker.lastUsed) };
      models.push(model);
      rel = [];
    }
    for await (const [name, handle] of dir.entries()) {
      if (handle.kind === 'directory') {
        await visit(handle as OpfsDir, model, [...rel, decodeKeyPart(name)]);
        continue;
      }
      if (!model || name === MODEL_MARKER || name.endsWith(LOCK_SUFFIX) || name.endsWith(PARTIAL_META_SUFFIX)) continue;
      let file: File;
      try {
        file = await (handle as FileSystemFileHandle).getFile();
      } catch (err) {
        // Deleted meanwhile, or locked by a sync handle being written: listed with what is known.
        if (isNotFound(err)) continue;
        file = new File([], name);
      }
      const complete = !name.endsWith(PARTIAL_SUFFIX);
      const base = complete ? name : name.slice(0, -PARTIAL_SUFFIX.length);
      const info: CachedFileInfo = { path: [...rel, decodeKeyPart(base)].join('/'), bytes: file.size, complete };
      model.files.push(info);
      model.bytes += file.size;
      if (file.lastModified > 0 && (model.lastUsed === null || file.lastModified > model.lastUsed.getTime())) model.lastUsed = new Date(file.lastModified);
    }
  };
  await visit(root as OpfsDir, null, []);
  for (const m of models) m.files.sort((a, b) => a.path.localeCompare(b.path));
  return models;
}

/**
 * Deletes the files of the model whose folder is the last of `chain` (root first), leaving any
 * other model nested below it, then removes the folders left empty up to the root.
 */
export async function deleteOpfsModel(chain: FileSystemDirectoryHandle[], names: string[]): Promise<void> {
  const clean = async (dir: OpfsDir, top: boolean): Promise<boolean> => {
    if (!top && (await readMarker(dir))) return false;
    let empty = true;
    const entries: [string, FileSystemHandle][] = [];
    for await (const entry of dir.entries()) entries.push(entry);
    for (const [name, handle] of entries) {
      if (handle.kind === 'directory' && !(await clean(handle as OpfsDir, false))) {
        empty = false;
        continue;
      }
      await dir.removeEntry(name, { recursive: handle.kind === 'directory' });
    }
    return empty;
  };
  await clean(chain[chain.length - 1]! as OpfsDir, true);
  // chain[i + 1] is names[i] inside chain[i]; a folder that is not empty stops the walk up.
  for (let i = names.length - 1; i >= 0; i--) {
    try {
      await chain[i]!.removeEntry(names[i]!);
    } catch {
      break;
    }
  }
}

