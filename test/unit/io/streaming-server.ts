import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A 127.0.0.1 server whose every answer is a body of unknown length (chunked, no Content-Length). */
export interface StreamingServer {
  url: string;
  /** Body bytes written so far, over all requests. */
  readonly bytesSent: number;
  close(): Promise<void>;
}

/**
 * Answers every GET with `prefix`, then `filler` bytes up to `totalBytes` in all, written as
 * fast as the client reads (backpressure is respected) and stopped as soon as the client goes
 * away. Without a Content-Length, the client cannot know the size up front: the case of a
 * hostile or broken server that never stops sending.
 */
export async function startStreamingServer(prefix: Uint8Array, totalBytes: number, filler = 0x20): Promise<StreamingServer> {
  let bytesSent = 0;
  const block = Buffer.alloc(1 << 20, filler);
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let sent = 0;
    let gone = false;
    res.on('close', () => {
      gone = true;
    });
    const pump = () => {
      while (!gone && sent < totalBytes) {
        const piece = sent < prefix.byteLength ? prefix.subarray(sent) : block.subarray(0, Math.min(block.byteLength, totalBytes - sent));
        sent += piece.byteLength;
        bytesSent += piece.byteLength;
        if (!res.write(piece)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!gone) res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get bytesSent() {
      return bytesSent;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
