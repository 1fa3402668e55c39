import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './errors.js';

/** What a bearer token may hold: visible ASCII (RFC 6750's token68 and more), nothing a header cannot carry. */
export const API_KEY_PATTERN = /^[\x21-\x7e]+$/;

/**
 * Checks `Authorization: Bearer <key>` against the server's key, in constant time: both sides
 * are hashed to 32 bytes first, so neither the key's content nor its length shows in how long
 * a wrong guess takes. A missing or wrong key is a 401 with `WWW-Authenticate: Bearer` (with
 * `error="invalid_token"` for a wrong one, as RFC 6750 asks); the key sent is never echoed.
 */
export class ApiKeyCheck {
  readonly #digest: Buffer;

  constructor(apiKey: string) {
    this.#digest = digest(apiKey);
  }

  /** Throws the 401 unless `authorization` (the header as received) carries the key. */
  check(authorization: string | undefined): void {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    if (!match) {
      throw new HttpError(401, 'This server needs an API key: send it as "Authorization: Bearer <key>".', { 'www-authenticate': 'Bearer' });
    }
    if (!timingSafeEqual(digest(match[1]!), this.#digest)) {
      throw new HttpError(401, 'The API key is not valid for this server.', { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
