import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { finished } from 'node:stream/promises';
import { DiffusionEngine } from '../engine/engine.js';
import { failedOutput, type DiffusionOutput } from '../engine/output.js';
import { AbortError, errorMessage } from '../errors.js';
import { encodePng } from '../io/png-encode.js';
import { HttpError } from './errors.js';
import { parseImagesRequest } from './images-request.js';
import { readJsonBody } from './read-json-body.js';
import { SerialQueue } from './serial-queue.js';

/** Settings of `createImageServer`. */
export interface ImageServerOptions {
  /** Largest request body, in bytes (default 1 MiB); larger ones are answered 413. */
  maxBodyBytes?: number;
  /** Requests that may wait behind the one running (default 32); more are answered 503. */
  maxQueuedRequests?: number;
  /** Largest width and height a request may ask for (default 2048). */
  maxImageSize?: number;
  /** Receives one line per answered request, and notes such as a client that went away. */
  log?: (line: string) => void;
}

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
 *   400 or 422 with `{detail}` (see `parseImagesRequest`), a body over `maxBodyBytes` 413, a
 *   body that is not JSON 415 or 400, and a failed generation 500 with the error as `detail`.
 * - `GET /health` answers 200 once the engine is ready and 503 with `{detail}` while it loads,
 *   after it failed to load, or when its executor is unhealthy.
 * - Requests run one at a time, in arrival order; a client that disconnects cancels its
 *   request (waiting or running, through its `AbortSignal`).
 * - Unknown paths get 404, known paths with another method 405.
 *
 * The server does not own the engine: `close()` stops the server, and the caller closes the
 * engine afterwards.
 */
export class ImageServer {
  /** The underlying `node:http` server. */
  readonly server: Server;
  readonly #options: Required<Omit<ImageServerOptions, 'log'>> & Pick<ImageServerOptions, 'log'>;
  readonly #queue: SerialQueue;
  readonly #active = new Set<AbortController>();
  readonly #handlers = new Set<Promise<void>>();
  readonly #ready: Promise<DiffusionEngine>;
  #engine: DiffusionEngine | null = null;
  #state: ImageServerState = 'loading';
  #loadError: unknown = null;
  #url: string | null = null;
  #closing: Promise<void> | null = null;

  constructor(engine: DiffusionEngine | PromiseLike<DiffusionEngine>, options: ImageServerOptions = {}) {
    this.#options = {
      maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
      maxQueuedRequests: options.maxQueuedRequests ?? 32,
      maxImageSize: options.maxImageSize ?? 2048,
      log: options.log,
    };
    this.#queue = new SerialQueue(this.#options.maxQueuedRequests);
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
    this.server = createServer((req, res) => {
      // A request counts as handled once its answer has left (or its connection is gone).
      const handled = this.#handle(req, res).then(() => finished(res).catch(() => undefined));
      this.#handlers.add(handled);
      void handled.finally(() => this.#handlers.delete(handled));
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

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    let note = '';
    try {
      const methods = ROUTES[path];
      if (!methods) throw new HttpError(404, 'Not Found');
      if (!methods.includes(method)) throw new HttpError(405, 'Method Not Allowed', { allow: methods.join(', ') });
      if (path === HEALTH_PATH) await this.#health(res);
      else note = await this.#generate(req, res);
    } catch (err) {
      const httpError = err instanceof HttpError ? err : new HttpError(500, errorMessage(err));
      sendJson(res, httpError.status, { detail: httpError.detail }, httpError.status === 413 ? { ...httpError.headers, connection: 'close' } : httpError.headers);
      if (!(err instanceof HttpError)) note = errorMessage(err);
    }
    const status = res.headersSent ? String(res.statusCode) : '-';
    this.#options.log?.(`${method} ${path} ${status} ${Math.round(performance.now() - started)}ms${note ? ` ${note}` : ''}`);
  }

  async #health(res: ServerResponse): Promise<void> {
    const engine = this.#usableEngine();
    try {
      await engine.checkHealth();
    } catch (err) {
      throw new HttpError(503, `The engine is unhealthy: ${errorMessage(err)}`);
    }
    sendJson(res, 200, { status: 'ok' });
  }

  /** Runs one generation request; resolves with a note for the log ('' when nothing to note). */
  async #generate(req: IncomingMessage, res: ServerResponse): Promise<string> {
    const init = parseImagesRequest(await readJsonBody(req, this.#options.maxBodyBytes), { maxImageSize: this.#options.maxImageSize });
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
        throw new HttpError(503, `The model failed to load: ${errorMessage(this.#loadError)}`);
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

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}
