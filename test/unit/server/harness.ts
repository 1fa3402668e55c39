import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, expect } from 'vitest';
import { DiffusionEngine } from '../../../src/index.js';
import { createImageServer, type ImageServer, type ImageServerOptions } from '../../../src/server/index.js';
import { PatternExecutor } from '../../helpers/pattern-executor.js';

/** Shared by the image server's abuse suites: a server over the pattern executor, and raw clients. */

export const GENERATE = '/v1/images/generations';
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A listening server over a fresh pattern engine, closed after the test; `logs` collects its log lines. */
export async function startServer(options: ImageServerOptions = {}): Promise<{ server: ImageServer; url: string; port: number; logs: string[] }> {
  const engine = await DiffusionEngine.create({ executorClass: PatternExecutor, numGpus: 0, stepMs: 1 });
  const logs: string[] = [];
  const server = createImageServer(engine, { log: (line) => logs.push(line), ...options });
  const url = await server.listen(0);
  cleanups.push(async () => {
    await server.close();
    await engine.close();
  });
  return { server, url, port: Number(new URL(url).port), logs };
}

/** `fetch` of a JSON POST to the generation path. */
export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}${GENERATE}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

export async function detailOf(res: Response): Promise<unknown> {
  return ((await res.json()) as { detail: unknown }).detail;
}

/** The server answers `/health` and a small generation: whatever came before did not break it. */
export async function expectStillServes(url: string, headers: Record<string, string> = {}): Promise<void> {
  expect((await fetch(`${url}/health`, { headers })).status).toBe(200);
  const res = await post(url, { prompt: 'still here', size: '16x16', num_inference_steps: 1 }, headers);
  expect(res.status).toBe(200);
  expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(1);
}

/** A request through `node:http` (which, unlike `fetch`, lets the test set `Host`). */
export function rawRequest(url: string, path: string, headers: OutgoingHttpHeaders, body?: string | Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A plain TCP client: what it received, and when (ms since connecting) the server closed it. */
export interface RawClient {
  socket: Socket;
  received(): string;
  /** Resolves with the ms from connecting to the server's close, or null if still open after `withinMs`. */
  closedWithin(withinMs: number): Promise<number | null>;
}

export function rawClient(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const opened = performance.now();
    let data = '';
    let closedAt: number | null = null;
    const closed = new Promise<void>((done) => socket.on('close', () => ((closedAt = performance.now() - opened), done())));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (data += chunk));
    // A reset (the server cut a connection it refused) is a close, not a test failure.
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve({
        socket,
        received: () => data,
        async closedWithin(withinMs) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([closed, new Promise((done) => (timer = setTimeout(done, withinMs)))]);
          clearTimeout(timer);
          if (closedAt === null) socket.destroy();
          return closedAt;
        },
      });
    });
    socket.once('error', reject);
  });
}
