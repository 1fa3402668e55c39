import type { HTTPApiKind } from './options.js';
import type { DiffusionRequest } from '../../api/request.js';
import { UnexpectedResponseError } from './errors.js';

/** What a server's success body yields: base64 images, and their seeds when it reports them. */
export interface RemoteImages {
  /** Base64 PNGs (or `data:` URLs), exactly as many as the request asked for. */
  images: string[];
  /** One seed per image, when the server reports them; null otherwise. */
  seeds: number[] | null;
}

/**
 * One remote image API: where to post, what to post, and how to read the answer. The
 * executor owns transport (timeouts, retries, auth) and decoding; a client only maps fields.
 */
export interface RemoteImageApi {
  readonly kind: HTTPApiKind;
  /** Path of the generation endpoint, appended to `http.baseUrl`. */
  readonly generatePath: string;
  /** Path that answers 200 while the server is alive. */
  readonly healthPath: string;
  /**
   * JSON body for one request. `model` is the model name to send, or null for the server's
   * own. Throws `RequestValidationError` for requests the API cannot express.
   */
  buildBody(request: DiffusionRequest, model: string | null): Record<string, unknown>;
  /** Reads a success body; throws `UnexpectedResponseError` naming what is missing. */
  readImages(body: unknown, request: DiffusionRequest): RemoteImages;
}

/** Takes `count` images starting at `first`, or throws when the server sent fewer. */
export function takeImages(all: string[], first: number, count: number, where: string): string[] {
  const images = all.slice(first, first + count);
  if (images.length < count) {
    throw new UnexpectedResponseError(`${where} holds only ${images.length} of the ${count} image(s) asked for`);
  }
  return images;
}
