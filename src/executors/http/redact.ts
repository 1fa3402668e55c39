/**
 * A bearer token as RFC 6750 spells it (`b64token`), after `Bearer `. Servers echo the
 * `Authorization` header in error bodies; the token may not be ours (a proxy's, an upstream's),
 * and is scrubbed all the same.
 */
const BEARER_TOKEN = /\bBearer(\s+)(?!\[redacted\])[A-Za-z0-9\-._~+/]+=*/gi;

/**
 * `text` with every occurrence of `apiKey`, and every `Bearer <token>`, replaced by
 * `[redacted]`. Run it on whole texts, before any truncation: a key cut in half by a
 * truncation no longer matches, and its first half would be shown.
 */
export function redactSecrets(text: string, apiKey: string | null): string {
  const withoutKey = apiKey ? text.split(apiKey).join('[redacted]') : text;
  return withoutKey.replace(BEARER_TOKEN, 'Bearer$1[redacted]');
}
