import { CacheError, StorageQuotaError } from './errors.js';
import { storageAvailable } from './storage-persist.js';
import { canUseWriterWorker, openWorkerSink } from './opfs-writer.js';

/** The synchronous access handle of dedicated workers (OPFS only), typed here for the parts used. */
export interface SyncAccessHandle {
  read(into: Uint8Array, options: { at: number }): number;
  write(from: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  flush(): void;
  close(): void;
}

/** A file handle with the methods some browsers lack (`createWritable` in Safari workers, `move`). */
export type OpfsFileHandle = FileSystemFileHandle & {
  createSyncAccessHandle?: () => Promise<SyncAccessHandle>;
  move?: (name: string) => Promise<void>;
};

export type OpfsDir = FileSystemDirectoryHandle & { entries(): AsyncIterable<[string, FileSystemHandle]> };

/** Where one file's bytes go while it downloads. */
export interface OpfsSink {
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the bytes so far durable and closes the file. */
  close(): Promise<void>;
  /** Closes without keeping what this sink wrote where the store allows it (`createWritable`). */
  abort(): Promise<void>;
  /** Reads up to `n` stored bytes at `at` while the sink is open: a sync handle locks its file against other readers. */
  read?(at: number, n: number): Promise<Uint8Array>;
}

/** A sync handle is flushed this often, so a closed tab loses at most this much of a download. */
const FLUSH_EVERY = 16 << 20;

/**
 * How a download is written: `auto` picks `sync` where this context has sync access handles (a
 * dedicated worker, where the engine runs), else `worker` in a window, else `writable`.
 * - `sync`: bytes land in the file itself, flushed every 16 MiB, so a reload, a closed tab or a
 *   failed write (a full quota) keeps them for a resume.
 * - `worker`: the same, through a small writer worker a window starts (`openWorkerSink`).
 * - `writable`: `createWritable`'s stream, which Chromium writes to a swap file on disk (never
 *   memory) that replaces the file on `close`: bytes survive a network error or a cancel (the
 *   store suspends, which closes) but not a closed tab or a failed write.
 */
export type OpfsWriteMode = 'auto' | 'sync' | 'worker' | 'writable';

/** Opens `handle` for writing from byte `offset` (the bytes before it are kept, the rest dropped); see `OpfsWriteMode`. */
export async function openSink(handle: OpfsFileHandle, offset: number, mode: OpfsWriteMode): Promise<OpfsSink> {
  const hasSync = typeof handle.createSyncAccessHandle === 'function';
  if (mode === 'worker' || (mode === 'auto' && !hasSync && canUseWriterWorker())) return openWorkerSink(handle, offset);
  if (mode === 'sync' || (mode === 'auto' && hasSync)) {
    if (!hasSync) throw new Error('sync access handles are not available in this context');
    const h = await handle.createSyncAccessHandle();
    h.truncate(offset);
    let at = offset;
    let unflushed = 0;
    let open = true;
    return {
      write(chunk) {
        for (let done = 0; done < chunk.byteLength; ) {
          const n = h.write(chunk.subarray(done), { at });
          if (n <= 0) throw new Error(`the file system wrote ${n} bytes`);
          done += n;
          at += n;
        }
        unflushed += chunk.byteLength;
        if (unflushed >= FLUSH_EVERY) {
          h.flush();
          unflushed = 0;
        }
        return Promise.resolve();
      },
      close() {
        if (!open) return Promise.resolve();
        open = false;
        try {
          h.flush();
        } finally {
          h.close();
        }
        return Promise.resolve();
      },
      abort() {
        if (open) h.close();
        open = false;
        return Promise.resolve();
      },
      read: (pos, n) => {
        const into = new Uint8Array(n);
        return Promise.resolve(into.subarray(0, h.read(into, { at: pos })));
      },
    };
  }
  const w = await handle.createWritable({ keepExistingData: offset > 0 });
  // (`writable`, or `auto` where neither sync handles nor a writer worker are available.)
  if (offset > 0) {
    await w.truncate(offset);
    await w.seek(offset);
  }
  return {
    write: (chunk) => w.write(chunk as Uint8Array<ArrayBuffer>),
    close: () => w.close(),
    abort: () => w.abort(),
  };
}

/**
 * `[start, end)` of a file as a stream of slices read on demand: never the whole file in memory.
 * `read` gets a fresh view each time, so a file whose writer appends meanwhile reads correctly.
 */
export function sliceStream(read: (at: number, n: number) => Promise<Uint8Array>, start: number, end: number, chunk = 1 << 20): ReadableStream<Uint8Array> {
  let at = start;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const n = Math.min(chunk, end - at);
      if (n <= 0) {
        controller.close();
        return;
      }
      const bytes = await read(at, n);
      if (bytes.byteLength === 0) {
        controller.error(new Error(`the stored file ended at byte ${at} of ${end}`));
        return;
      }
      at += bytes.byteLength;
      controller.enqueue(bytes);
    },
  });
}

