import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createImageServer, ImageServerOptionError } from '../../../src/server/index.js';
import { peakRss, resetPeakRss } from '../../helpers/peak-rss.js';
import { GENERATE, detailOf, expectStillServes, post, rawClient, rawRequest, startServer } from './harness.js';

/**
 * Hostile request bodies and the error path: whatever a stranger sends gets a clear 4xx, the
 * error sent back stays small, and nothing that fails inside one request ends the process.
 * Each case ends by checking that the same server still answers /health and a generation.
 */

const deepArray = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`;

// A failure that escaped a request handler would show here (and, outside a test runner, end the process).
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
beforeAll(() => void process.on('unhandledRejection', onUnhandled));
afterAll(() => void process.off('unhandledRejection', onUnhandled));
afterEach(() => {
  expect(unhandled.splice(0), 'unhandled rejections').toEqual([]);
});

describe('image server abuse: hostile bodies', () => {
  it('answers 400 naming the depth limit to a prompt nested 10,000 levels deep (~20 KB)', async () => {
    const { url } = await startServer();
    const body = `{"prompt": ${deepArray(10_000)}}`;
    expect(body.length).toBeGreaterThan(20_000);
    const res = await post(url, body);
    expect(res.status).toBe(400);
    expect(await detailOf(res)).toBe('The request body nests arrays or objects more than 32 levels deep, the limit of this server; send a flat object such as {"prompt": "a cat"}.');
    await expectStillServes(url);
  });

  it('answers 400 to a whole body nested 500,000 levels deep (1 MB), in bounded time and memory', async () => {
    const { url } = await startServer();
    // Built before the measurement, so that the peak is the server's, not the client's.
    const body = Buffer.from(deepArray(500_000));
    const send = (): ReturnType<typeof rawRequest> => rawRequest(url, GENERATE, { 'content-type': 'application/json', 'content-length': body.length }, body);
    // Once first, so that compiling the scan (V8's optimiser has its own memory) is not counted: a stranger sends many.
    expect((await send()).status).toBe(400);
    resetPeakRss();
    const before = peakRss().bytes;
    const started = performance.now();
    const res = await send();
    const ms = performance.now() - started;
    const rise = peakRss().bytes - before;
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/more than 32 levels deep/);
    console.log(`500,000-level body: 400 in ${ms.toFixed(0)} ms, peak RSS rise ${(rise / 2 ** 20).toFixed(1)} MiB`);
    expect(ms).toBeLessThan(2000);
    // The body's bytes, its text and slack (~3 MiB measured); parsing it would take ~55 MiB, echoing it overflow the stack.
    expect(rise).toBeLessThan(16 * 2 ** 20);
    await expectStillServes(url);
  });

  it('keeps a 422 small when the wrong value is huge: the echoed input is cut, not sent whole', async () => {
    const { url } = await startServer();
    const huge = 'x'.repeat(200_000);
    const res = await post(url, { prompt: [huge, huge], n: huge, seed: { a: { b: { c: huge } } } });
    expect(res.status).toBe(422);
    const text = await res.text();
    expect(text.length).toBeLessThan(2048);
    const detail = (JSON.parse(text) as { detail: Array<{ loc: string[]; input: unknown }> }).detail;
    expect(detail.map((d) => [d.loc.join('.'), d.input])).toEqual([
      ['body.prompt', [`${'x'.repeat(100)}... (199900 more characters)`, `${'x'.repeat(100)}... (199900 more characters)`]],
      ['body.n', `${'x'.repeat(100)}... (199900 more characters)`],
      ['body.seed', { a: { b: '[object]' } }],
    ]);
    await expectStillServes(url);
  });

  it('keeps a 400 small when the size string is huge: the message quotes its start', async () => {
    const { url } = await startServer();
    const res = await post(url, { prompt: 'x', size: '9'.repeat(500_000) });
    expect(res.status).toBe(400);
    const detail = (await detailOf(res)) as string;
    expect(detail).toBe(`Invalid size "${'9'.repeat(80)}… (${500_000 - 80} more characters)": expected "WIDTHxHEIGHT", e.g. "512x512".`);
    await expectStillServes(url);
  });

  it('answers 422 naming the field and the limit to a prompt or negative prompt over maxPromptLength', async () => {
    const { url } = await startServer({ maxPromptLength: 10 });
    const res = await post(url, { prompt: 'a'.repeat(11), negative_prompt: '🦊'.repeat(11) });
    expect(res.status).toBe(422);
    expect(await detailOf(res)).toEqual([
      { type: 'string_too_long', loc: ['body', 'prompt'], msg: "String should have at most 10 characters (this server's limit)", input: 'a'.repeat(11), ctx: { max_length: 10 } },
      { type: 'string_too_long', loc: ['body', 'negative_prompt'], msg: "String should have at most 10 characters (this server's limit)", input: '🦊'.repeat(11), ctx: { max_length: 10 } },
    ]);
    // Characters, not UTF-16 units: ten foxes are ten characters.
    expect((await post(url, { prompt: 'a'.repeat(10), negative_prompt: '🦊'.repeat(10), num_inference_steps: 1 })).status).toBe(200);
    await expectStillServes(url);
  });

  it('caps prompts at 4096 characters by default', async () => {
    const { url } = await startServer();
    const res = await post(url, { prompt: 'a'.repeat(4097) });
    expect(res.status).toBe(422);
    expect(await detailOf(res)).toEqual([expect.objectContaining({ loc: ['body', 'prompt'], ctx: { max_length: 4096 } })]);
    expect((await post(url, { prompt: 'a'.repeat(4096), num_inference_steps: 1 })).status).toBe(200);
  });

  it('closes the connection after answering early a request whose body is still on its way, instead of draining it', async () => {
    const { url, port } = await startServer();
    const client = await rawClient(port);
    client.socket.write('POST /v1/nothing-here HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n{"prompt": "');
    const trickle = setInterval(() => client.socket.writable && client.socket.write('x'.repeat(1024)), 20);
    const closedAfter = await client.closedWithin(2000);
    clearInterval(trickle);
    expect(client.received()).toMatch(/^HTTP\/1\.1 404 Not Found\r\n[\s\S]*Connection: close/i);
    expect(closedAfter).not.toBeNull();
    await expectStillServes(url);
  });
});

describe('image server abuse: failures inside a request', () => {
  it('survives a log callback that throws: the request is answered and no rejection goes unhandled', async () => {
    let calls = 0;
    const { url } = await startServer({
      log: () => {
        calls++;
        throw new Error('the log is broken');
      },
    });
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      expect((await post(url, { prompt: 'x', num_inference_steps: 1 })).status).toBe(200);
      expect((await post(url, { prompt: 7 })).status).toBe(422);
      await expectStillServes(url);
      await new Promise((resolve) => setImmediate(resolve));
      expect(calls).toBeGreaterThanOrEqual(4);
      expect(warnings.some((w) => w.startsWith(`The image server's log callback threw; the line was: POST ${GENERATE} 200`))).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('survives an error path that itself fails (the answer cannot be written): the connection is cut, nothing else', async () => {
    const { url, server, logs } = await startServer();
    // Runs before the server's own listener: this request's headers cannot be written, so the 404 fails inside the catch.
    const breakWriteHead = (_req: unknown, res: { writeHead: () => never }): void => {
      res.writeHead = () => {
        throw new Error('writeHead is broken');
      };
    };
    server.server.prependListener('request', breakWriteHead);
    expect(await fetch(`${url}/nope`).catch((err: unknown) => err)).toBeInstanceOf(Error);
    server.server.off('request', breakWriteHead);
    await expect.poll(() => logs).toContain('internal error: writeHead is broken');
    await expectStillServes(url);
  });

  it('refuses options out of range with ImageServerOptionError naming the option', () => {
    expect(() => createImageServer(new Promise(() => undefined), { headersTimeoutMs: 5000, requestTimeoutMs: 1000 })).toThrow(ImageServerOptionError);
    expect(() => createImageServer(new Promise(() => undefined), { maxPromptLength: 0 })).toThrow('Invalid ImageServerOptions.maxPromptLength: expected an integer of at least 1, got 0.');
    expect(() => createImageServer(new Promise(() => undefined), { apiKey: 'has space' })).toThrow(/Invalid ImageServerOptions\.apiKey: expected visible ASCII/);
    expect(() => createImageServer(new Promise(() => undefined), { allowedHosts: ['example.com:8000'] })).toThrow(/Invalid ImageServerOptions\.allowedHosts: "example\.com:8000" is not a host name/);
  });
});
