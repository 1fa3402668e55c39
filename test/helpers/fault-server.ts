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
  /** Body bytes written so far for a `{ stream }` or `{ bytes }` reply (accepted by the socket, not necessarily read). */
  readonly bytesSent: number;
}

/**
 * What the server does with a request:
 * - `{ json }` / `{ text }`: answer with a status (default 200) and optional headers;
 * - `{ delayMs, then }`: wait, then do `then`;
 * - `{ hang: true }`: never answer (the client must time out or abort);
 * - `{ reset: true }`: destroy the socket without answering (a network error on the client);
 * - `{ bytes }`: a raw body, e.g. compressed with a matching `content-encoding` header;
 * - `{ stream }`: the chunks of a fresh iterable per request, written only as fast as the
 *   client reads them (chunked, unless `headers` set a content-length), until the iterable
 *   ends or the client goes away; an endless generator makes an endless body.
 * Replies with a body default to `content-type: application/json` (`text`: text/plain).
 */
export type Reply =
  | { status?: number; json: unknown; headers?: Record<string, string> }
  | { status?: number; text: string; headers?: Record<string, string> }
  | { status?: number; bytes: Uint8Array; headers?: Record<string, string> }
  | { status?: number; stream: () => Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>; headers?: Record<string, string> }
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
    let bytesSent = 0;
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
      get bytesSent() {
        return bytesSent;
      },
    };
    this.requests.push(record);
    const route = this.#routes.get(`${method} ${path}`);
    if (!route) {
      this.#send(res, { status: 404, json: { detail: 'Not Found' } }, () => undefined);
      return;
    }
    const reply = await route.responder(record, route.count++);
    this.#send(res, reply, (n) => (bytesSent += n));
  }

  #send(res: ServerResponse, reply: Reply, sent: (bytes: number) => void): void {
    if (res.destroyed) return;
    if ('hang' in reply) return;
    if ('reset' in reply) {
      res.socket?.destroy();
      return;
    }
    if ('delayMs' in reply) {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#send(res, reply.then, sent);
      }, reply.delayMs);
      this.#timers.add(timer);
      return;
    }
    if ('bytes' in reply || 'stream' in reply) {
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
      if ('bytes' in reply) {
        sent(reply.bytes.length);
        res.end(reply.bytes);
        return;
      }
      void pump(res, reply.stream(), sent);
      return;
    }
    const isJson = 'json' in reply;
    const payload = isJson ? JSON.stringify(reply.json) : reply.text;
    res.writeHead(reply.status ?? 200, { 'content-type': isJson ? 'application/json' : 'text/plain', ...reply.headers });
    res.end(payload);
  }
}

/** Writes `chunks` to `res` as the client takes them, stopping when the connection goes away. */
async function pump(res: ServerResponse, chunks: Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>, sent: (bytes: number) => void): Promise<void> {
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) return;
      sent(typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length);
      if (!res.write(chunk)) await drainedOrClosed(res);
    }
    if (!res.destroyed) res.end();
  } catch {
    res.destroy();
  }
}

/** Resolves on the next `drain` or `close` of `res`, leaving no listener behind. */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
