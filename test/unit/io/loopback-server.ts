import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the server saw. */
export interface SeenRequest {
  method: string;
  path: string;
  authorization: string | undefined;
}

/** A 127.0.0.1 file server for source and cache tests; it never reaches beyond loopback. */
export interface LoopbackServer {
  url: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/**
 * Serves files: `route` maps a decoded URL path to a file on disk, a status code to answer
 * with, or null for 404.
 */
export async function startLoopbackServer(route: (path: string) => string | number | null): Promise<LoopbackServer> {
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({ method: req.method ?? 'GET', path, authorization: req.headers.authorization });
    const target = route(path);
    if (typeof target === 'number') {
      res.writeHead(target).end();
      return;
    }
    let size: number;
    try {
      if (target === null) throw new Error('no route');
      size = statSync(target).size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-length': String(size), 'content-type': 'application/octet-stream' });
    createReadStream(target!).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
