import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the server received. */
export interface ReceivedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON. */
  json<T = Record<string, unknown>>(): T;
  /** Resolves when the response ends or the client's connection closes, whichever comes first. */
  closed: Promise<void>;
  /** True once the server has finished its answer; false in `closed` means the client went away. */
  readonly answered: boolean;
  /** True once `closed` has resolved. */
  readonly isClosed: boolean;
}

/**
 * What the server does with a request:
 * - `{ json }` / `{ text }`: answer with a status (default 200) and optional headers;
 * - `{ delayMs, then }`: wait, then do `then`;
 * - `{ hang: true }`: never answer (the client must time out or abort);
 * - `{ reset: true }`: destroy the socket without answering (a network error on the client).
 */
export type Reply =
  | { status?: number; json: unknown; headers?: Record<string, string> }
  | { status?: number; text: string; headers?: Record<string, string> }
  | { delayMs: number; then: Reply }
  | { hang: true }
  | { reset: true };

/** Decides the reply to a request; `index` counts the requests to this route, from 0. */
export type Responder = (req: ReceivedRequest, index: number) => Reply | Promise<Reply>;

/**
 * A real `node:http` server on 127.0.0.1 (port 0) that answers by script and injects faults,
 * for testing HTTP clients end to end. Routes are `"METHOD /path"`; unrouted requests get a
 * FastAPI-style 404. Every request is recorded in `requests`.
 *
 * ```ts
 * const server = await FaultServer.start();
 * server.route('POST /v1/images/generations', [{ status: 500, json: { detail: 'boom' } }, okReply]);
 * ...
 * await server.close();
 * ```
 */
export class FaultServer {
  readonly url: string;
  readonly requests: ReceivedRequest[] = [];
  readonly #server: Server;
  readonly #routes = new Map<string, { responder: Responder; count: number }>();
  readonly #timers = new Set<NodeJS.Timeout>();

  private constructor(server: Server) {
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Starts a server on a free loopback port. */
  static async start(): Promise<FaultServer> {
    let instance: FaultServer | null = null;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => void instance!.#handle(req.method ?? 'GET', req.url ?? '/', req.headers, Buffer.concat(chunks).toString('utf8'), res));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    instance = new FaultServer(server);
    return instance;
  }

  /**
   * Sets how `route` (`"POST /path"`) answers: a responder function, or a list of replies
   * used one per request, the last one repeating. Resets the route's request count.
   */
  route(route: string, how: Responder | Reply[]): this {
    const responder: Responder = typeof how === 'function' ? how : (_req, i) => how[Math.min(i, how.length - 1)]!;
    this.#routes.set(route, { responder, count: 0 });
    return this;
  }

  /** Requests received on `path` (any method). */
  requestsTo(path: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** Stops listening, drops every open connection and cancels pending delayed replies. */
  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(method: string, rawUrl: string, headers: IncomingHttpHeaders, body: string, res: ServerResponse): Promise<void> {
    const path = rawUrl.split('?')[0]!;
    let answered = false;
    let isClosed = false;
    const closed = new Promise<void>((resolve) =>
      res.once('close', () => {
        isClosed = true;
        resolve();
      }),
    );
    res.once('finish', () => (answered = true));
    const record: ReceivedRequest = {
      method,
      path,
      headers,
      body,
      json: <T>() => JSON.parse(body) as T,
      closed,
      get answered() {
        return answered;
      },
      get isClosed() {
        return isClosed;
      },
    };
    this.requests.push(record);
    const route = this.#routes.get(`${method} ${path}`);
    if (!route) {
      this.#send(res, { status: 404, json: { detail: 'Not Found' } });
      return;
    }
    const reply = await route.responder(record, route.count++);
    this.#send(res, reply);
  }

  #send(res: ServerResponse, reply: Reply): void {
    if (res.destroyed) return;
    if ('hang' in reply) return;
    if ('reset' in reply) {
      res.socket?.destroy();
      return;
    }
    if ('delayMs' in reply) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#send(res, reply.then);
      }, reply.delayMs);
      this.#timers.add(timer);
      return;
    }
    const isJson = 'json' in reply;
    const payload = isJson ? JSON.stringify(reply.json) : reply.text;
    res.writeHead(reply.status ?? 200, { 'content-type': isJson ? 'application/json' : 'text/plain', ...reply.headers });
    res.end(payload);
  }
}
