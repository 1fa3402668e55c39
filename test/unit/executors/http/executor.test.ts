import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ConfigValidationError,
  DiffusionConfig,
  DiffusionEngine,
  DiffusionRequest,
  EngineClosedError,
  HTTPDiffusionExecutor,
  HTTPExecutorError,
  type DiffusionOutput,
  type DiffusionProgress,
  type DiffusionRequestInit,
  type HTTPExecutorOptions,
} from '../../../../src/index.js';
import {
  a1111Responder,
  openaiImagesReply,
  openaiImagesResponder,
  pngBase64,
  SERVER_CHOSEN_SEED,
  testPattern,
} from '../../../helpers/fake-image-api.js';
import type { Reply } from '../../../helpers/fault-server.js';
import { perTestServer } from './per-test-server.js';

const GENERATE = '/v1/images/generations';
const TXT2IMG = '/sdapi/v1/txt2img';
const MODEL = 'stabilityai/sd-turbo';

const env = perTestServer();

async function executorFor(http: Partial<HTTPExecutorOptions> = {}, modelNameOrPath: string | null = MODEL): Promise<HTTPDiffusionExecutor> {
  const config = new DiffusionConfig({ numGpus: 0, modelNameOrPath: modelNameOrPath ?? undefined, http: { baseUrl: env.server.url, retryBaseDelayMs: 1, timeoutMs: 3000, ...http } });
  const executor = new HTTPDiffusionExecutor(config);
  env.track(executor);
  await executor.initExecutor();
  return executor;
}

/** The error `promise` rejects with, failing the test unless it is an HTTPExecutorError. */
async function httpErrorOf(promise: Promise<unknown>): Promise<HTTPExecutorError> {
  const err: unknown = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HTTPExecutorError);
  return err as HTTPExecutorError;
}

async function runOne(executor: HTTPDiffusionExecutor, init: DiffusionRequestInit): Promise<DiffusionOutput> {
  const [out] = await executor.executeModel([new DiffusionRequest(init)]);
  return out!;
}

