import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the server serves one file; change it between requests with `behave`. */
export interface FileBehaviour {
  /** Honour `Range` (206 with `Content-Range`); false answers every GET with the whole file. Default true. */
  range?: boolean;
  /** Destroy the connection after this many body bytes of a response (a network error mid-stream). */
  dropAfter?: number;
  /** Added to the true `Content-Length` (a lying server); the body is then cut and the connection closed. */
  lieLength?: number;
  /** Serve the body with one byte flipped, same length, still stating the true SHA-256. */
  corrupt?: boolean;
  /** Wait this long before each 64 KiB chunk. */
  chunkDelayMs?: number;
  /** Answer with this status and no body (404, 403, 500, ...). */
  status?: number;
  /** Send the Hub's `X-Linked-Size` and `X-Linked-ETag` (the SHA-256). Default true. */
  linked?: boolean;
  /** The strong ETag; default a hash-derived one. Change it to act as a changed file. */
  etag?: string;
}

/** A request the server saw. */
export interface DownloadRequest {
  method: string;
  path: string;
  range: string | null;
  ifRange: string | null;
  status: number;
  /** Body bytes written to the socket for this request. */
  bytesSent: number;
}

const CHUNK = 64 << 10;

/**
 * A 127.0.0.1 file server for download tests: serves in-memory files with and without `Range`,
 * and on demand drops the connection after N bytes, lies about `Content-Length`, serves a corrupt
 * body under the true SHA-256 (`X-Linked-ETag`, as the Hub does for LFS files), answers slowly,
 * or answers with an error status. Nothing beyond loopback is reached.
 */
export class DownloadServer {
  readonly requests: DownloadRequest[] = [];
  private readonly files = new Map<string, Uint8Array>();
  private readonly behaviours = new Map<string, FileBehaviour>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly cors: boolean,
  ) {}

  /** `cors: true` answers browser pages of any origin (CORS headers and preflights). */
  static async start(options: { cors?: boolean } = {}): Promise<DownloadServer> {
    let self: DownloadServer | null = null;
    const server = createServer((req, res) => void self!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    self = new DownloadServer(server, `http://127.0.0.1:${port}`, options.cors ?? false);
    return self;
  }

  /** Serves `bytes` at `path` (e.g. `/m/unet/w.safetensors`). */
  put(path: string, bytes: Uint8Array, behaviour: FileBehaviour = {}): void {
    this.files.set(path, bytes);
    this.behaviours.set(path, behaviour);
  }

  /** Changes how `path` is served from the next request on. */
  behave(path: string, behaviour: FileBehaviour): void {
    this.behaviours.set(path, behaviour);
  }

  sha256(path: string): string {
    return createHash('sha256').update(this.files.get(path)!).digest('hex');
  }

  /** Body bytes sent for GETs of `path`, per request. */
  sent(path: string): number[] {
    return this.requests.filter((r) => r.path === path && r.method === 'GET').map((r) => r.bytesSent);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const seen: DownloadRequest = {
      method: req.method ?? 'GET',
      path,
      range: req.headers.range ?? null,
      ifRange: (req.headers['if-range'] as string | undefined) ?? null,
      status: 0,
      bytesSent: 0,
    };
    this.requests.push(seen);
    if (this.cors) {
      // Browser pages on another loopback origin: Range with If-Range needs a preflight, and the
      // headers read by the sources must be exposed.
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('access-control-expose-headers', 'etag, content-range, content-length, x-linked-size, x-linked-etag, accept-ranges');
      if (seen.method === 'OPTIONS') {
        seen.status = 204;
        res.writeHead(204, { 'access-control-allow-headers': '*', 'access-control-allow-methods': 'GET, HEAD', 'access-control-max-age': '600' }).end();
        return;
      }
    }
    const file = this.files.get(path);
    const b = this.behaviours.get(path) ?? {};
    if (!file || b.status) {
      seen.status = file ? b.status! : 404;
      res.writeHead(seen.status).end();
      return;
    }
    const sha = this.sha256(path);
    const etag = b.etag ?? `"${sha.slice(0, 16)}"`;
    const headers: Record<string, string> = { etag, 'accept-ranges': b.range === false ? 'none' : 'bytes', 'content-type': 'application/octet-stream' };
    if (b.linked !== false) Object.assign(headers, { 'x-linked-size': String(file.byteLength), 'x-linked-etag': `"${sha}"` });
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(seen.range ?? '');
    if (m && b.range !== false && (seen.ifRange === null || seen.ifRange === etag)) start = Number(m[1]);
    if (start >= file.byteLength && start > 0) {
      seen.status = 416;
      res.writeHead(416, { 'content-range': `bytes */${file.byteLength}` }).end();
      return;
    }
    let body = file.subarray(start);
    if (b.corrupt) {
      body = body.slice();
      body[body.byteLength >> 1]! ^= 0xff;
    }
    seen.status = start > 0 ? 206 : 200;
    if (start > 0) headers['content-range'] = `bytes ${start}-${file.byteLength - 1}/${file.byteLength}`;
    headers['content-length'] = String(body.byteLength + (b.lieLength ?? 0));
    res.writeHead(seen.status, headers);
    if (seen.method === 'HEAD') {
      res.end();
      return;
    }
    const limit = Math.min(body.byteLength, b.dropAfter ?? Infinity);
    for (let at = 0; at < limit; at += CHUNK) {
      if (b.chunkDelayMs) await new Promise((r) => setTimeout(r, b.chunkDelayMs));
      if (res.destroyed) return;
      const chunk = body.subarray(at, Math.min(at + CHUNK, limit));
      seen.bytesSent += chunk.byteLength;
      if (!res.write(chunk)) await drained(res);
    }
    if (limit < body.byteLength || b.lieLength) {
      // Flush what was written, then cut the connection: the client sees a body that ends early.
      await new Promise<void>((r) => res.socket?.write('', () => r()) ?? r());
      res.socket?.destroy();
      return;
    }
    res.end();
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
