import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/fixtures.js';

/**
 * The abuse suite against one real `omni-diffusion serve` process (bin → dist, the engine in
 * its default worker thread, bundled tiny model): every case a stranger can send, in a row, and
 * the same process must still answer `/health` and a normal generation at the end, with its
 * resident memory within a stated bound, and stop on SIGTERM. A case that crashed the process
 * would fail every case after it.
 */
const KEY = 'sk-abuse-suite-0123456789';
const AUTH = { authorization: `Bearer ${KEY}` };
const GENERATE = '/v1/images/generations';
const NORMAL = { prompt: 'a red circle on a blue background', seed: 1, num_inference_steps: 4, size: '32x32' };
/** RSS growth allowed over the whole suite, after a warm-up generation: no case may leak per request. */
const RSS_BOUND_BYTES = 128 * 1024 * 1024;

function rssOf(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

describe('one omni-diffusion serve process under abuse', () => {
  let child: ChildProcess;
  let url: string;
  let stderr = '';
  let exited: Promise<number | null>;
  let warmRss = 0;
  /** A normal request's time in this process before the suite: the yardstick for "served at normal speed" (the machine may be busy). */
  let normalMs = 0;
  const post = (body: unknown, headers: Record<string, string> = AUTH, signal?: AbortSignal): Promise<Response> =>
    fetch(`${url}${GENERATE}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body), ...(signal ? { signal } : {}) });
  const health = async (): Promise<{ status: number; ms: number }> => {
    const started = performance.now();
    const res = await fetch(`${url}/health`);
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - started };
  };
  /** Raw bytes over a socket; resolves with what came back when the server closes it (or after `waitMs`). */
  const raw = (chunks: string[], gapMs: number, waitMs: number): Promise<{ text: string; closedAfterMs: number | null }> =>
    new Promise((resolve) => {
      const { port } = new URL(url);
      const socket = connect(Number(port), '127.0.0.1');
      const started = performance.now();
      let text = '';
      let closedAfterMs: number | null = null;
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (text += d));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        closedAfterMs ??= performance.now() - started;
        clearTimeout(timer);
        resolve({ text, closedAfterMs });
      });
      let i = 0;
      const send = (): void => {
        if (i < chunks.length && !socket.destroyed) {
          socket.write(chunks[i++]!);
          setTimeout(send, gapMs);
        }
      };
      socket.on('connect', send);
      const timer = setTimeout(() => {
        socket.destroy();
        resolve({ text, closedAfterMs });
      }, waitMs);
    });

  beforeAll(async () => {
    child = spawn(
      process.execPath,
      [join(repoRoot, 'bin/omni-diffusion.js'), 'serve', '--port', '0', '--max-connections', '24', '--headers-timeout-ms', '1500', '--request-timeout-ms', '3000', '--keep-alive-timeout-ms', '1000'],
      { env: { ...process.env, OMNI_DIFFUSION_API_KEY: KEY }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/^Ready: /m.test(out)) resolve();
      });
      void exited.then((code) => reject(new Error(`serve exited (${code}) before it was ready: ${stderr}`)));
    });
    url = /Listening on (\S+)/.exec(out)![1]!;
    expect((await post(NORMAL)).status).toBe(200);
    const started = performance.now();
    expect((await post(NORMAL)).status).toBe(200);
    normalMs = performance.now() - started;
    warmRss = rssOf(child.pid!);
  }, 120_000);

  afterAll(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  it('a JSON prompt nested 10,000 levels deep gets a 4xx, not a crash', async () => {
    const res = await post(`{"prompt": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(JSON.stringify(await res.json()).length).toBeLessThan(2048);
  });

  it('a 1 MB single-word prompt (under the body limit) gets 422 naming the prompt limit, and /health answers meanwhile', async () => {
    const answer = post({ prompt: 'a'.repeat(1_000_000) });
    expect((await health()).status).toBe(200);
    const res = await answer;
    expect(res.status).toBe(422);
    expect(JSON.stringify(await res.json())).toMatch(/prompt.*4096/);
  });

  it('a single-word prompt at the length cap generates, and /health answers within 250 ms while it runs', async () => {
    const answer = post({ ...NORMAL, prompt: 'z'.repeat(4096), num_inference_steps: 20 });
    await new Promise((r) => setTimeout(r, 300));
    const during = await health();
    expect(during.status).toBe(200);
    expect(during.ms).toBeLessThan(250);
    expect((await answer).status).toBe(200);
  });

  it('size 1024x1024 on the tiny model is refused with the device limit, and the next request is served at once', async () => {
    const refused = performance.now();
    const res = await post({ ...NORMAL, size: '1024x1024' });
    expect(res.status).toBe(500);
    expect(JSON.stringify(await res.json())).toMatch(/DeviceLimitError|does not fit/);
    // Refused before any GPU work: faster than a normal 32x32 request.
    expect(performance.now() - refused).toBeLessThan(normalMs + 1000);
    const started = performance.now();
    expect((await post(NORMAL)).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(4 * normalMs + 2000);
  });

  it('a client that leaves mid-generation cancels it: the next request does not wait for 200 steps', async () => {
    const leave = new AbortController();
    const started = performance.now();
    const gone = post({ ...NORMAL, num_inference_steps: 200 }, AUTH, leave.signal).catch((err: unknown) => err);
    setTimeout(() => leave.abort(), 400);
    expect(await gone).toBeInstanceOf(Error);
    expect((await post(NORMAL)).status).toBe(200);
    // 200 steps are 50 normal requests of 4 steps; cancelled, it all takes a few.
    expect(performance.now() - started).toBeLessThan(8 * normalMs + 2000);
  });

  it('a slowloris client trickling its headers is dropped after the headers timeout', async () => {
    const chunks = ['POST /v1/images/generations HTTP/1.1\r\n', ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: 1\r\n`)];
    const { closedAfterMs } = await raw(chunks, 100, 6000);
    expect(closedAfterMs).not.toBeNull();
    expect(closedAfterMs!).toBeLessThan(4000);
  });

  it('a body that stalls is dropped after the request timeout', async () => {
    const head = `POST ${GENERATE} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"prompt": "`;
    const { closedAfterMs } = await raw([head], 10, 8000);
    expect(closedAfterMs).not.toBeNull();
    expect(closedAfterMs!).toBeLessThan(6000);
  });

  it('a flood of connections over the cap is shed, and the server answers afterwards', async () => {
    const { port } = new URL(url);
    let shed = 0;
    const sockets = Array.from({ length: 60 }, () =>
      connect(Number(port), '127.0.0.1')
        .on('error', () => undefined)
        .on('close', () => shed++),
    );
    await new Promise((r) => setTimeout(r, 500));
    // --max-connections 24: the server closed the others as they arrived.
    expect(shed).toBeGreaterThanOrEqual(60 - 24);
    for (const s of sockets) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    expect((await health()).status).toBe(200);
  });

  it('Expect: 100-continue with an oversized Content-Length gets 413 and no 100 Continue', async () => {
    const head = `POST ${GENERATE} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\nExpect: 100-continue\r\n\r\n`;
    const { text } = await raw([head], 10, 1500);
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).not.toContain('100 Continue');
  });

  it('a missing or wrong API key gets 401; the key is never echoed', async () => {
    expect((await post(NORMAL, {})).status).toBe(401);
    const wrong = await post(NORMAL, { authorization: 'Bearer sk-wrong' });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain('sk-wrong');
  });

  it('a Host header the server does not serve (DNS rebinding) gets 403', async () => {
    const { text } = await raw([`GET /health HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n`], 10, 2000);
    expect(text).toMatch(/^HTTP\/1\.1 403 /);
  });

  it('after the suite: /health and a normal generation, RSS within bound, and SIGTERM stops the process', async () => {
    expect((await health()).status).toBe(200);
    const res = await post(NORMAL);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(1);
    const grown = rssOf(child.pid!) - warmRss;
    console.log(`serve RSS: ${(warmRss / 2 ** 20).toFixed(0)} MiB after warm-up, ${(grown / 2 ** 20).toFixed(1)} MiB more after the suite (bound ${RSS_BOUND_BYTES / 2 ** 20} MiB)`);
    expect(grown).toBeLessThan(RSS_BOUND_BYTES);
    const stopping = performance.now();
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const stopMs = performance.now() - stopping;
    console.log(`serve: normal request ${normalMs.toFixed(0)} ms; stopped ${stopMs.toFixed(0)} ms after SIGTERM`);
    expect(stopMs).toBeLessThan(10_000);
    expect(stderr).toContain('Shutting down...');
  });
});
