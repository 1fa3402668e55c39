import { describe, expect, it } from 'vitest';
import { GENERATE, detailOf, expectStillServes, post, rawClient, rawRequest, startServer } from './harness.js';

/**
 * `serve` as a public service: every wait a stranger can cause is timed, connections are
 * capped, an oversized body is refused before `100 Continue`, and the API key and Host checks
 * hold. Timeouts are short here so the suite runs fast; each case ends by checking that the
 * same server still answers /health and a generation.
 */

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('image server abuse: slow and idle connections', () => {
  it('drops a slowloris client that trickles its headers, after headersTimeoutMs', async () => {
    const { url, port } = await startServer({ headersTimeoutMs: 300, requestTimeoutMs: 2000 });
    const client = await rawClient(port);
    client.socket.write(`POST ${GENERATE} HTTP/1.1\r\nHost: localhost\r\n`);
    const trickle = setInterval(() => client.socket.writable && client.socket.write('X-Slow: 1\r\n'), 50);
    const closedAfter = await client.closedWithin(3000);
    clearInterval(trickle);
    expect(closedAfter).not.toBeNull();
    expect(closedAfter!).toBeGreaterThanOrEqual(250);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    await expectStillServes(url);
  });

  it('drops a connection that never sends anything, after headersTimeoutMs', async () => {
    const { url, port } = await startServer({ headersTimeoutMs: 300, requestTimeoutMs: 2000 });
    const client = await rawClient(port);
    const closedAfter = await client.closedWithin(3000);
    expect(closedAfter).not.toBeNull();
    expect(closedAfter!).toBeGreaterThanOrEqual(250);
    await expectStillServes(url);
  });

  it('drops a request whose body stalls, after requestTimeoutMs, and its handler ends', async () => {
    const { url, port, logs } = await startServer({ headersTimeoutMs: 200, requestTimeoutMs: 500 });
    const client = await rawClient(port);
    client.socket.write(`POST ${GENERATE} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"prompt": "`);
    const closedAfter = await client.closedWithin(3000);
    expect(closedAfter).not.toBeNull();
    expect(closedAfter!).toBeGreaterThanOrEqual(450);
    expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    await expect.poll(() => logs.find((l) => l.startsWith(`POST ${GENERATE} - `))).toMatch(/AbortError: The connection (closed|failed) before the request body arrived \(12 bytes read\)/);
    await expectStillServes(url);
  });

  it('closes an idle keep-alive connection after keepAliveTimeoutMs', async () => {
    const { url, port } = await startServer({ keepAliveTimeoutMs: 200 });
    const client = await rawClient(port);
    client.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await expect.poll(() => client.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: keep-alive[\s\S]*\{"status":"ok"\}$/);
    const answeredAfter = performance.now();
    // node:http waits one second more than keepAliveTimeout, for requests already on their way.
    expect(await client.closedWithin(2500)).not.toBeNull();
    expect(performance.now() - answeredAfter).toBeGreaterThanOrEqual(150);
    await expectStillServes(url);
  });

  it('closes connections over maxConnections as they arrive, and serves again once others leave', async () => {
    const { url, port, logs } = await startServer({ maxConnections: 2, headersTimeoutMs: 5000, requestTimeoutMs: 5000 });
    const held = [await rawClient(port), await rawClient(port)];
    const extra = await rawClient(port);
    expect(await extra.closedWithin(1000)).not.toBeNull();
    expect(extra.received()).toBe('');
    expect(logs.some((l) => l.includes('connections are open (maxConnections)'))).toBe(true);
    for (const client of held) client.socket.destroy();
    await expect.poll(() => fetch(`${url}/health`).then((r) => r.status, () => 0)).toBe(200);
    await expectStillServes(url);
  });
});

