import type { ModelSource } from './model-source.js';

/** What a resumable download asks for: the file from byte `start`, if it still is the same file. */
export interface RangeRequest {
  /** First byte wanted; 0 asks for the whole file. */
  start: number;
  /** The validator (strong ETag or Last-Modified) the stored bytes came with; sent as `If-Range`. */
  ifRange?: string | null;
  signal?: AbortSignal;
}

/** The answer to a `RangeRequest`. */
export interface RangeResponse {
  stream: ReadableStream<Uint8Array>;
  /**
   * The file offset the body starts at: the requested `start` when the server honoured the range
   * (206), 0 when it sent the whole file (no range support, or the file changed).
   */
  offset: number;
  /** The whole file's size, when stated (the total of `Content-Range`, else `Content-Length`). */
  size: number | null;
  /** Lower-case hex SHA-256, when the server states it (Hub LFS files). */
  sha256: string | null;
  /** A strong ETag or Last-Modified to resume with later, or null when the server gave none. */
  validator: string | null;
  /** Where the bytes come from, for errors (a URL). */
  location: string;
}

/** A source whose files can be fetched from an offset (HTTP `Range`), for resumable downloads. */
export interface RangeModelSource extends ModelSource {
  /** Takes a path already checked by `normalizeModelPath`. */
  fetchRange(path: string, request: RangeRequest): Promise<RangeResponse>;
}

/** Whether `source` can resume downloads. */
export function supportsRange(source: ModelSource): source is RangeModelSource {
  return typeof (source as Partial<RangeModelSource>).fetchRange === 'function';
}

/** Parses `Content-Range: bytes <first>-<last>/<total|*>`; null when malformed. */
export function parseContentRange(value: string | null): { first: number; last: number; total: number | null } | null {
  const m = value === null ? null : /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value.trim());
  if (!m) return null;
  const first = Number(m[1]);
  const last = Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last < first || (total !== null && (!Number.isSafeInteger(total) || last >= total))) return null;
  return { first, last, total };
}
