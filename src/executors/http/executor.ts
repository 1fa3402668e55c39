import type { HTTPExecutorOptions } from './options.js';
import type { DiffusionImage } from '../../api/image.js';
import { failedOutput, type DiffusionMetrics, type DiffusionOutput } from '../../api/output.js';
import type { DiffusionRequest } from '../../api/request.js';
import { AbortError, ConfigValidationError, EngineClosedError, HTTPExecutorError, OmniDiffusionError, RequestValidationError } from '../../api/errors.js';
import { DiffusionExecutor } from '../executor.js';
import { a1111Api } from './a1111-client.js';
import { openaiImagesApi } from './openai-client.js';
import { PngTooLargeError, ResponseTooLargeError } from './errors.js';
import { defaultMaxResponseBytes, MAX_REMOTE_IMAGE_PIXELS } from './limits.js';
import type { RemoteImageApi, RemoteImages } from './remote-api.js';
import { decodeRemoteImage } from './remote-image.js';
import { HttpTransport, type AttemptStats } from './transport.js';

/** Default per-attempt time limit: a slow server may take a minute or more for one image. */
export const DEFAULT_HTTP_TIMEOUT_MS = 120_000;
export const DEFAULT_HTTP_MAX_RETRIES = 2;
export const DEFAULT_HTTP_RETRY_BASE_DELAY_MS = 250;

const APIS: Record<NonNullable<HTTPExecutorOptions['api']>, RemoteImageApi> = { openai: openaiImagesApi, a1111: a1111Api };

/**
 * The `http` executor: runs requests on a remote server, vllm-omni's OpenAI-compatible
 * `POST /v1/images/generations` by default or AUTOMATIC1111's `POST /sdapi/v1/txt2img` with
 * `http.api: 'a1111'`. Configure it with `http: { baseUrl, apiKey?, timeoutMs?, maxRetries?,
 * api?, model?, retryBaseDelayMs?, maxResponseBytes? }`.
 *
 * - Requests of one `executeModel` call run concurrently, one HTTP request each (with
 *   `n`/`batch_size` = `numOutputsPerPrompt`); outputs come back in request order.
 * - Each attempt has `http.timeoutMs` (default 120 s) for the whole answer. Network errors,
 *   timeouts, 429 and 5xx (but 501 and 505) are retried up to `http.maxRetries` times
 *   (default 2) with exponential backoff and jitter from `http.retryBaseDelayMs` (default
 *   250 ms), or after the server's `Retry-After` (capped at 60 s). Other 4xx are not retried.
 * - `request.signal` cancels the request in flight and any backoff wait (`errorName`
 *   `AbortError`); `close()` cancels every request in flight the same way.
 * - Answers are read up to `http.maxResponseBytes`: a `Content-Length` over it is refused
 *   unread, a streamed body (counted after gzip/deflate/br are undone) is cut the moment it
 *   passes it; either way the output fails with `ResponseTooLargeError`, which is not retried.
 *   Unset, the limit is sized to each request: twice the images asked for at PNG's worst case
 *   (16-bit RGBA stored uncompressed, in base64), which leaves room for AUTOMATIC1111's batch
 *   grid, plus 4 MiB for the JSON around them (`defaultMaxResponseBytes`); 256 MiB when the
 *   request leaves the size to the server. Error bodies are read up to 64 KiB.
 * - Images are decoded from base64 PNG into RGBA8, after their PNG header is checked: more than
 *   8192x8192 pixels, or more base64 than a PNG of that size can need, is a
 *   `ResponseTooLargeError`, and so is image data that inflates past what the header
 *   describes; another size than the `width`/`height` asked for is an `HTTPExecutorError`.
 *   A request for more than 8192x8192 pixels is refused before it is sent. `image.seed` is
 *   `seed + i` when the seed is known (set on the request, or reported by an AUTOMATIC1111 server).
 * - `onProgress`: remote APIs report no per-step progress, so it is called once, when the
 *   images have arrived, with `step = total = numInferenceSteps` (1 when unset), letting a
 *   progress bar finish.
 * - Not supported remotely: img2img (`request.image`, refused with `RequestValidationError`),
 *   trajectory latents (always null) and the `decoder` choice. The openai API has no
 *   scheduler field, so `scheduler` is only sent to AUTOMATIC1111 (as `sampler_name`).
 * - The API key is sent as `Authorization: Bearer <key>` and scrubbed from every error, as is
 *   any `Bearer <token>` a server echoes, before anything is cut short.
 *
 * `initExecutor` does not contact the server, so the executor can be configured as a
 * fallback for a server that comes up later; call `checkHealth()` to probe it.
 */
