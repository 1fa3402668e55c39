import { request as httpRequest } from 'node:http';
import { decode } from 'fast-png';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DiffusionEngine } from '../../../src/index.js';
import { createImageServer, type ImageServer, type ImageServerOptions } from '../../../src/server/index.js';
import { testPattern } from '../../helpers/fake-image-api.js';
import { PatternExecutor } from '../../helpers/pattern-executor.js';

const GENERATE = '/v1/images/generations';
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function patternEngine(stepMs = 2): Promise<DiffusionEngine> {
  return DiffusionEngine.create({ executorClass: PatternExecutor, numGpus: 0, stepMs });
}

async function start(engine: DiffusionEngine | Promise<DiffusionEngine>, options: ImageServerOptions = {}): Promise<{ server: ImageServer; url: string; logs: string[] }> {
  const logs: string[] = [];
  const server = createImageServer(engine, { log: (line) => logs.push(line), ...options });
  const url = await server.listen(0);
  cleanups.push(async () => {
    await server.close();
    await Promise.resolve(engine).then((e) => e.close(), () => undefined);
  });
  return { server, url, logs };
}

function post(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(`${url}${GENERATE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init });
}

async function detailOf(res: Response): Promise<unknown> {
  return ((await res.json()) as { detail: unknown }).detail;
}

/** Sends a body in chunks without Content-Length, and resolves with the status (or the error when the socket closed first). */
function postChunked(url: string, chunks: string[]): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpRequest(`${url}${GENERATE}`, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) => resolve(err.message));
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe('image server: POST /v1/images/generations', () => {
  it('answers {created, data: [{b64_json, url, revised_prompt}]} with one PNG per image of the asked size and seed', async () => {
    const { url } = await start(await patternEngine());
    const before = Math.floor(Date.now() / 1000);
    const res = await post(url, { prompt: 'a cat', n: 2, size: '24x16', seed: 3, num_inference_steps: 2, guidance_scale: 0, negative_prompt: 'dog', response_format: 'b64_json', output_format: 'png', model: 'anything' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const body = (await res.json()) as { created: number; data: Array<{ b64_json: string; url: null; revised_prompt: null }> };
    expect(body.created).toBeGreaterThanOrEqual(before);
    expect(body.data).toHaveLength(2);
    body.data.forEach((item, i) => {
      expect(item.url).toBeNull();
      expect(item.revised_prompt).toBeNull();
      const png = decode(Buffer.from(item.b64_json, 'base64'));
      expect([png.width, png.height, png.channels]).toEqual([24, 16, 4]);
      expect(Array.from(png.data)).toEqual(Array.from(testPattern(24, 16, 3 + i)));
    });
  });

  it('passes only what the body sets, leaving the rest to the model', async () => {
    const engine = await patternEngine();
    const seen = vi.spyOn(engine, 'step');
    const { url } = await start(engine);
    expect((await post(url, { prompt: '' })).status).toBe(200);
    const [request] = seen.mock.calls[0]![0];
    expect(Object.keys(request!).sort()).toEqual(['prompt', 'signal']);
  });

  it('answers 422 with a FastAPI detail list naming every bad field', async () => {
    const { url } = await start(await patternEngine());
    const res = await post(url, { n: 11, num_inference_steps: 0, guidance_scale: 'high', seed: -1, negative_prompt: 3 });
    expect(res.status).toBe(422);
    const detail = (await detailOf(res)) as Array<{ loc: string[]; msg: string; type: string }>;
    expect(detail.map((d) => [d.loc.join('.'), d.type, d.msg])).toEqual([
      ['body.prompt', 'missing', 'Field required'],
      ['body.negative_prompt', 'string_type', 'Input should be a valid string'],
      ['body.n', 'less_than_equal', 'Input should be less than or equal to 10'],
      ['body.num_inference_steps', 'greater_than_equal', 'Input should be greater than or equal to 1'],
      ['body.guidance_scale', 'float_type', 'Input should be a valid number'],
      ['body.seed', 'greater_than_equal', 'Input should be greater than or equal to 0'],
    ]);
  });

  it.each([
    [{ prompt: 'x', guidance_scale: 20.5 }, 'guidance_scale', 'Input should be less than or equal to 20'],
    [{ prompt: 'x', n: 1.5 }, 'n', 'Input should be a valid integer, got a number with a fractional part or out of range'],
    [{ prompt: 7 }, 'prompt', 'Input should be a valid string'],
    [{ prompt: 'x', size: 512 }, 'size', 'Input should be a valid string'],
  ])('answers 422 for %j', async (body, field, msg) => {
    const { url } = await start(await patternEngine());
    const res = await post(url, body);
    expect(res.status).toBe(422);
    expect(await detailOf(res)).toEqual([expect.objectContaining({ loc: ['body', field], msg })]);
  });

  it('answers 422 when the body is JSON but not an object', async () => {
    const { url } = await start(await patternEngine());
    const res = await post(url, ['a cat']);
    expect(res.status).toBe(422);
    expect(await detailOf(res)).toEqual([expect.objectContaining({ loc: ['body'], type: 'model_attributes_type' })]);
  });

  it.each([
    [{ size: '512' }, 'Invalid size "512": expected "WIDTHxHEIGHT", e.g. "512x512".'],
    [{ size: '30x32' }, 'Invalid size "30x32": the width must be a positive multiple of 8.'],
    [{ size: '32x0' }, 'Invalid size "32x0": the height must be a positive multiple of 8.'],
    [{ size: '4096x512' }, `Invalid size "4096x512": the width is over this server's limit of 2048.`],
    [{ response_format: 'url' }, 'response_format "url" is not supported: this server answers with "b64_json" only.'],
    [{ output_format: 'jpeg' }, 'output_format "jpeg" is not supported: this server encodes "png" only.'],
  ])('answers 400 with a sentence for %j', async (fields, detail) => {
    const { url } = await start(await patternEngine());
    const res = await post(url, { prompt: 'x', ...fields });
    expect(res.status).toBe(400);
    expect(await detailOf(res)).toBe(detail);
  });

  it('answers 400 for malformed JSON and 415 for a body that is not JSON', async () => {
    const { url } = await start(await patternEngine());
    const malformed = await fetch(`${url}${GENERATE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"prompt": ' });
    expect(malformed.status).toBe(400);
    expect(await detailOf(malformed)).toMatch(/^The request body is not valid JSON: /);
    const text = await fetch(`${url}${GENERATE}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'a cat' });
    expect(text.status).toBe(415);
    expect(await detailOf(text)).toBe('Content-Type must be application/json, got "text/plain".');
    const form = await fetch(`${url}${GENERATE}`, { method: 'POST', body: new URLSearchParams({ prompt: 'a cat' }) });
    expect(form.status).toBe(415);
  });

  it('answers 413 for a body over the limit, by its Content-Length or as it streams in', async () => {
    const engine = await patternEngine();
    const { url } = await start(engine, { maxBodyBytes: 2048 });
    const declared = await post(url, { prompt: 'x'.repeat(4096) });
    expect(declared.status).toBe(413);
    expect(declared.headers.get('connection')).toBe('close');
    expect(await detailOf(declared)).toBe(`The request body (${JSON.stringify({ prompt: 'x'.repeat(4096) }).length} bytes) is over the limit of 2048 bytes.`);
    expect(await postChunked(url, ['{"prompt": "', 'y'.repeat(1500), 'y'.repeat(1500), '"}'])).toBe(413);
    expect((engine.executor as PatternExecutor).started).toHaveLength(0);
    expect((await post(url, { prompt: 'x'.repeat(1000) })).status).toBe(200);
  });

  it('answers 500 with the error when a generation fails', async () => {
    const { url } = await start(await patternEngine());
    const res = await post(url, { prompt: 'fail' });
    expect(res.status).toBe(500);
    expect(await detailOf(res)).toBe('the pattern executor was told to fail');
  });

  it('runs concurrent requests one at a time, in arrival order, and answers them all', async () => {
    const engine = await patternEngine(5);
    const { url } = await start(engine);
    const finished: number[] = [];
    const responses = await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        await new Promise((resolve) => setTimeout(resolve, i * 5));
        const res = await post(url, { prompt: `p${i}`, seed: i, num_inference_steps: 6 });
        finished.push(i);
        return res;
      }),
    );
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(finished).toEqual([0, 1, 2, 3]);
    const executor = engine.executor as PatternExecutor;
    expect(executor.maxRunning).toBe(1);
    for (const [i, res] of responses.entries()) {
      const png = decode(Buffer.from(((await res.json()) as { data: Array<{ b64_json: string }> }).data[0]!.b64_json, 'base64'));
      expect(Array.from(png.data)).toEqual(Array.from(testPattern(16, 16, i)));
    }
  });

  it('answers 503 with Retry-After when more requests wait than maxQueuedRequests', async () => {
    const { url } = await start(await patternEngine(5), { maxQueuedRequests: 1 });
    const running = post(url, { prompt: 'a', num_inference_steps: 20 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const waiting = post(url, { prompt: 'b', num_inference_steps: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const refused = await post(url, { prompt: 'c' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(await detailOf(refused)).toMatch(/busy: 1 requests are already waiting/);
    expect([(await running).status, (await waiting).status]).toEqual([200, 200]);
  });

  it('cancels the request of a client that disconnects, running or waiting, and goes on with the next', async () => {
    const engine = await patternEngine(20);
    const { url, logs } = await start(engine);
    const executor = engine.executor as PatternExecutor;
    const running = new AbortController();
    const waiting = new AbortController();
    const first = post(url, { prompt: 'slow', num_inference_steps: 200 }, { signal: running.signal }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(executor.started).toHaveLength(1));
    const second = post(url, { prompt: 'queued', num_inference_steps: 200 }, { signal: waiting.signal }).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 30));
    waiting.abort();
    running.abort();
    expect(await first).toBeInstanceOf(Error);
    expect(await second).toBeInstanceOf(Error);
    await vi.waitFor(() => expect(logs.filter((l) => l.includes('cancelled: the client closed the connection'))).toHaveLength(2));
    expect(executor.aborted).toHaveLength(1);
    expect(executor.started).toHaveLength(1);
    const next = await post(url, { prompt: 'next', num_inference_steps: 1 });
    expect(next.status).toBe(200);
  });
});

describe('image server: GET /health and the engine lifecycle', () => {
  it('answers 503 while the engine loads (generation too), then 200', async () => {
    let resolveEngine!: (engine: DiffusionEngine) => void;
    const loading = new Promise<DiffusionEngine>((resolve) => (resolveEngine = resolve));
    const { url, server } = await start(loading);
    expect(server.state).toBe('loading');
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(503);
    expect(health.headers.get('retry-after')).toBe('1');
    expect(await detailOf(health)).toBe('The model is still loading. Retry shortly.');
    const early = await post(url, { prompt: 'x' });
    expect(early.status).toBe(503);
    resolveEngine(await patternEngine());
    await server.ready;
    expect(server.state).toBe('ready');
    const ok = await fetch(`${url}/health`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ok' });
    expect((await post(url, { prompt: 'x' })).status).toBe(200);
  });

  it('answers 503 naming the error when the engine failed to load', async () => {
    const failed = Promise.reject(new Error('Model folder /nowhere does not exist'));
    const { url, server } = await start(failed);
    await expect(server.ready).rejects.toThrow('/nowhere');
    expect(server.state).toBe('failed');
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(503);
    expect(await detailOf(health)).toBe('The model failed to load: Model folder /nowhere does not exist');
  });

  it('answers 503 when the engine is closed', async () => {
    const engine = await patternEngine();
    const { url } = await start(engine);
    await engine.close();
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(503);
    expect(await detailOf(health)).toMatch(/^The engine is unhealthy: EngineClosedError/);
    const res = await post(url, { prompt: 'x' });
    expect(res.status).toBe(503);
  });

  it('answers 404 for unknown paths and 405 with Allow for other methods', async () => {
    const { url } = await start(await patternEngine());
    const missing = await fetch(`${url}/v1/models/nope`);
    expect(missing.status).toBe(404);
    expect(await detailOf(missing)).toBe('Not Found');
    const get = await fetch(`${url}${GENERATE}`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const postHealth = await fetch(`${url}/health`, { method: 'POST' });
    expect(postHealth.status).toBe(405);
    expect(postHealth.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${url}/health?verbose=1`)).status).toBe(200);
  });

  it('close() answers the requests in flight with 503 and stops listening', async () => {
    const engine = await patternEngine(20);
    const { url, server } = await start(engine);
    const inFlight = post(url, { prompt: 'slow', num_inference_steps: 200 });
    await vi.waitFor(() => expect((engine.executor as PatternExecutor).started).toHaveLength(1));
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(1500);
    const res = await inFlight;
    expect(res.status).toBe(503);
    expect(await detailOf(res)).toBe('The server is shutting down.');
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});
