import type { IncomingMessage } from 'node:http';
import { HttpError } from './errors.js';

/**
 * Reads a request body of at most `maxBytes` and parses it as JSON. A declared or actual size
 * over the limit is 413 (read no further than the limit), a Content-Type other than JSON is
 * 415, and malformed JSON (or text that is not UTF-8) is 400.
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new HttpError(415, `Content-Type must be application/json, got ${type === '' ? 'none' : `"${type}"`}.`);
  }
  const tooLarge = (size: string): HttpError => new HttpError(413, `The request body (${size}) is over the limit of ${maxBytes} bytes.`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(`${declared} bytes`);
  const body = await readAtMost(req, maxBytes);
  if (body === null) throw tooLarge(`more than ${maxBytes} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new HttpError(400, 'The request body is not valid UTF-8.');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, `The request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * The body, or null once it passes `maxBytes`: reading then stops (the caller answers 413 and
 * closes the connection). Listeners, not async iteration, because leaving an iteration early
 * destroys the socket before the 413 could be sent.
 */
function readAtMost(req: IncomingMessage, maxBytes: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
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
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}
