import type { IncomingMessage } from 'node:http';
import { AbortError } from '../api/errors.js';
import { HttpError } from './errors.js';
import { jsonDepthExceededAt } from '../io/json-depth.js';

/** Limits and hooks of `readJsonBody`. */
export interface JsonBodyLimits {
  /** Largest body, in bytes: a larger declared or actual size is 413. */
  maxBytes: number;
  /** Deepest nesting of arrays and objects: deeper is 400. */
  maxDepth: number;
  /**
   * Called once the headers passed (Content-Type, Content-Length), before any of the body is
   * read: where a client waiting on `Expect: 100-continue` is told to send it.
   */
  beforeRead?: () => void;
}

/**
 * Reads a request body of at most `maxBytes` and parses it as JSON. A declared or actual size
 * over the limit is 413 (read no further than the limit), a Content-Type other than JSON is
 * 415, malformed JSON (or text that is not UTF-8) is 400, and so is JSON nested deeper than
 * `maxDepth` (checked before parsing: nothing downstream has to survive a 10,000-level array).
 * A connection that closes before the body is complete rejects with `AbortError`.
 */
export async function readJsonBody(req: IncomingMessage, limits: JsonBodyLimits): Promise<unknown> {
  const { maxBytes, maxDepth } = limits;
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, `Content-Type must be application/json, got ${type === '' ? 'none' : JSON.stringify(type.slice(0, 100))}.`);
  }
  const tooLarge = (size: string): HttpError => new HttpError(413, `The request body (${size}) is over the limit of ${maxBytes} bytes.`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(`${declared} bytes`);
  limits.beforeRead?.();
  const body = await readAtMost(req, maxBytes);
  if (body === null) throw tooLarge(`more than ${maxBytes} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new HttpError(400, 'The request body is not valid UTF-8.');
  }
  if (jsonDepthExceededAt(text, maxDepth) >= 0) {
    throw new HttpError(400, `The request body nests arrays or objects more than ${maxDepth} levels deep, the limit of this server; send a flat object such as {"prompt": "a cat"}.`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, `The request body is not valid JSON: ${err instanceof Error ? err.message.slice(0, 200) : 'parse error'}`);
  }
}

/**
 * The body, or null once it passes `maxBytes`: reading then stops (the caller answers 413 and
 * closes the connection). Listeners, not async iteration, because leaving an iteration early
 * destroys the socket before the 413 could be sent. A connection that goes away (the client,
 * or the server's request timeout) rejects, so the handler never waits for an `end` that
 * cannot come.
 */
function readAtMost(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new AbortError(`The connection failed before the request body arrived (${size} bytes read): ${err.message}`, { cause: err }));
    };
    const onClose = (): void => {
      cleanup();
      reject(new AbortError(`The connection closed before the request body arrived (${size} bytes read).`));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
