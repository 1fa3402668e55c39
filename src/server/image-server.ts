import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { finished } from 'node:stream/promises';
import { DiffusionEngine } from '../api/engine.js';
import { failedOutput, type DiffusionOutput } from '../api/output.js';
import { AbortError, errorMessage } from '../api/errors.js';
import { encodePng } from '../io/png-encode.js';
import { AllowedHosts, LOOPBACK_HOSTS } from './allowed-hosts.js';
import { ApiKeyCheck } from './api-key.js';
import { HttpError } from './errors.js';
import { parseImagesRequest } from './images-request.js';
import { readJsonBody } from './read-json-body.js';
import { SerialQueue } from './serial-queue.js';
import { resolveImageServerOptions, type ImageServerOptions, type ResolvedImageServerOptions } from './server-options.js';

export type { ImageServerOptions } from './server-options.js';

/** `loading` until the engine is there, `ready`, `failed` when it could not load, `closed` after `close()`. */
export type ImageServerState = 'loading' | 'ready' | 'failed' | 'closed';

const GENERATE_PATH = '/v1/images/generations';
const HEALTH_PATH = '/health';
const ROUTES: Readonly<Record<string, readonly string[]>> = { [GENERATE_PATH]: ['POST'], [HEALTH_PATH]: ['GET', 'HEAD'] };
/** How long `close()` lets the answers in flight (503s once cancelled) leave before it drops every connection. */
const CLOSE_GRACE_MS = 2000;

/**
 * vllm-omni's image API over a `DiffusionEngine`, on `node:http`:
 *
 * - `POST /v1/images/generations` takes `{prompt, n, size: "WxH", response_format: "b64_json",
 *   negative_prompt, num_inference_steps, guidance_scale, seed, output_format: "png"}` and
 *   answers `{created, data: [{b64_json, url: null, revised_prompt: null}]}`. Bad input gets
 *   400 or 422 with `{detail}` (see `parseImagesRequest`), a body over `maxBodyBytes` 413 (before
 *   `100 Continue` when the client asked for one), a body that is not JSON 415 or 400, and a
 *   failed generation 500 with the error as `detail`.
 * - `GET /health` answers 200 once the engine is ready and 503 with `{detail}` while it loads,
 *   after it failed to load, or when its executor is unhealthy. It needs no API key.
 * - Requests run one at a time, in arrival order; a client that disconnects cancels its
 *   request (waiting or running, through its `AbortSignal`).
 * - A `Host` that is not allowed gets 403, a missing or wrong API key 401, unknown paths 404,
 *   known paths with another method 405.
 * - Connections are capped and timed (see `ImageServerOptions`), and no request, however
 *   hostile, can end the process: an unexpected failure is logged and answered 500.
 *
 * The server does not own the engine: `close()` stops the server, and the caller closes the
 * engine afterwards.
 */
export class ImageServer {
  /** The underlying `node:http` server. */
  readonly server: Server;
  readonly #options: ResolvedImageServerOptions;
  readonly #allowedHosts: AllowedHosts;
  readonly #apiKey: ApiKeyCheck | null;
  readonly #queue: SerialQueue;
  readonly #active = new Set<AbortController>();
  readonly #handlers = new Set<Promise<void>>();
  readonly #ready: Promise<DiffusionEngine>;
  #engine: DiffusionEngine | null = null;
  #state: ImageServerState = 'loading';
  #loadError: unknown = null;
  #url: string | null = null;
  #closing: Promise<void> | null = null;

