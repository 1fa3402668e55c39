import { AbortError } from '../../api/errors.js';
import { responseBody } from '../byte-source.js';
import { ModelFileNotFoundError, ModelSourceError } from '../errors.js';
import { sha256FromEtag } from '../hash.js';
import { BaseModelSource, type FileStat, type OpenedFile } from './model-source.js';
import { parseContentRange, type RangeModelSource, type RangeRequest, type RangeResponse } from './range-source.js';

/** Options of `UrlSource`. */
export interface UrlSourceOptions {
  /** Extra request headers (e.g. `Authorization`). Never copied into error messages. */
  headers?: Record<string, string>;
  /** `fetch` implementation; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Cache key prefix; default the base URL. */
  id?: string;
}

/**
 * A model served under a base URL: `path` is fetched from `<baseUrl>/<path>`. Downloads can
 * resume (`fetchRange`, HTTP `Range` + `If-Range`), and `stat` is a HEAD request.
 */
export class UrlSource extends BaseModelSource implements RangeModelSource {
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

  protected async open(path: string, signal: AbortSignal | undefined): Promise<OpenedFile> {
    const response = await this.request(path, 'GET', {}, signal);
    return { stream: responseBody(response), size: contentLength(response), origin: 'network' };
  }

  async fetchRange(path: string, request: RangeRequest): Promise<RangeResponse> {
    const headers: Record<string, string> = {};
    if (request.start > 0) {
      headers.range = `bytes=${request.start}-`;
      if (request.ifRange) headers['if-range'] = request.ifRange;
    }
    const url = this.urlOf(path);
    const response = await this.request(path, 'GET', headers, request.signal);
    const common = { sha256: this.sha256Of(response.headers), validator: validatorOf(response.headers), location: url };
    if (response.status === 206) {
      const range = parseContentRange(response.headers.get('content-range'));
      if (!range || range.first !== request.start) {
        await response.body?.cancel();
        throw new ModelSourceError(path, url, `GET ${url} with Range bytes=${request.start}- answered 206 with Content-Range "${response.headers.get('content-range') ?? ''}".`, 206);
      }
      return { stream: responseBody(response), offset: range.first, size: range.total, ...common };
    }
    // A 200 is the whole file: the server ignores Range, or If-Range saw a changed file.
    return { stream: responseBody(response), offset: 0, size: this.statedSize(response), ...common };
  }

  /** A HEAD request; a server that refuses HEAD (405, 501) is asked with a GET that is not read. */
  protected override async statPath(path: string, signal: AbortSignal | undefined): Promise<FileStat> {
    let response: Response;
    try {
      response = await this.request(path, 'HEAD', {}, signal);
    } catch (err) {
      if (err instanceof ModelSourceError && (err.status === 405 || err.status === 501)) return super.statPath(path, signal);
      throw err;
    }
    const sha256 = this.sha256Of(response.headers);
    return { size: this.statedSize(response), ...(sha256 ? { sha256 } : {}) };
  }

  /** The SHA-256 a response states; here only the Hub's `X-Linked-ETag`, which is one for LFS files. */
  protected sha256Of(headers: Headers): string | null {
    return sha256FromEtag(headers.get('x-linked-etag'));
  }

  /** The file's size: the Hub's `X-Linked-Size` for LFS files, else the body's length. */
  protected statedSize(response: Response): number | null {
    const linked = parseSize(response.headers.get('x-linked-size'));
    return linked ?? contentLength(response);
  }

  /** Sends a request; network failures, 404 and other error statuses become typed errors. */
  protected async request(
    path: string,
    method: 'GET' | 'HEAD',
    extra: Record<string, string>,
    signal: AbortSignal | undefined,
    redirect: RequestRedirect = 'follow',
  ): Promise<Response> {
    const url = this.urlOf(path);
    let response: Response;
    try {
      response = await this.fetchImpl(url, { method, headers: { ...this.headers, ...extra }, signal: signal ?? null, redirect });
    } catch (cause) {
      if (signal?.aborted) throw new AbortError(`Fetching ${url} was cancelled.`, { cause });
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new ModelSourceError(path, url, `${method} ${url} failed: ${reason}`, null, { cause });
    }
    if (response.status === 404) {
      await response.body?.cancel();
      throw new ModelFileNotFoundError(path, url, `The model has no file "${path}" (${method} ${url} answered 404).`, 404);
    }
    if (!response.ok && !(redirect === 'manual' && isRedirect(response))) {
      await response.body?.cancel();
      const hint = response.status === 401 || response.status === 403 ? ' The model may be private or gated: pass an access token.' : '';
      throw new ModelSourceError(path, url, `${method} ${url} answered HTTP ${response.status}.${hint}`, response.status);
    }
    return response;
  }
}

function isRedirect(response: Response): boolean {
  return response.type === 'opaqueredirect' || (response.status >= 300 && response.status < 400);
}

/** A strong ETag, else Last-Modified: what `If-Range` accepts (weak ETags never match there). */
function validatorOf(headers: Headers): string | null {
  const etag = headers.get('etag');
  if (etag && !etag.startsWith('W/')) return etag;
  return headers.get('last-modified');
}

function parseSize(header: string | null): number | null {
  if (header === null || !/^\d+$/.test(header.trim())) return null;
  const n = Number(header);
  return Number.isSafeInteger(n) ? n : null;
}

/** The body's size, when the server states it and the body is not re-encoded on the way. */
function contentLength(response: Response): number | null {
  if (response.headers.get('content-encoding')) return null;
  return parseSize(response.headers.get('content-length'));
}