export class HTTPDiffusionExecutor extends DiffusionExecutor {
  /** Its settings are `DiffusionConfig.http`, which the config validates itself. */
  static override readonly configKeys: readonly string[] = [];
  static override readonly shorthand = 'http';
  readonly #shutdown = new AbortController();
  readonly #inFlight = new Set<Promise<unknown>>();
  #transport: HttpTransport | null = null;
  #api: RemoteImageApi = openaiImagesApi;
  #baseUrl = '';
  #model: string | null = null;
  /** `http.maxResponseBytes`, or undefined for a limit sized to each request. */
  #maxResponseBytes: number | undefined;

  /** Reads `config.http`; throws `ConfigValidationError` when it is missing. Sends nothing. */
  initExecutor(): void {
    const http = this.config.http;
    // Refused rather than dropped: the server would read an embedding's token as plain words.
    if (this.config.embeddings?.length) throw new ConfigValidationError('embeddings', this.config.embeddings, "absent on the http executor: a remote server loads its own embeddings (the webgpu executor loads them)");
    if (!http) {
      throw new ConfigValidationError('http.baseUrl', undefined, 'the server root URL: the "http" executor needs `http: { baseUrl }` in the config');
    }
    const url = new URL(http.baseUrl);
    if (url.username || url.password) {
      throw new ConfigValidationError('http.baseUrl', '<redacted>', 'a URL without user:password (put the key in http.apiKey)');
    }
    this.#baseUrl = http.baseUrl.replace(/\/+$/, '');
    this.#api = APIS[http.api ?? 'openai'];
    // A ModelSource object names nothing the server knows; only a model name is sent.
    const name = typeof this.config.modelNameOrPath === 'string' ? this.config.modelNameOrPath : null;
    this.#model = http.model ?? (this.#api.kind === 'openai' ? name : null);
    this.#maxResponseBytes = http.maxResponseBytes;
    this.#transport = new HttpTransport({
      apiKey: http.apiKey ?? null,
      timeoutMs: http.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS,
      maxRetries: http.maxRetries ?? DEFAULT_HTTP_MAX_RETRIES,
      retryBaseDelayMs: http.retryBaseDelayMs ?? DEFAULT_HTTP_RETRY_BASE_DELAY_MS,
      shutdownSignal: this.#shutdown.signal,
    });
  }

  /** Runs every request concurrently; resolves with one output per request, in order. */
  async executeModel(requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
    const transport = this.#usableTransport();
    const run = Promise.all(requests.map((r) => this.#runOne(transport, r)));
    this.#inFlight.add(run);
    try {
      return await run;
    } finally {
      this.#inFlight.delete(run);
    }
  }

  /**
   * `GET {baseUrl}/health` (`/internal/ping` for AUTOMATIC1111), one attempt within
   * `http.timeoutMs`; rejects with `HTTPExecutorError` unless the server answers 200.
   */
  override async checkHealth(): Promise<void> {
    const transport = this.#usableTransport();
    await transport.expectOk(`${this.#baseUrl}${this.#api.healthPath}`, 'Health check failed');
  }

  /** Cancels every request in flight (their outputs get an `AbortError`) and waits for them to settle. */
  override async shutdown(): Promise<void> {
    this.#shutdown.abort();
    await Promise.allSettled([...this.#inFlight]);
  }

  #usableTransport(): HttpTransport {
    if (this.#shutdown.signal.aborted) throw new EngineClosedError('The http executor was shut down; create a new engine.');
    if (!this.#transport) throw new OmniDiffusionError('The http executor is not initialised: call initExecutor() (DiffusionEngine.create does).');
    return this.#transport;
  }

  async #runOne(transport: HttpTransport, request: DiffusionRequest): Promise<DiffusionOutput> {
    const started = performance.now();
    const stats: AttemptStats = { attempts: 0 };
    const metrics = (): DiffusionMetrics => ({
      totalMs: performance.now() - started,
      executor: 'http',
      api: this.#api.kind,
      attempts: stats.attempts,
    });
    try {
      if (request.signal?.aborted) throw new AbortError(`Request ${request.requestId} was aborted before it was sent.`);
      if (request.image !== undefined) {
        throw new RequestValidationError('image', request.image, 'absent: the http executor runs text-to-image only');
      }
      if (request.eta) throw new RequestValidationError('eta', request.eta, '0: the server API has no eta');
      if (request.width !== undefined && request.height !== undefined && request.width * request.height > MAX_REMOTE_IMAGE_PIXELS) {
        throw new RequestValidationError('width', request.width, `a size of at most ${MAX_REMOTE_IMAGE_PIXELS} pixels (8192x8192) with height ${request.height}: the http executor decodes no larger image`);
      }
      const url = `${this.#baseUrl}${this.#api.generatePath}`;
      const maxBytes = this.#maxResponseBytes ?? defaultMaxResponseBytes(request);
      const answer = await transport.postJson(url, this.#api.buildBody(request, this.#model), request.signal, stats, maxBytes);
      const images = await this.#readImages(url, answer.status, answer.body, request);
      const total = request.numInferenceSteps ?? 1;
      request.onProgress?.({ requestId: request.requestId, step: total, total, elapsedMs: performance.now() - started });
      const seeds = images.every((im) => im.seed !== undefined) ? images.map((im) => im.seed!) : undefined;
      return {
        requestId: request.requestId,
        images,
        error: null,
        errorName: null,
        trajectoryLatents: null,
        trajectoryTimesteps: null,
        metrics: seeds ? { ...metrics(), seeds } : metrics(),
      };
    } catch (err) {
      const out = failedOutput(request.requestId, err);
      out.error = transport.redact(out.error ?? '');
      out.metrics = metrics();
      return out;
    }
  }

  /**
   * Pulls, checks and decodes the images of a 2xx body, one at a time; problems become
   * `HTTPExecutorError`, images over a limit `ResponseTooLargeError`.
   */
  async #readImages(url: string, status: number, body: unknown, request: DiffusionRequest): Promise<DiffusionImage[]> {
    const fail = (cause: unknown): HTTPExecutorError => {
      const message = `POST ${url} answered ${status}, but ${cause instanceof Error ? cause.message : String(cause)}.`;
      if (cause instanceof PngTooLargeError) return new ResponseTooLargeError(message, status, cause.limit, cause.unit, { cause });
      return new HTTPExecutorError(message, status, null, { cause });
    };
    let remote: RemoteImages;
    try {
      remote = this.#api.readImages(body, request);
    } catch (cause) {
      throw fail(cause);
    }
    const count = remote.images.length;
    const images: DiffusionImage[] = [];
    for (const [i, b64] of remote.images.entries()) {
      let image: DiffusionImage;
      try {
        image = await decodeRemoteImage(b64, { width: request.width, height: request.height }, `image ${i + 1} of ${count}`);
      } catch (cause) {
        throw fail(cause);
      }
      const seed = remote.seeds?.[i] ?? (request.seed !== undefined ? request.seed + i : undefined);
      if (seed !== undefined) image.seed = seed;
      images.push(image);
    }
    return images;
  }
}
