/** Reading a response body without letting its sender decide how much memory that takes. */

/** What `readCappedBody` got. */
export interface CappedBody {
  /** The body as UTF-8 text, or its first `maxBytes` bytes when `complete` is false. */
  text: string;
  /** False when the body went on past `maxBytes`: it was cut there and the rest cancelled. */
  complete: boolean;
}

/**
 * Reads at most `maxBytes` of `response`'s body, counting the bytes as they stream in and
 * cancelling the download (which closes the connection) the moment the count would pass the
 * limit, so an endless or huge body costs `maxBytes` at most. `fetch` undoes
 * `Content-Encoding` (gzip, deflate, br) before handing out chunks, and it decompresses only
 * as fast as they are read, so the count is of decompressed bytes and a compression bomb is
 * bounded too. Rejects as `fetch` does when the request's signal aborts mid-body.
 */
export async function readCappedBody(response: Response, maxBytes: number): Promise<CappedBody> {
  if (response.body === null) return { text: '', complete: true };
  const reader = response.body.getReader();
  // Decoding chunk by chunk keeps one copy of the body (the string) rather than chunks plus string.
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: text + decoder.decode(), complete: true };
    const room = maxBytes - bytes;
    if (value.byteLength > room) {
      text += decoder.decode(value.subarray(0, room), { stream: true });
      await reader.cancel().catch(() => undefined);
      return { text: text + decoder.decode(), complete: false };
    }
    bytes += value.byteLength;
    text += decoder.decode(value, { stream: true });
  }
}

/**
 * The body size `response` declares in `Content-Length`, or null when it declares none
 * (chunked) or an unreadable one. With `Content-Encoding` this is the encoded size.
 */
export function declaredLength(response: Response): number | null {
  const header = response.headers.get('content-length');
  if (header === null || !/^\s*\d+\s*$/.test(header)) return null;
  return Number(header);
}
