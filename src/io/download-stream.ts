import { AbortError, OmniDiffusionError } from '../api/errors.js';
import type { CacheWriter } from './cache.js';
import { CacheError, CorruptDownloadError, ModelSourceError } from './errors.js';
import { createSha256, type IncrementalHash } from './hash.js';

/** What `verifiedWriteThrough` streams, stores and checks. */
export interface DownloadStreamOptions {
  /** Bytes already stored by an interrupted download: handed to the reader and hashed, not written again. */
  prefix?: ReadableStream<Uint8Array>;
  /** The network body: the rest of the file. */
  body: ReadableStream<Uint8Array>;
  writer: CacheWriter;
  key: string;
  /** The model path and where it came from, for errors. */
  path: string;
  location: string;
  /** The whole file's stated size and SHA-256; null when not stated. */
  expected: { size: number | null; sha256: string | null };
  /** The load's signal: an error after it fired is reported as `AbortError`. */
  signal?: AbortSignal;
  /** Runs once the download is settled (committed, suspended or dropped): releases the key's lock. */
  onSettle?: () => Promise<void>;
  /** Runs on every chunk: keeps the key's lock fresh while bytes move. */
  onActivity?: () => void;
}

/**
 * The whole file for the reader (the stored prefix, then the body) while the body is written to
 * the cache. At the end the size and, when stated, the SHA-256 are checked: a match commits the
 * file, a mismatch deletes it and fails the read with `CorruptDownloadError`. A network error, a
 * write error (a full disk) or a cancel before the end suspends the writer, keeping the bytes for
 * a later resume. A reader that cancels right after the last byte of a file of known size (as the
 * safetensors reader does) has seen the whole file: it is checked and kept.
 */
export function verifiedWriteThrough(options: DownloadStreamOptions): ReadableStream<Uint8Array> {
  const { writer, key, path, location, expected } = options;
  let prefix = options.prefix?.getReader() ?? null;
  const body = options.body.getReader();
  let hash: IncrementalHash | null | undefined;
  let total = 0;
  let settled = false;

  const settle = async (how: 'commit' | 'suspend' | 'drop') => {
    if (settled) return;
    settled = true;
    try {
      if (how === 'commit') await writer.commit();
      else if (how === 'suspend' && writer.suspend) await writer.suspend().catch(() => undefined);
      else await writer.abort().catch(() => undefined);
    } finally {
      await options.onSettle?.().catch(() => undefined);
    }
  };
  const corrupt = (actualSha256: string | null) =>
    new CorruptDownloadError(path, location, { size: expected.size, sha256: expected.sha256 }, { size: total, sha256: actualSha256 });
  /** Checks the whole file; resolves with the error to fail with, or null once committed. */
  const finish = async (): Promise<Error | null> => {
    if (expected.size !== null && total !== expected.size) {
      await settle('drop');
      return corrupt(null);
    }
    if (hash) {
      const actual = hash.digestHex();
      if (actual !== expected.sha256) {
        await settle('drop');
        return corrupt(actual);
      }
    }
    await settle('commit');
    return null;
  };

  return new ReadableStream<Uint8Array>({
    async start() {
      hash = expected.sha256 ? await createSha256() : null;
    },
    async pull(controller) {
      options.onActivity?.();
      try {
        if (prefix) {
          const { done, value } = await prefix.read();
          if (!done) {
            hash?.update(value);
            total += value.byteLength;
            controller.enqueue(value);
            return;
          }
          prefix = null;
        }
        const { done, value } = await body.read();
        if (done) {
          const err = await finish();
          if (err) controller.error(err);
          else controller.close();
          return;
        }
        if (expected.size !== null && total + value.byteLength > expected.size) {
          total += value.byteLength;
          await settle('drop');
          body.cancel().catch(() => undefined);
          controller.error(corrupt(null));
          return;
        }
        await writer.write(value);
        hash?.update(value);
        total += value.byteLength;
        controller.enqueue(value);
      } catch (err) {
        await settle('suspend');
        body.cancel(err).catch(() => undefined);
        prefix?.cancel(err).catch(() => undefined);
        controller.error(
          options.signal?.aborted
            ? new AbortError(`Loading "${path}" was cancelled; the bytes so far are kept for a resume.`, { cause: options.signal.reason })
            : wrap(err, key, path, location, total, expected.size),
        );
      }
    },
    async cancel(reason) {
      // Not awaited, as a tee()d source settles its cancel only when all its branches cancel.
      body.cancel(reason).catch(() => undefined);
      prefix?.cancel(reason).catch(() => undefined);
      if (expected.size !== null && total === expected.size) await finish().catch(() => undefined);
      else await settle('suspend').catch(() => undefined);
    },
  });
}

function wrap(err: unknown, key: string, path: string, location: string, at: number, size: number | null): unknown {
  // Typed errors (cache, quota, source, abort) keep their type.
  if (err instanceof OmniDiffusionError) return err;
  if (err instanceof Error) {
    const of = size === null ? '' : ` of ${size}`;
    return new ModelSourceError(
      path,
      location,
      `The download of "${path}" from ${location} broke off at byte ${at}${of}: ${err.message}. The bytes so far are kept; loading again resumes from there.`,
      null,
      { cause: err },
    );
  }
  return new CacheError(key, `Caching ${key} failed: ${String(err)}`);
}
