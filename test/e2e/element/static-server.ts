import { createReadStream, statSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * A plain static file server on 127.0.0.1, the kind of host a page using the standalone bundle
 * has: no bundler, no transforms. `mounts` maps URL prefixes to folders; `proxy` maps URL
 * prefixes to loopback servers (the prefix is stripped). Every request path is recorded.
 */
export class StaticServer {
  readonly url: string;
  /** Every request's path, and its method (`HEAD` asks a size; `GET` downloads). */
  readonly requests: { path: string; method: string }[] = [];
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(mounts: Record<string, string>, proxy: Record<string, string> = {}): Promise<StaticServer> {
    let self: StaticServer | null = null;
    const server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      self?.requests.push({ path, method: req.method ?? 'GET' });
      const proxied = Object.entries(proxy).find(([prefix]) => path.startsWith(prefix));
      if (proxied) {
        const [prefix, target] = proxied;
        const upstream = httpRequest(new URL(path.slice(prefix.length) || '/', target), { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        upstream.on('error', () => res.destroy());
        req.pipe(upstream);
        return;
      }
      const mount = Object.entries(mounts).find(([prefix]) => path.startsWith(prefix));
      const file = mount ? resolve(mount[1], `.${path.slice(mount[0].length - 1)}`) : null;
      if (!mount || !file || !(file === mount[1] || file.startsWith(mount[1] + sep))) {
        res.writeHead(404).end('not found');
        return;
      }
      let size: number;
      try {
        const stat = statSync(file);
        if (!stat.isFile()) throw new Error('not a file');
        size = stat.size;
      } catch {
        res.writeHead(404).end('not found');
        return;
      }
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': String(size), 'cache-control': 'no-store' });
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    self = new StaticServer(server);
    return self;
  }

  /** How many downloads (`GET`s) hit paths ending with `suffix`; a `HEAD` that asks a file's size is not one. */
  count(suffix: string): number {
    return this.requests.filter((r) => r.method === 'GET' && r.path.endsWith(suffix)).length;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((ok) => this.#server.close(() => ok()));
  }
}