describe('HTTPDiffusionExecutor against an OpenAI-compatible (vllm-omni) server', () => {
  it('maps every request field to the server body and decodes the PNGs into RGBA images with their seeds', async () => {
    env.server.route(`POST ${GENERATE}`, openaiImagesResponder);
    const executor = await executorFor();
    const progress: DiffusionProgress[] = [];
    const out = await runOne(executor, {
      prompt: 'a red fox',
      negativePrompt: 'blurry',
      numInferenceSteps: 4,
      guidanceScale: 7.5,
      height: 16,
      width: 24,
      seed: 10,
      numOutputsPerPrompt: 2,
      requestId: 'fox',
      onProgress: (p) => progress.push(p),
    });
    expect(out.error).toBeNull();
    expect(env.server.requestsTo(GENERATE)[0]!.json()).toEqual({
      prompt: 'a red fox',
      n: 2,
      response_format: 'b64_json',
      model: MODEL,
      size: '24x16',
      negative_prompt: 'blurry',
      num_inference_steps: 4,
      guidance_scale: 7.5,
      seed: 10,
    });
    expect(out.requestId).toBe('fox');
    expect(out.images).toHaveLength(2);
    out.images.forEach((image, i) => {
      expect(image).toMatchObject({ width: 24, height: 16, seed: 10 + i });
      expect(image.data).toBeInstanceOf(Uint8ClampedArray);
      expect(image.data).toEqual(testPattern(24, 16, 10 + i));
    });
    expect(out.metrics).toMatchObject({ executor: 'http', seeds: [10, 11], attempts: 1 });
    expect(out.metrics.totalMs).toBeGreaterThan(0);
    expect(progress).toEqual([{ requestId: 'fox', step: 4, total: 4, elapsedMs: expect.any(Number) }]);
  });

  it('sends only prompt, n, response_format and model when the request sets nothing else, and reports no seed', async () => {
    env.server.route(`POST ${GENERATE}`, openaiImagesResponder);
    const executor = await executorFor();
    const progress: DiffusionProgress[] = [];
    const out = await runOne(executor, { prompt: 'x', onProgress: (p) => progress.push(p) });
    expect(env.server.requests[0]!.json()).toEqual({ prompt: 'x', n: 1, response_format: 'b64_json', model: MODEL });
    expect(out.images).toHaveLength(1);
    expect(out.images[0]!.seed).toBeUndefined();
    expect(out.metrics.seeds).toBeUndefined();
    expect(progress.map((p) => [p.step, p.total])).toEqual([[1, 1]]);
  });

  it('sends http.model over modelNameOrPath, and no model at all when neither is set', async () => {
    env.server.route(`POST ${GENERATE}`, openaiImagesResponder);
    await runOne(await executorFor({ model: 'served-name' }), { prompt: 'x' });
    await runOne(await executorFor({}, null), { prompt: 'x' });
    const [first, second] = env.server.requestsTo(GENERATE).map((r) => r.json());
    expect(first!.model).toBe('served-name');
    expect(second).not.toHaveProperty('model');
  });

  it('sends Authorization: Bearer <apiKey> when a key is set, and no Authorization header otherwise', async () => {
    env.server.route(`POST ${GENERATE}`, openaiImagesResponder);
    await runOne(await executorFor({ apiKey: 'sk-test-123' }), { prompt: 'x' });
    await runOne(await executorFor(), { prompt: 'x' });
    expect(env.server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer sk-test-123', undefined]);
    expect(env.server.requests[0]!.headers['content-type']).toBe('application/json');
  });

  it('runs the requests of one call concurrently and returns their outputs in request order', async () => {
    let releaseFirst!: () => void;
    const thirdArrived = new Promise<void>((resolve) => (releaseFirst = resolve));
    env.server.route(`POST ${GENERATE}`, async (req, i) => {
      if (i === 2) releaseFirst();
      // The first request is answered only once the third has arrived, which cannot happen if they run one by one.
      if (i === 0) await thirdArrived;
      return openaiImagesReply(req.json());
    });
    const executor = await executorFor({ timeoutMs: 1000, maxRetries: 0 });
    const outputs = await executor.executeModel([1, 2, 3].map((seed) => new DiffusionRequest({ prompt: `p${seed}`, seed, requestId: `r${seed}` })));
    expect(outputs.map((o) => o.requestId)).toEqual(['r1', 'r2', 'r3']);
    expect(outputs.map((o) => o.images[0]!.seed)).toEqual([1, 2, 3]);
    expect(outputs.map((o) => o.images[0]!.data)).toEqual([1, 2, 3].map((s) => testPattern(16, 16, s)));
  });

  it('fails only the request the server rejects, leaving the others of the call intact', async () => {
    env.server.route(`POST ${GENERATE}`, (req) =>
      req.json().prompt === 'bad' ? { status: 400, json: { detail: 'prompt refused' } } : openaiImagesReply(req.json()),
    );
    const executor = await executorFor();
    const outputs = await executor.executeModel(['ok', 'bad', 'ok'].map((prompt) => new DiffusionRequest({ prompt })));
    expect(outputs.map((o) => o.error === null)).toEqual([true, false, true]);
    expect(outputs[1]!.error).toContain('prompt refused');
    expect(outputs[1]!.images).toEqual([]);
  });
});

describe('HTTPDiffusionExecutor against AUTOMATIC1111', () => {
  it('maps the request to txt2img fields, skips the batch grid and takes the seeds from info', async () => {
    env.server.route(`POST ${TXT2IMG}`, a1111Responder);
    const executor = await executorFor({ api: 'a1111' });
    const out = await runOne(executor, {
      prompt: 'a lighthouse',
      negativePrompt: 'fog',
      numInferenceSteps: 20,
      guidanceScale: 6,
      width: 16,
      height: 8,
      numOutputsPerPrompt: 2,
      scheduler: 'euler_a',
    });
    expect(out.error).toBeNull();
    expect(env.server.requestsTo(TXT2IMG)[0]!.json()).toEqual({
      prompt: 'a lighthouse',
      negative_prompt: 'fog',
      steps: 20,
      cfg_scale: 6,
      width: 16,
      height: 8,
      seed: -1,
      batch_size: 2,
      n_iter: 1,
      sampler_name: 'Euler a',
    });
    expect(out.images.map((im) => [im.width, im.height, im.seed])).toEqual([
      [16, 8, SERVER_CHOSEN_SEED],
      [16, 8, SERVER_CHOSEN_SEED + 1],
    ]);
    expect(out.images[1]!.data).toEqual(testPattern(16, 8, SERVER_CHOSEN_SEED + 1));
    expect(out.metrics.seeds).toEqual([SERVER_CHOSEN_SEED, SERVER_CHOSEN_SEED + 1]);
  });

  it('sends the request seed and http.model as the checkpoint override', async () => {
    env.server.route(`POST ${TXT2IMG}`, a1111Responder);
    const out = await runOne(await executorFor({ api: 'a1111', model: 'v1-5-pruned.safetensors' }), { prompt: 'x', seed: 99 });
    expect(env.server.requests[0]!.json()).toEqual({
      prompt: 'x',
      seed: 99,
      batch_size: 1,
      n_iter: 1,
      override_settings: { sd_model_checkpoint: 'v1-5-pruned.safetensors' },
    });
    expect(out.images[0]!.seed).toBe(99);
  });
});

describe('HTTPDiffusionExecutor timeouts and retries', () => {
  it('fails with a TimeoutError naming http.timeoutMs when the server does not answer in time', async () => {
    env.server.route(`POST ${GENERATE}`, [{ hang: true }]);
    const executor = await executorFor({ timeoutMs: 100, maxRetries: 0 });
    const started = Date.now();
    const out = await runOne(executor, { prompt: 'x' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(out.errorName).toBe('TimeoutError');
    expect(out.error).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/v1\/images\/generations got no complete answer within 100 ms \(http\.timeoutMs\)/);
  });

  it('applies the time limit to each attempt and retries timeouts, saying how many attempts it made', async () => {
    env.server.route(`POST ${GENERATE}`, [{ delayMs: 1000, then: { json: {} } }]);
    const out = await runOne(await executorFor({ timeoutMs: 80, maxRetries: 1 }), { prompt: 'x' });
    expect(env.server.requests).toHaveLength(2);
    expect(out.errorName).toBe('TimeoutError');
    expect(out.error).toContain('gave up after 2 attempts');
  });

  it('retries a 500 and succeeds on the next attempt', async () => {
    env.server.route(`POST ${GENERATE}`, (req, i) => (i === 0 ? { status: 500, json: { detail: 'CUDA out of memory' } } : openaiImagesReply(req.json())));
    const out = await runOne(await executorFor(), { prompt: 'x', seed: 3 });
    expect(out.error).toBeNull();
    expect(env.server.requests).toHaveLength(2);
    expect(out.metrics.attempts).toBe(2);
    expect(out.images[0]!.seed).toBe(3);
  });

  it('retries a 429 after the delay its Retry-After header asks for', async () => {
    const arrivals: number[] = [];
    env.server.route(`POST ${GENERATE}`, (req, i) => {
      arrivals.push(performance.now());
      return i === 0 ? { status: 429, json: { detail: 'slow down' }, headers: { 'retry-after': '1' } } : openaiImagesReply(req.json());
    });
    const out = await runOne(await executorFor({ retryBaseDelayMs: 1 }), { prompt: 'x' });
    expect(out.error).toBeNull();
    expect(arrivals).toHaveLength(2);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(950);
  });

  it('gives up after maxRetries on a persistent 503, reporting status and detail', async () => {
    env.server.route(`POST ${GENERATE}`, [{ status: 503, json: { detail: 'No diffusion stage loaded' } }]);
    const out = await runOne(await executorFor({ maxRetries: 2 }), { prompt: 'x' });
    expect(env.server.requests).toHaveLength(3);
    expect(out.errorName).toBe('HTTPExecutorError');
    expect(out.error).toMatch(/answered 503 Service Unavailable: No diffusion stage loaded \(gave up after 3 attempts\)/);
  });

  it('does not retry a 400 and shows the server detail', async () => {
    env.server.route(`POST ${GENERATE}`, [{ status: 400, json: { detail: 'Invalid size "7x7"' } }]);
    const out = await runOne(await executorFor({ maxRetries: 3 }), { prompt: 'x' });
    expect(env.server.requests).toHaveLength(1);
    expect(out.errorName).toBe('HTTPExecutorError');
    expect(out.error).toContain('answered 400 Bad Request: Invalid size "7x7"');
    expect(out.metrics.attempts).toBe(1);
  });

  it('renders a FastAPI validation detail list as readable field: message pairs', async () => {
    const detail = [
      { loc: ['body', 'n'], msg: 'Input should be less than or equal to 10', type: 'less_than_equal' },
      { loc: ['body', 'num_inference_steps'], msg: 'Input should be greater than or equal to 1', type: 'greater_than_equal' },
    ];
    env.server.route(`POST ${GENERATE}`, [{ status: 422, json: { detail } }]);
    const out = await runOne(await executorFor(), { prompt: 'x' });
    expect(env.server.requests).toHaveLength(1);
    expect(out.error).toContain(
      'answered 422 Unprocessable Entity: n: Input should be less than or equal to 10; num_inference_steps: Input should be greater than or equal to 1',
    );
  });

  it('retries a reset connection and then fails naming the network failure', async () => {
    env.server.route(`POST ${GENERATE}`, [{ reset: true }]);
    const out = await runOne(await executorFor({ maxRetries: 2 }), { prompt: 'x' });
    expect(env.server.requests).toHaveLength(3);
    expect(out.errorName).toBe('HTTPExecutorError');
    expect(out.error).toMatch(/Network failure: POST http:\/\/127\.0\.0\.1:\d+\/v1\/images\/generations got no answer \(.+\) \(gave up after 3 attempts\)/);
  });

  it('names the refused connection when no server listens', async () => {
    const executor = await executorFor({ maxRetries: 0 });
    await env.server.close();
    const out = await runOne(executor, { prompt: 'x' });
    expect(out.error).toMatch(/Network failure: .*ECONNREFUSED/);
    await env.restart();
  });
});

describe('HTTPDiffusionExecutor response checks', () => {
  const cases: Array<[string, Reply, RegExp]> = [
    ['malformed JSON', { text: '{"data": [', headers: { 'content-type': 'application/json' } }, /answered 200 with malformed JSON .*"\{\\"data\\": \["/],
    ['an empty body', { text: '' }, /answered 200 with an empty body/],
    ['a body without data', { json: { created: 1 } }, /answered 200, but the response has no "data" array/],
    ['an entry without b64_json', { json: { data: [{ url: 'http://x/1.png' }] } }, /data\[0\] has no "b64_json" string \(it sent a "url" instead/],
    ['invalid base64', { json: { data: [{ b64_json: 'not base64!!' }] } }, /image 1 of 1 could not be decoded: invalid base64/],
    ['a JPEG instead of a PNG', { json: { data: [{ b64_json: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16]).toString('base64') }] } }, /image 1 of 1 could not be decoded: the image is a JPEG, not a PNG/],
    ['a truncated PNG', { json: { data: [{ b64_json: pngBase64(16, 8, 1).slice(0, 80) }] } }, /image 1 of 1 could not be decoded: corrupt PNG/],
    ['fewer images than asked', { json: { data: [] } }, /"data" holds only 0 of the 1 image\(s\) asked for/],
    ['an image of the wrong size', { json: { data: [{ b64_json: pngBase64(8, 8, 1) }] } }, /image 1 of 1 is 8x8 \(WxH\), while 16x8 was asked for/],
  ];

  it.each(cases)('fails clearly, without retrying, on %s', async (_name, reply, message) => {
    env.server.route(`POST ${GENERATE}`, [reply]);
    const out = await runOne(await executorFor(), { prompt: 'x', width: 16, height: 8 });
    expect(out.errorName).toBe('HTTPExecutorError');
    expect(out.error).toMatch(message);
    expect(out.images).toEqual([]);
    expect(env.server.requests).toHaveLength(1);
  });

  it('refuses img2img, eta and a width without a height before sending anything', async () => {
    const executor = await executorFor();
    const image = { width: 8, height: 8, data: new Uint8ClampedArray(256) };
    const [img2img, widthOnly, eta] = await executor.executeModel([
      new DiffusionRequest({ prompt: 'x', image, strength: 0.5 }),
      new DiffusionRequest({ prompt: 'x', width: 64 }),
      new DiffusionRequest({ prompt: 'x', scheduler: 'ddim', eta: 1 }),
    ]);
    expect(eta!.errorName).toBe('RequestValidationError');
    expect(eta!.error).toMatch(/DiffusionRequest\.eta = 1: expected 0: the server API has no eta/);
    expect(img2img!.errorName).toBe('RequestValidationError');
    expect(img2img!.error).toMatch(/DiffusionRequest\.image .*text-to-image only/);
    expect(widthOnly!.errorName).toBe('RequestValidationError');
    expect(widthOnly!.error).toMatch(/DiffusionRequest\.height .*"WxH" size/);
    expect(env.server.requests).toHaveLength(0);
  });
});

describe('HTTPDiffusionExecutor cancellation', () => {
  it('aborts a request in flight: it ends promptly with AbortError and the server sees the connection close', async () => {
    env.server.route(`POST ${GENERATE}`, [{ hang: true }]);
    const executor = await executorFor({ timeoutMs: 10_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = Date.now();
    const out = await runOne(executor, { prompt: 'x', signal: controller.signal });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(out.errorName).toBe('AbortError');
    expect(out.error).toMatch(/^AbortError: POST .* was aborted/);
    const received = env.server.requests[0]!;
    await vi.waitFor(() => expect(received.isClosed).toBe(true), { timeout: 2000 });
    expect(received.answered).toBe(false);
  });

  it('aborts during the backoff wait without another attempt', async () => {
    env.server.route(`POST ${GENERATE}`, [{ status: 503, json: { detail: 'busy' }, headers: { 'retry-after': '30' } }]);
    const executor = await executorFor();
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user pressed stop')), 50);
    const started = Date.now();
    const out = await runOne(executor, { prompt: 'x', signal: controller.signal });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(out.errorName).toBe('AbortError');
    expect(out.error).toContain('user pressed stop');
    expect(env.server.requests).toHaveLength(1);
  });

  it('does not send a request whose signal is already aborted', async () => {
    const out = await runOne(await executorFor(), { prompt: 'x', signal: AbortSignal.abort() });
    expect(out.errorName).toBe('AbortError');
    expect(env.server.requests).toHaveLength(0);
  });

  it('close() cancels the requests in flight, whose outputs say so, and later calls reject', async () => {
    env.server.route(`POST ${GENERATE}`, [{ hang: true }]);
    const executor = await executorFor({ timeoutMs: 10_000 });
    const pending = executor.executeModel([new DiffusionRequest({ prompt: 'a' }), new DiffusionRequest({ prompt: 'b' })]);
    await vi.waitFor(() => expect(env.server.requests).toHaveLength(2));
    const started = Date.now();
    await executor.close();
    const outputs = await pending;
    expect(Date.now() - started).toBeLessThan(1000);
    expect(outputs.map((o) => o.errorName)).toEqual(['AbortError', 'AbortError']);
    expect(outputs[0]!.error).toContain('the http executor was shut down');
    await expect(executor.executeModel([new DiffusionRequest({ prompt: 'c' })])).rejects.toBeInstanceOf(EngineClosedError);
  });
});

describe('HTTPDiffusionExecutor API key hygiene', () => {
  const KEY = 'sk-live-0123456789abcdef';

  it('never puts the key in errors, outputs or logs, even when the server echoes it', async () => {
    const logged: unknown[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void logged.push(...args)),
    );
    try {
      env.server.route(`POST ${GENERATE}`, (req, i) =>
        i === 0
          ? { status: 401, json: { detail: `bad credentials: ${req.headers.authorization}` } }
          : { status: 500, text: `upstream said ${req.headers.authorization}` },
      );
      const executor = await executorFor({ apiKey: KEY, maxRetries: 0 });
      const rejected = await runOne(executor, { prompt: 'x' });
      const failed = await runOne(executor, { prompt: 'x' });
      env.server.route('GET /health', [{ status: 503, json: { detail: `key ${KEY} expired` } }]);
      const health = await httpErrorOf(executor.checkHealth());
      await env.server.close();
      const unreachable = await runOne(executor, { prompt: 'x' });
      await env.restart();

      expect(env.server.requests).toHaveLength(0);
      expect(rejected.error).toContain('bad credentials: Bearer [redacted]');
      expect(failed.error).toContain('upstream said Bearer [redacted]');
      expect(health.detail).toBe('key [redacted] expired');
      for (const text of [rejected, failed, unreachable].map((o) => JSON.stringify(o)).concat(health.message, String(health.stack))) {
        expect(text).not.toContain(KEY);
      }
      expect(JSON.stringify(logged)).not.toContain(KEY);
    } finally {
      spies.forEach((s) => s.mockRestore());
    }
  });
});

describe('HTTPDiffusionExecutor lifecycle', () => {
  it('throws ConfigValidationError for http.baseUrl when the config has no http section', () => {
    const executor = new HTTPDiffusionExecutor(new DiffusionConfig({ numGpus: 0 }));
    let err: unknown;
    try {
      executor.initExecutor();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect((err as ConfigValidationError).field).toBe('http.baseUrl');
  });

  it('refuses credentials inside baseUrl without echoing them', () => {
    const executor = new HTTPDiffusionExecutor(new DiffusionConfig({ http: { baseUrl: 'http://user:hunter2@127.0.0.1:1/' } }));
    expect(() => executor.initExecutor()).toThrow(ConfigValidationError);
    expect(() => executor.initExecutor()).not.toThrow(/hunter2/);
  });

  it('initialises without contacting the server, so it can wait for one to come up', async () => {
    await env.server.close();
    await executorFor();
    await env.restart();
    expect(env.server.requests).toHaveLength(0);
  });

  it('checkHealth resolves on 200 from GET /health and rejects with HTTPExecutorError otherwise', async () => {
    const executor = await executorFor();
    env.server.route('GET /health', [{ text: '' }, { status: 503, json: { detail: 'warming up' } }, { status: 204, text: '' }]);
    await expect(executor.checkHealth()).resolves.toBeUndefined();
    const down = await httpErrorOf(executor.checkHealth());
    expect(down).toMatchObject({ status: 503, detail: 'warming up' });
    expect(down.message).toMatch(/^Health check failed: GET http:\/\/127\.0\.0\.1:\d+\/health answered 503 Service Unavailable: warming up\.$/);
    await expect(executor.checkHealth()).rejects.toMatchObject({ name: 'HTTPExecutorError', status: 204 });
    expect(env.server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /health', 'GET /health', 'GET /health']);
  });

  it('checkHealth rejects with HTTPExecutorError (status null) when nothing listens', async () => {
    const executor = await executorFor();
    await env.server.close();
    const err = await httpErrorOf(executor.checkHealth());
    await env.restart();
    expect(err.status).toBeNull();
    expect(err.message).toMatch(/^Health check failed: Network failure: GET .*\/health got no answer/);
  });

  it('checks AUTOMATIC1111 liveness on /internal/ping', async () => {
    env.server.route('GET /internal/ping', [{ json: {} }]);
    await (await executorFor({ api: 'a1111' })).checkHealth();
    expect(env.server.requests.map((r) => r.path)).toEqual(['/internal/ping']);
  });

  it('keeps a baseUrl path prefix and drops its trailing slash', async () => {
    env.server.route(`POST /proxy${GENERATE}`, openaiImagesResponder);
    const out = await runOne(await executorFor({ baseUrl: `${env.server.url}/proxy/` }), { prompt: 'x' });
    expect(out.error).toBeNull();
  });
});

describe('HTTPDiffusionExecutor through DiffusionEngine', () => {
  it.each([
    ['the "http" shorthand', 'http' as const],
    ['the class', HTTPDiffusionExecutor],
  ])('runs requests when chosen by %s', async (_how, executorClass) => {
    env.server.route(`POST ${GENERATE}`, openaiImagesResponder);
    env.server.route('GET /health', [{ text: 'ok' }]);
    const engine = await DiffusionEngine.create({ executorClass, numGpus: 0, modelNameOrPath: MODEL, http: { baseUrl: env.server.url, retryBaseDelayMs: 1 } });
    try {
      expect(engine.executorName).toBe('http');
      expect(engine.executor).toBeInstanceOf(HTTPDiffusionExecutor);
      await engine.checkHealth();
      const outputs = await engine.step([{ prompt: 'a', seed: 5, width: 8, height: 8 }, { prompt: 'b', numInferenceSteps: 1000 }]);
      expect(outputs[0]!.images[0]).toMatchObject({ width: 8, height: 8, seed: 5 });
      expect(outputs[1]!.error).toBeNull();
      const generated = await engine.generate({ prompt: 'c', seed: 7 });
      expect(generated.metrics.seeds).toEqual([7]);
    } finally {
      await engine.close();
    }
  });

  it('reports a request failure through generate() as a rejection carrying the error name', async () => {
    env.server.route(`POST ${GENERATE}`, [{ status: 400, json: { detail: 'nope' } }]);
    const engine = await DiffusionEngine.create({ executorClass: 'http', http: { baseUrl: env.server.url } });
    try {
      await expect(engine.generate({ prompt: 'x' })).rejects.toMatchObject({ name: 'HTTPExecutorError', message: expect.stringContaining('nope') });
    } finally {
      await engine.close();
    }
  });
});
