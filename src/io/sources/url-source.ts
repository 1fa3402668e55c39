import { AbortError } from '../../api/errors.js';
import type { ByteStream } from '../byte-source.js';
import { ModelFileNotFoundError, ModelSourceError } from '../errors.js';
import { BaseModelSource } from './model-source.js';

/** Options of `UrlSource`. */
export interface UrlSourceOptions {
  /** Extra request headers (e.g. `Authorization`). Never copied into error messages. */
  headers?: Record<string, string>;
  /** `fetch` implementation; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Cache key prefix; default the base URL. */
  id?: string;
}

/** A model served under a base URL: `path` is fetched from `<baseUrl>/<path>`. */
export class UrlSource extends BaseModelSource {
  readonly id: string;
  readonly baseUrl: string;
  private readonly headers: Record<string, string>;
  private readonly fetchImpl: typeof fetch;

  constructor(baseUrl: string, options: UrlSourceOptions = {}) {
    super();
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch (cause) {
      throw new ModelSourceError('', baseUrl, `Invalid model base URL "${baseUrl}".`, null, { cause });
    }
    this.baseUrl = url.href.endsWith('/') ? url.href : `${url.href}/`;
    this.id = options.id ?? this.baseUrl;
    this.headers = options.headers ?? {};
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** The URL a model path is fetched from. */
  urlOf(path: string): string {
    return new URL(path.split('/').map(encodeURIComponent).join('/'), this.baseUrl).href;
  }

  protected async open(path: string, signal: AbortSignal | undefined): Promise<ByteStream> {
    const url = this.urlOf(path);
    let response: Response;
    try {
      response = await this.fetchImpl(url, { headers: this.headers, signal: signal ?? null });
    } catch (cause) {
      if (signal?.aborted) throw new AbortError(`Fetching ${url} was cancelled.`, { cause });
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new ModelSourceError(path, url, `GET ${url} failed: ${reason}`, null, { cause });
    }
    if (response.status === 404) {
      await response.body?.cancel();
      throw new ModelFileNotFoundError(path, url, `The model has no file "${path}" (GET ${url} answered 404).`, 404);
    }
    if (!response.ok) {
      await response.body?.cancel();
      const hint = response.status === 401 || response.status === 403 ? ' The model may be private or gated: pass an access token.' : '';
      throw new ModelSourceError(path, url, `GET ${url} answered HTTP ${response.status}.${hint}`, response.status);
    }
    return { stream: response.body ?? new ReadableStream({ start: (c) => c.close() }), size: contentLength(response) };
  }
}

/** The body's size, when the server states it and the body is not re-encoded on the way. */
function contentLength(response: Response): number | null {
  const header = response.headers.get('content-length');
  if (header === null || response.headers.get('content-encoding')) return null;
  const n = Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}
