/**
 * Turns a server's error body into one readable line. Servers disagree on the shape:
 * FastAPI sends `{detail: "..."}` or `{detail: [{loc, msg}, ...]}` (validation), OpenAI-style
 * servers `{error: {message}}`, AUTOMATIC1111 `{error, detail}`.
 */

const MAX_DETAIL_CHARS = 500;

/**
 * The readable error of a JSON (or plain-text) error body, or null when it carries none.
 * `redact` runs on the rendered detail before it is truncated, so that a secret cut in half
 * by the truncation cannot slip through (JSON escapes mean the raw body may not show it as is).
 */
export function errorDetailOf(bodyText: string, redact: (text: string) => string = (text) => text): string | null {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    const text = bodyText.trim();
    return text.length > 0 && !text.startsWith('<') ? truncate(redact(text)) : null;
  }
  if (typeof body !== 'object' || body === null) return typeof body === 'string' && body.length > 0 ? truncate(redact(body)) : null;
  const b = body as Record<string, unknown>;
  const rendered = renderDetail(b.detail) ?? renderDetail(b.error) ?? renderDetail(b.message);
  return rendered === null ? null : truncate(redact(rendered));
}

/**
 * Renders a `detail` value: a string as is; a FastAPI validation list as
 * `loc: msg; loc: msg` (with the leading `body` of `loc` dropped, since every field is in
 * the body); an object by its `message` or `msg`, else as JSON.
 */
export function renderDetail(detail: unknown): string | null {
  if (detail === undefined || detail === null) return null;
  if (typeof detail === 'string') return detail.length > 0 ? detail : null;
  if (Array.isArray(detail)) {
    const parts = detail.map((item) => renderItem(item)).filter((s) => s.length > 0);
    return parts.length > 0 ? parts.join('; ') : null;
  }
  if (typeof detail === 'object') return renderItem(detail);
  return String(detail);
}

function renderItem(item: unknown): string {
  if (typeof item === 'string') return item;
  if (typeof item !== 'object' || item === null) return String(item);
  const o = item as Record<string, unknown>;
  const msg = typeof o.msg === 'string' ? o.msg : typeof o.message === 'string' ? o.message : null;
  if (msg === null) return JSON.stringify(item);
  const loc = Array.isArray(o.loc) ? o.loc.map(String) : [];
  if (loc[0] === 'body') loc.shift();
  return loc.length > 0 ? `${loc.join('.')}: ${msg}` : msg;
}

function truncate(text: string): string {
  return text.length > MAX_DETAIL_CHARS ? `${text.slice(0, MAX_DETAIL_CHARS - 3)}...` : text;
}