describe('image server abuse: bodies announced with Expect: 100-continue', () => {
  it('answers 413 to an oversized Content-Length without sending 100 Continue', async () => {
    const { url, port } = await startServer({ maxBodyBytes: 4096 });
    const client = await rawClient(port);
    client.socket.write(`POST ${GENERATE} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\nExpect: 100-continue\r\n\r\n`);
    await expect.poll(() => client.received()).toMatch(/\r\n\r\n\{.*\}$/);
    expect(client.received()).not.toMatch(/100 Continue/);
    expect(client.received()).toMatch(/^HTTP\/1\.1 413 [\s\S]*Connection: close/i);
    expect(client.received()).toContain('The request body (1000000000 bytes) is over the limit of 4096 bytes.');
    expect(await client.closedWithin(1000)).not.toBeNull();
    await expectStillServes(url);
  });

  it('sends 100 Continue to a body within the limit and answers it', async () => {
    const { url, port } = await startServer();
    const client = await rawClient(port);
    const body = JSON.stringify({ prompt: 'x', size: '8x8', num_inference_steps: 1 });
    client.socket.write(`POST ${GENERATE} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`);
    await expect.poll(() => client.received()).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
    client.socket.write(body);
    await expect.poll(() => client.received()).toMatch(/HTTP\/1\.1 200 OK[\s\S]*"b64_json"/);
    client.socket.destroy();
    await expectStillServes(url);
  });
});

describe('image server abuse: API key', () => {
  const key = 'sk-test-0123456789';
  const bearer = { authorization: `Bearer ${key}` };

  it('answers 401 with WWW-Authenticate when the key is missing', async () => {
    const { url } = await startServer({ apiKey: key });
    const res = await post(url, { prompt: 'x' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await detailOf(res)).toBe('This server needs an API key: send it as "Authorization: Bearer <key>".');
    expect((await fetch(`${url}/v1/models`)).status).toBe(401);
    await expectStillServes(url, bearer);
  });

  it('answers 401 with error="invalid_token" when the key is wrong, without echoing it', async () => {
    const { url } = await startServer({ apiKey: key });
    for (const wrong of ['sk-test-012345678', `${key}0`, 'x', key.toUpperCase()]) {
      const res = await post(url, { prompt: 'x' }, { authorization: `Bearer ${wrong}` });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
      expect(JSON.stringify(await detailOf(res))).not.toContain(wrong);
    }
    expect((await post(url, { prompt: 'x' }, { authorization: key })).status).toBe(401);
    await expectStillServes(url, bearer);
  });

  it('serves a request with the right key, and /health without one', async () => {
    const { url } = await startServer({ apiKey: key });
    expect((await post(url, { prompt: 'x' }, { authorization: `bearer  ${key}` })).status).toBe(200);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    await expectStillServes(url, bearer);
  });
});

describe('image server abuse: Host header (DNS rebinding)', () => {
  it('answers 403 to Host: evil.example, naming --allowed-hosts', async () => {
    const { url } = await startServer();
    for (const host of ['evil.example', 'evil.example:8000', 'localhost.evil.example', '127.0.0.1.nip.io']) {
      const res = await rawRequest(url, GENERATE, { host, 'content-type': 'application/json' }, '{"prompt": "x"}');
      expect(res.status).toBe(403);
      const detail = (JSON.parse(res.text) as { detail: string }).detail;
      expect(detail).toContain(`Host ${JSON.stringify(host)}`);
      expect(detail).toContain('--allowed-hosts');
    }
    expect((await rawRequest(url, '/health', { host: 'evil.example' })).status).toBe(403);
    await expectStillServes(url);
  });

  it('serves localhost, 127.0.0.1 and [::1] on any port, in any case', async () => {
    const { url, port } = await startServer();
    for (const host of [`localhost:${port}`, 'LOCALHOST', `127.0.0.1:${port}`, '[::1]:80', 'localhost.']) {
      expect((await rawRequest(url, '/health', { host })).status, host).toBe(200);
    }
    await expectStillServes(url);
  });

  it('serves the names in allowedHosts, and any name with "*"', async () => {
    const { url } = await startServer({ allowedHosts: ['images.example.com', '10.0.0.5'] });
    expect((await rawRequest(url, '/health', { host: 'Images.Example.com:443' })).status).toBe(200);
    expect((await rawRequest(url, '/health', { host: '10.0.0.5:8000' })).status).toBe(200);
    expect((await rawRequest(url, '/health', { host: 'example.com' })).status).toBe(403);
    const open = await startServer({ allowedHosts: ['*'] });
    expect((await rawRequest(open.url, '/health', { host: 'anything.example' })).status).toBe(200);
    await expectStillServes(url);
  });
});
