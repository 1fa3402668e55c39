/** Bytes of one file read so far. `total` is null while the size is unknown. */
export interface ByteProgress {
  file: string;
  loaded: number;
  total: number | null;
  /**
   * Where the bytes come from: `network` (a download), `cache` (the model cache: a load event
   * `cached`, not a download), `local` (a folder, `File` or `Blob`). Absent: not known (`network`).
   */
  origin?: 'network' | 'cache' | 'local';
  /** Bytes already stored by an interrupted download that this read resumed; counted in `loaded`. */
  resumedBytes?: number;
}

/** Receives byte-level progress. */
export type ProgressCallback = (progress: ByteProgress) => void;

/** A file as a stream of bytes, with its size when known up front. */
export interface ByteStream {
  stream: ReadableStream<Uint8Array>;
  size: number | null;
}

import type { Stats } from 'node:fs';
import { AbortError } from '../api/errors.js';
import { FileReadError, FileTooLargeError, NotRegularFileError } from './errors.js';

/** A file on the local disk (Node only), read in chunks rather than loaded whole. */
export interface NodeFilePath {
  nodePath: string;
}

/**
 * Anything that can deliver a file's bytes: a stream (of a `fetch` body, say), a `Blob`/`File`,
 * bytes already in memory, an opened `ByteStream`, or a Node file path.
 */
export type ByteSource = ReadableStream<Uint8Array> | Blob | ArrayBuffer | ArrayBufferView | ByteStream | NodeFilePath;

/** Chunk size for reads from disk and from Blobs: large enough to amortise calls, small next to a weights file. */
const READ_CHUNK_BYTES = 4 << 20;

/** Turns any `ByteSource` into a stream, without reading it whole. */
export async function openByteSource(source: ByteSource): Promise<ByteStream> {
  if (source instanceof ReadableStream) return { stream: source, size: null };
  if (typeof Blob !== 'undefined' && source instanceof Blob) return { stream: blobStream(source), size: source.size };
  if (source instanceof ArrayBuffer) return { stream: bytesStream(new Uint8Array(source)), size: source.byteLength };
  if (ArrayBuffer.isView(source)) {
    const bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return { stream: bytesStream(bytes), size: bytes.byteLength };
  }
  if ('nodePath' in source) return openNodeFile(source.nodePath);
  return source as ByteStream;
}

/**
 * Opens a regular file on disk as a pull stream of exactly the size it had when opened: a file
 * that grows meanwhile is read to that size, one that shrinks fails with `FileReadError`, so a
 * read never loops on a file without end. FIFOs, devices, sockets and directories, also behind
 * a symlink, fail with `NotRegularFileError` before any read (and a FIFO is never waited on).
 * The file is closed when the stream ends or is cancelled.
 */
export async function openNodeFile(path: string): Promise<ByteStream> {
  const fs = await import('node:fs/promises');
  // stat follows symlinks: `config.json -> /dev/zero` is refused here, before it is opened.
  checkRegular(await fs.stat(path), path);
  const { constants } = await import('node:fs');
  // O_NONBLOCK: should the path become a FIFO between stat and open, open must not wait for a writer.
  const handle = await fs.open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0));
  let size: number;
  try {
    const stats = await handle.stat();
    checkRegular(stats, path);
    size = stats.size;
  } catch (err) {
    await handle.close();
    throw err;
  }
  let position = 0;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (position >= size) {
          await close();
          controller.close();
          return;
        }
        const chunk = new Uint8Array(Math.min(READ_CHUNK_BYTES, size - position));
        const { bytesRead } = await handle.read(chunk, 0, chunk.byteLength, position);
        if (bytesRead === 0) {
          throw new FileReadError(path, `${path} ended at byte ${position} of the ${size} it had when opened: it was truncated or replaced while being read; read it again once it is complete.`);
        }
        position += bytesRead;
        controller.enqueue(bytesRead === chunk.byteLength ? chunk : chunk.subarray(0, bytesRead));
      } catch (err) {
        await close().catch(() => undefined);
        controller.error(err);
      }
    },
    cancel: close,
  });
  return { stream, size };
}

/** Throws `NotRegularFileError` unless `stats` is a regular file's. */
function checkRegular(stats: Stats, path: string): void {
  if (stats.isFile()) return;
  const kind = stats.isFIFO()
    ? 'FIFO'
    : stats.isCharacterDevice()
      ? 'character device'
      : stats.isBlockDevice()
        ? 'block device'
        : stats.isSocket()
          ? 'socket'
          : stats.isDirectory()
            ? 'directory'
            : 'special file';
  throw new NotRegularFileError(path, kind);
}

function blobStream(blob: Blob): ReadableStream<Uint8Array> {
  let position = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (position >= blob.size) {
        controller.close();
        return;
      }
      const end = Math.min(position + READ_CHUNK_BYTES, blob.size);
      const chunk = new Uint8Array(await blob.slice(position, end).arrayBuffer());
      position = end;
      controller.enqueue(chunk);
    },
  });
}

function bytesStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

/**
 * A response's body as a stream of its own, for callers that keep the stream but not the
 * `Response`. The body's reader is taken at once, so the body no longer depends on the
 * `Response` staying alive: Node's `fetch` (undici) cancels the body of a `Response` that is
 * garbage collected while that body is unlocked and unread, and a download that awaits other
 * work before its first read (creating the cache writer) then read 0 bytes. Chunks are passed
 * on as read, one per pull; a cancel reaches the body with its reason, a body error the reader.
 */
export function responseBody(response: Response): ReadableStream<Uint8Array> {
  const body = response.body;
  if (!body) return bytesStream(new Uint8Array(0));
  const reader = body.getReader();
  let cancelled = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        // A cancel during the read ends it with done, and the stream is already closed.
        if (cancelled) return;
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        cancelled = true;
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Passes a stream through unchanged, calling `onProgress` after every chunk and once at the end
 * (so a consumer always sees the final count, even for an empty file). `tags` (the bytes'
 * origin, resumed bytes) are copied into every event.
 */
export function withProgress(
  stream: ReadableStream<Uint8Array>,
  file: string,
  total: number | null,
  onProgress: ProgressCallback,
  tags: Pick<ByteProgress, 'origin' | 'resumedBytes'> = {},
): ReadableStream<Uint8Array> {
  let loaded = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        loaded += chunk.byteLength;
        controller.enqueue(chunk);
        onProgress({ file, loaded, total, ...tags });
      },
      flush() {
        onProgress({ file, loaded, total: total ?? loaded, ...tags });
      },
    }),
  );
}

/** A cap on the bytes `readAllBytes` buffers, and the file it names when the stream runs past it. */
export interface ReadLimit {
  maxBytes: number;
  file: string;
}

/**
 * Reads a whole stream into one buffer. For small files (configs, vocabularies) and tests.
 * With `limit`, a stream that runs past `limit.maxBytes` is cancelled and fails with
 * `FileTooLargeError`, so a source that never ends cannot fill the memory.
 */
export async function readAllBytes(stream: ReadableStream<Uint8Array>, signal?: AbortSignal, limit?: ReadLimit): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const reader = stream.getReader();
  try {
    for (;;) {
      throwIfAborted(signal);
      const { done, value } = await reader.read();
      if (done) break;
      length += value.byteLength;
      if (limit && length > limit.maxBytes) throw new FileTooLargeError(limit.file, null, limit.maxBytes);
      chunks.push(value);
    }
  } catch (err) {
    reader.cancel(err).catch(() => undefined);
    throw err;
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Throws this library's `AbortError` (not a DOMException) when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError('Loading was cancelled.', { cause: signal.reason });
}