  /** Throws `ImageServerOptionError` naming the first option out of range. */
  constructor(engine: DiffusionEngine | PromiseLike<DiffusionEngine>, options: ImageServerOptions = {}) {
    this.#options = resolveImageServerOptions(options);
    const o = this.#options;
    this.#allowedHosts = new AllowedHosts([...LOOPBACK_HOSTS, ...o.allowedHosts]);
    this.#apiKey = o.apiKey === undefined ? null : new ApiKeyCheck(o.apiKey);
    this.#queue = new SerialQueue(o.maxQueuedRequests);
    this.#ready = Promise.resolve(engine).then(
      (e) => {
        if (this.#state === 'loading') {
          this.#engine = e;
          this.#state = 'ready';
        }
        return e;
      },
      (err: unknown) => {
        if (this.#state === 'loading') {
          this.#loadError = err;
          this.#state = 'failed';
        }
        throw err;
      },
    );
    // Callers need not wait for `ready`; a failed load is reported through /health.
    this.#ready.catch(() => undefined);
    if (engine instanceof DiffusionEngine) {
      this.#engine = engine;
      this.#state = 'ready';
    }
    this.server = createServer(
      {
        headersTimeout: o.headersTimeoutMs,
        requestTimeout: o.requestTimeoutMs,
        // Node checks both timeouts on this interval (30 s by default), which would stretch a 10 s limit to 40 s.
        connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.floor(o.headersTimeoutMs / 4))),
      },
      (req, res) => this.#track(req, res, false),
    );
    this.server.keepAliveTimeout = o.keepAliveTimeoutMs;
    this.server.maxConnections = o.maxConnections;
    // Without this listener node:http sends `100 Continue` by itself, inviting a body it would then refuse.
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => this.#track(req, res, true));
    this.server.on('drop', (data?: { remoteAddress?: string }) => {
      this.#log(`closed a connection from ${data?.remoteAddress ?? 'an unknown address'}: ${o.maxConnections} connections are open (maxConnections)`);
    });
  }

  get state(): ImageServerState {
    return this.#state;
  }

  /** `http://host:port` once listening; null before. */
  get url(): string | null {
    return this.#url;
  }

  /** Resolves with the engine once it is ready; rejects with its load error. */
  get ready(): Promise<DiffusionEngine> {
    return this.#ready;
  }

  /** Starts listening (port 0 picks a free one) and resolves with the server's URL. */
  listen(port = 8000, host = '127.0.0.1'): Promise<string> {
    // Requests naming the host the server was started on are its own; a wildcard address names nothing.
    if (!['0.0.0.0', '::', ''].includes(host)) this.#allowedHosts.add(host);
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        const address = this.server.address() as AddressInfo;
        const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        this.#url = `http://${shown}:${address.port}`;
        resolve(this.#url);
      });
    });
  }

  /**
   * Stops accepting connections, cancels the requests waiting and running (they are answered
   * 503), and resolves when the server is closed. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closed';
      for (const controller of this.#active) controller.abort(new AbortError('The server is shutting down.'));
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
      await Promise.race([Promise.allSettled([...this.#handlers]), grace]);
      clearTimeout(timer);
      // Every answer has left: what remains are keep-alive connections, which would hold close() open.
      this.server.closeAllConnections();
      await closed;
    })();
    return this.#closing;
  }

  /** Answers one request; whatever fails unexpectedly on the way is caught here, never left to the process. */
  #track(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): void {
    // A request counts as handled once its answer has left (or its connection is gone).
    const handled = this.#handle(req, res, expectsContinue)
      .catch((err: unknown) => this.#unexpected(res, err))
      .then(() => finished(res).catch(() => undefined));
    this.#handlers.add(handled);
    void handled.finally(() => this.#handlers.delete(handled));
  }

  /** The last line of defence: a 500 if nothing was sent yet, else the connection is cut. */
  #unexpected(res: ServerResponse, err: unknown): void {
    this.#log(`internal error: ${safeErrorMessage(err)}`);
    try {
      if (!res.headersSent) sendJson(res, 500, { detail: 'Internal server error.' }, { connection: 'close' });
      else res.destroy();
    } catch {
      res.destroy();
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    let note = '';
    try {
      this.#allowedHosts.check(req.headers.host);
      if (this.#apiKey && path !== HEALTH_PATH) this.#apiKey.check(req.headers.authorization);
      const methods = ROUTES[path];
      if (!methods) throw new HttpError(404, 'Not Found');
      if (!methods.includes(method)) throw new HttpError(405, 'Method Not Allowed', { allow: methods.join(', ') });
      if (path === HEALTH_PATH) await this.#health(res);
      else note = await this.#generate(req, res, expectsContinue);
    } catch (err) {
      const httpError = err instanceof HttpError ? err : new HttpError(500, safeErrorMessage(err));
      // A body left unread would be drained on a kept-alive connection: close it instead.
      const close: Record<string, string> = httpError.status === 413 || bodyPending(req) ? { connection: 'close' } : {};
      sendJson(res, httpError.status, { detail: httpError.detail }, { ...httpError.headers, ...close });
      if (!(err instanceof HttpError)) note = httpError.message;
    }
    const status = res.headersSent ? String(res.statusCode) : '-';
    const shownPath = path.length > 200 ? `${path.slice(0, 200)}...` : path;
    this.#log(`${method} ${shownPath} ${status} ${Math.round(performance.now() - started)}ms${note ? ` ${note}` : ''}`);
  }

  /** `log`, which must not take the server down with it: if it throws, the line goes to a process warning. */
  #log(line: string): void {
    try {
      this.#options.log?.(line);
    } catch {
      process.emitWarning(`The image server's log callback threw; the line was: ${line}`);
    }
  }

  async #health(res: ServerResponse): Promise<void> {
    const engine = this.#usableEngine();
    try {
      await engine.checkHealth();
    } catch (err) {
      throw new HttpError(503, `The engine is unhealthy: ${safeErrorMessage(err)}`);
    }
    sendJson(res, 200, { status: 'ok' });
  }

  /** Runs one generation request; resolves with a note for the log ('' when nothing to note). */
  async #generate(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean): Promise<string> {
    const { maxBodyBytes, maxJsonDepth, maxImageSize, maxPromptLength } = this.#options;
    const body = await readJsonBody(req, { maxBytes: maxBodyBytes, maxDepth: maxJsonDepth, beforeRead: expectsContinue ? () => res.writeContinue() : undefined });
    const init = parseImagesRequest(body, { maxImageSize, maxPromptLength });
    const engine = this.#usableEngine();
    const controller = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) controller.abort(new AbortError('The client closed the connection.'));
    };
    res.on('close', onClose);
    // The client may have gone while its body was read, before the listener was there.
    if (req.socket.destroyed) onClose();
    this.#active.add(controller);
    try {
      let output: DiffusionOutput;
      try {
        output = await this.#queue.run(async () => (await engine.step([{ ...init, signal: controller.signal }]))[0]!, controller.signal);
      } catch (err) {
        if (err instanceof HttpError) throw err;
        output = failedOutput('', err);
      }
      if (output.error !== null) {
        if (controller.signal.aborted) {
          if (this.#state === 'closed') throw new HttpError(503, 'The server is shutting down.');
          // Nobody is left to answer; a half-closed socket would otherwise stay open until close().
          res.destroy();
          return 'cancelled: the client closed the connection';
        }
        if (output.errorName === 'RequestValidationError') throw new HttpError(400, output.error);
        if (output.errorName === 'EngineClosedError' || output.errorName === 'ExecutorDeadError') throw new HttpError(503, output.error);
        throw new HttpError(500, output.error);
      }
      const data = output.images.map((image) => ({ b64_json: Buffer.from(encodePng(image)).toString('base64'), url: null, revised_prompt: null }));
      sendJson(res, 200, { created: Math.floor(Date.now() / 1000), data });
      return '';
    } finally {
      res.off('close', onClose);
      this.#active.delete(controller);
    }
  }

  /** The engine, or a 503 saying why there is none. */
  #usableEngine(): DiffusionEngine {
    switch (this.#state) {
      case 'ready':
        return this.#engine!;
      case 'loading':
        throw new HttpError(503, 'The model is still loading. Retry shortly.', { 'retry-after': '1' });
      case 'failed':
        throw new HttpError(503, `The model failed to load: ${safeErrorMessage(this.#loadError)}`);
      default:
        throw new HttpError(503, 'The server is shutting down.');
    }
  }
}

/**
 * Creates (without starting) an image server over `engine`, or over an engine still being
 * created: the server then answers 503 until it is ready. Start it with `listen(port, host)`.
 *
 * ```ts
 * const server = createImageServer(DiffusionEngine.create({ modelNameOrPath: 'stabilityai/sd-turbo' }));
 * console.log(await server.listen(8000));
 * ```
 */
export function createImageServer(engine: DiffusionEngine | PromiseLike<DiffusionEngine>, options: ImageServerOptions = {}): ImageServer {
  return new ImageServer(engine, options);
}

/** Whether the request still has body bytes on the way: declared, and not all received. */
function bodyPending(req: IncomingMessage): boolean {
  return !req.complete && (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0);
}

/** `errorMessage`, for thrown values that cannot even be turned into a string (`Object.create(null)`). */
function safeErrorMessage(err: unknown): string {
  try {
    return errorMessage(err);
  } catch {
    return 'an error that cannot be printed';
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}
