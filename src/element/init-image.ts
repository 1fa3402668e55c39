import { ElementAttributeError } from './errors.js';

const EXPECTED = 'the URL of an image the page can load';

/**
 * Fetches and decodes the `init-image` URL. Network, HTTP and decoding failures become an
 * `ElementAttributeError` naming the attribute and the cause; an abort stays an `AbortError`.
 */
export async function loadInitImage(url: string, raw: string, signal: AbortSignal): Promise<ImageBitmap> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new ElementAttributeError('init-image', raw, `${EXPECTED} (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!response.ok) throw new ElementAttributeError('init-image', raw, `${EXPECTED} (HTTP ${response.status})`);
  const blob = await response.blob();
  try {
    return await createImageBitmap(blob);
  } catch {
    throw new ElementAttributeError('init-image', raw, `an image the browser can decode (got ${blob.type || 'an unknown type'}, ${blob.size} bytes)`);
  }
}