/** Reads `n` bytes at `at` of a Blob (a File from OPFS). */
export async function readBlob(blob: Blob, at: number, n: number): Promise<Uint8Array> {
  return new Uint8Array(await blob.slice(at, at + n).arrayBuffer());
}

/** The text of `name` in `dir`, or null when there is no such file. */
export async function readText(dir: FileSystemDirectoryHandle, name: string): Promise<string | null> {
  try {
    return await (await dir.getFileHandle(name)).getFile().then((f) => f.text());
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Writes a small file whole (metadata), with whichever writer this context has. */
export async function writeText(dir: FileSystemDirectoryHandle, name: string, text: string): Promise<void> {
  const handle = (await dir.getFileHandle(name, { create: true })) as OpfsFileHandle;
  const bytes = new TextEncoder().encode(text);
  if (typeof handle.createWritable === 'function') {
    const w = await handle.createWritable();
    await w.write(bytes);
    await w.close();
    return;
  }
  const sink = await openSink(handle, 0, 'auto');
  await sink.write(bytes);
  await sink.close();
}

/** Renames `from` to `to` in `dir`, replacing `to`; copies where `move` is missing. */
export async function moveFile(dir: FileSystemDirectoryHandle, from: string, to: string): Promise<void> {
  const source = (await dir.getFileHandle(from)) as OpfsFileHandle;
  await removeQuietly(dir, to);
  if (typeof source.move === 'function') {
    await source.move(to);
    return;
  }
  const file = await source.getFile();
  const sink = await openSink((await dir.getFileHandle(to, { create: true })) as OpfsFileHandle, 0, 'auto');
  const reader = sliceStream((at, n) => readBlob(file, at, n), 0, file.size).getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) await sink.write(r.value);
  await sink.close();
  await dir.removeEntry(from);
}

/** Removes an entry; a missing one is no error. */
export async function removeQuietly(dir: FileSystemDirectoryHandle, name: string, recursive = false): Promise<void> {
  try {
    await dir.removeEntry(name, { recursive });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export function isNotFound(err: unknown): boolean {
  const name = (err as { name?: unknown }).name;
  return name === 'NotFoundError' || name === 'TypeMismatchError';
}

/** An OPFS failure as a `CacheError`; a full quota is a `StorageQuotaError` with the bytes needed and free. */
export async function toOpfsError(err: unknown, key: string, what: string, needed: number | null = null): Promise<CacheError> {
  if (err instanceof CacheError) return err;
  const name = (err as { name?: unknown }).name;
  const reason = err instanceof Error ? err.message : String(err);
  if (name === 'QuotaExceededError') {
    const available = await storageAvailable();
    const numbers = [needed === null ? '' : `${needed} more bytes needed`, available === null ? '' : `${available} available`].filter(Boolean).join(', ');
    return new StorageQuotaError(
      key,
      needed,
      available,
      `${what}: this site's storage quota is full (${reason})${numbers ? `; ${numbers}` : ''}. The bytes so far are kept and the next load resumes; free space with deleteCachedModel() or clearModelCache().`,
      { cause: err },
    );
  }
  if (name === 'NoModificationAllowedError') {
    return new CacheError(key, `${what}: the file is open for writing elsewhere (another tab or worker): ${reason}`, { cause: err });
  }
  return new CacheError(key, `${what}: ${reason}`, { cause: err });
}
