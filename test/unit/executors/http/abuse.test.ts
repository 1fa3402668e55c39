import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigValidationError, DiffusionConfig, DiffusionRequest, HTTPDiffusionExecutor, type DiffusionOutput, type DiffusionRequestInit, type HTTPExecutorOptions } from '../../../../src/index.js';
import { defaultMaxResponseBytes, MAX_ERROR_BODY_BYTES, MAX_REMOTE_IMAGE_PIXELS } from '../../../../src/executors/http/limits.js';
import { openaiImagesResponder, pngBase64 } from '../../../helpers/fake-image-api.js';
import type { Reply } from '../../../helpers/fault-server.js';
import { peakRss, resetPeakRss } from '../../../helpers/peak-rss.js';
import { compressedZeros, endlessJsonBody, ihdrChunk, imageReply, pngChunk, pngFile, zeroIdatChunk, type BombEncoding } from './hostile-replies.js';
import { perTestServer } from './per-test-server.js';

/**
 * The abuse suite of the http executor: everything a stranger's server can send. Each case
 * fails with a typed error naming the limit, promptly, within a stated memory bound, without a
 * retry, and leaves the executor able to serve the next, normal answer.
 */

const GENERATE = '/v1/images/generations';
const MiB = 1024 * 1024;
/** Peak RSS growth any one abuse case may cost (the bodies involved are 256 MiB to endless). */
const RSS_BOUND = 64 * MiB;
/** What "promptly" means on a loaded two-core machine; the executor's timeout is far longer. */
const PROMPT_MS = 5000;
const KEY = 'sk-SECRETKEY-0123456789abcdefghij';
/** Any 6-character piece of the key would be a leak. */
const KEY_PIECES = Array.from({ length: KEY.length - 5 }, (_, i) => KEY.slice(i, i + 6));

const env = perTestServer();

/** An executor on `server` with a 30 s timeout (so a hang would show) and retries allowed (so a retry would show). */
async function executorFor(http: Partial<HTTPExecutorOptions> & { maxResponseBytes?: unknown } = {}): Promise<HTTPDiffusionExecutor> {
  const options: HTTPExecutorOptions = { baseUrl: env.server.url, retryBaseDelayMs: 1, timeoutMs: 30_000, maxRetries: 3, apiKey: KEY, ...http };
  const executor = new HTTPDiffusionExecutor(new DiffusionConfig({ numGpus: 0, http: options }));
  env.track(executor);
  await executor.initExecutor();
  return executor;
}

async function runOne(executor: HTTPDiffusionExecutor, init: DiffusionRequestInit = { prompt: 'x', width: 16, height: 16 }): Promise<DiffusionOutput> {
  const [out] = await executor.executeModel([new DiffusionRequest(init)]);
  return out!;
}

interface Measured<T> {
  result: T;
  ms: number;
  /** Peak RSS while it ran, less the RSS before. */
  rssGrowth: number;
}

/**
 * Runs `run`, timing it and taking the peak RSS: the kernel's high-water mark since a reset
 * where Linux allows one, else `process.memoryUsage().rss` sampled every 2 ms.
 */
async function measure<T>(run: () => Promise<T>): Promise<Measured<T>> {
  const exact = resetPeakRss();
  const before = process.memoryUsage().rss;
  let sampled = before;
  const timer = exact ? null : setInterval(() => (sampled = Math.max(sampled, process.memoryUsage().rss)), 2);
  const started = performance.now();
  try {
    const result = await run();
    const ms = performance.now() - started;
    const peak = exact ? peakRss().bytes : Math.max(sampled, process.memoryUsage().rss);
    return { result, ms, rssGrowth: peak - before };
  } finally {
    if (timer) clearInterval(timer);
  }
}

/**
 * Serves one normal answer (which also loads and warms `fetch`, so that the measurement is of
 * the abuse alone), then `reply` once, checking that the failure is prompt, bounded and not
 * retried, then a normal answer again on the same executor.
 */
async function abuse(reply: Reply, init?: DiffusionRequestInit, http?: Partial<HTTPExecutorOptions> & { maxResponseBytes?: unknown }): Promise<Measured<DiffusionOutput>> {
  env.server.route(`POST ${GENERATE}`, (req, i) => (i === 1 ? reply : openaiImagesResponder(req, i)));
  const executor = await executorFor(http);
  expect((await runOne(executor)).error).toBeNull();
  const measured = await measure(() => runOne(executor, init));
  const out = measured.result;
  expect(out.images).toEqual([]);
  expect(out.metrics.attempts).toBe(1);
  expect(env.server.requestsTo(GENERATE)).toHaveLength(2);
  expect(measured.ms).toBeLessThan(PROMPT_MS);
  expect(measured.rssGrowth).toBeLessThan(RSS_BOUND);
  const next = await runOne(executor, { prompt: 'y', width: 16, height: 16, seed: 3 });
  expect(next.error).toBeNull();
  expect(next.images.map((im) => [im.width, im.height, im.seed])).toEqual([[16, 16, 3]]);
  return measured;
}

describe('http executor abuse: response bodies', () => {
  it('cuts an endless chunked 200 body at the limit sized to the request, hangs up, and does not retry', async () => {
    const limit = defaultMaxResponseBytes(new DiffusionRequest({ prompt: 'x', width: 16, height: 16 }));
    const { result: out, ms, rssGrowth } = await abuse({ stream: endlessJsonBody() });
    expect(out.errorName).toBe('ResponseTooLargeError');
    expect(out.error).toContain(`answered 200 with a body over the ${(limit / MiB).toFixed(1)} MiB (${limit} bytes) limit (stopped reading there); not retried`);
    expect(out.error).toContain('raise http.maxResponseBytes');
    const hostile = env.server.requestsTo(GENERATE)[1]!;
    await hostile.closed;
    expect(hostile.answered).toBe(false);
    // What the socket took beyond what was read sits in kernel buffers: a few MiB at most.
    expect(hostile.bytesSent).toBeLessThan(limit + 16 * MiB);
    console.log(`endless body: failed in ${ms.toFixed(0)} ms, peak RSS +${(rssGrowth / MiB).toFixed(1)} MiB, ${(hostile.bytesSent / MiB).toFixed(1)} MiB sent, limit ${(limit / MiB).toFixed(1)} MiB`);
  });

  it('refuses a Content-Length over the limit before reading a byte of the body', async () => {
    const { result: out } = await abuse({ headers: { 'content-length': String(2 ** 40) }, stream: endlessJsonBody() });
    expect(out.errorName).toBe('ResponseTooLargeError');
    expect(out.error).toMatch(/answered 200 with a body over the .* limit \(its Content-Length says 1099511627776 bytes, so it was refused unread\); not retried/);
  });

  it('honours http.maxResponseBytes: an answer one byte over it fails, one within it is decoded', async () => {
    const body = JSON.stringify({ created: 1, data: [{ b64_json: pngBase64(16, 16, 1) }] });
    const size = Buffer.byteLength(body);
    const declared: Reply = { text: body, headers: { 'content-type': 'application/json', 'content-length': String(size) } };
    const chunked: Reply = { stream: () => [body.slice(0, 100), body.slice(100)] };
    env.server.route(`POST ${GENERATE}`, [declared, chunked, declared, chunked]);
    const tight = await executorFor({ maxResponseBytes: size - 1 });
    const [byLength, byCount] = [await runOne(tight), await runOne(tight)];
    expect(byLength.errorName).toBe('ResponseTooLargeError');
    expect(byLength.error).toContain(`over the 1.3 KiB (${size - 1} bytes) limit (its Content-Length says ${size} bytes, so it was refused unread)`);
    expect(byCount.errorName).toBe('ResponseTooLargeError');
    expect(byCount.error).toContain(`over the 1.3 KiB (${size - 1} bytes) limit (stopped reading there)`);
    const exact = await executorFor({ maxResponseBytes: size });
    expect([(await runOne(exact)).error, (await runOne(exact)).error]).toEqual([null, null]);
    expect(env.server.requestsTo(GENERATE)).toHaveLength(4);
  });

  it('validates http.maxResponseBytes like the other http fields', async () => {
    for (const bad of [0, -1, 1.5, '100', Number.POSITIVE_INFINITY, 2 ** 30]) {
      await expect(executorFor({ maxResponseBytes: bad as number })).rejects.toThrow(ConfigValidationError);
    }
    await expect(executorFor({ maxResponseBytes: 0 })).rejects.toThrow(/Invalid DiffusionConfig\.http\.maxResponseBytes = 0: expected a whole number of bytes from 1 to \d+/);
  });

  it.each<BombEncoding>(['gzip', 'deflate', 'br'])('bounds a %s bomb (256 MiB of zeros) by the decompressed count', async (encoding) => {
    const bomb = await compressedZeros(encoding, 256 * MiB);
    const { result: out, ms, rssGrowth } = await abuse({ bytes: bomb, headers: { 'content-encoding': encoding } });
    expect(out.errorName).toBe('ResponseTooLargeError');
    expect(out.error).toContain('(stopped reading there); not retried');
    console.log(`${encoding} bomb (${bomb.length} bytes sent): failed in ${ms.toFixed(0)} ms, peak RSS +${(rssGrowth / MiB).toFixed(1)} MiB`);
  });

  it('reads only the first 64 KiB of an endless error body, and still reports the status', async () => {
    const endless503: Reply = { status: 503, stream: endlessJsonBody() };
    env.server.route(`POST ${GENERATE}`, [endless503]);
    const executor = await executorFor({ maxRetries: 1 });
    const { result: out, ms, rssGrowth } = await measure(() => runOne(executor));
    expect(out.errorName).toBe('HTTPExecutorError');
    expect(out.error).toMatch(/answered 503 Service Unavailable: .*\(gave up after 2 attempts\)/);
    expect(ms).toBeLessThan(PROMPT_MS);
    expect(rssGrowth).toBeLessThan(RSS_BOUND);
    for (const req of env.server.requestsTo(GENERATE)) {
      await req.closed;
      expect(req.answered).toBe(false);
      expect(req.bytesSent).toBeLessThan(MAX_ERROR_BODY_BYTES + 16 * MiB);
    }
  });
});

describe('http executor abuse: PNG images', () => {
  it('refuses a PNG header claiming 100000x100000 pixels before decoding, when the server chose the size', async () => {
    const png = pngFile([ihdrChunk(100_000, 100_000), zeroIdatChunk(16, 16)]);
    const { result: out } = await abuse(imageReply(png), { prompt: 'x' });
    expect(out.errorName).toBe('ResponseTooLargeError');
    expect(out.error).toContain(`image 1 of 1 claims 100000x100000 (WxH) in its PNG header, 10000000000 pixels, over the ${MAX_REMOTE_IMAGE_PIXELS}-pixel (8192x8192) cap; refused before decoding`);
  });

  it('refuses a lying 100000x100000 header against the 16x16 asked for, naming both', async () => {
    const png = pngFile([ihdrChunk(100_000, 100_000), zeroIdatChunk(16, 16)]);
    const { result: out } = await abuse(imageReply(png));
    expect(out.errorName).toBe('ResponseTooLargeError');
    expect(out.error).toMatch(/image 1 of 1 claims 100000x100000 .* cap, while 16x16 was asked for; refused before decoding/);
  });

  it('refuses a header of another size than asked before decoding the (undecodable) rest', async () => {
    const png = Buffer.concat([pngFile([ihdrChunk(32, 32)]).subarray(0, 33), Buffer.from('garbage, not chunks')]);
    const { result: out } = await abuse(imageReply(png));
    expect(out.errorName).toBe('HTTPExecutorError');
    expect(out.error).toContain('image 1 of 1 is 32x32 (WxH), while 16x16 was asked for');
  });

  it('refuses a base64 string longer than any PNG of its header size needs, before decoding it', async () => {
    const padded = pngFile([ihdrChunk(16, 16), pngChunk('tEXt', Buffer.alloc(3 * MiB, 0x41)), zeroIdatChunk(16, 16)]);
    const { result: out } = await abuse(imageReply(padded));
    expect(out.errorName).toBe('ResponseTooLargeError');
    expect(out.error).toMatch(/image 1 of 1 is \d+ base64 characters, more than any 16x16 PNG needs \(\d+ at most\); refused before decoding/);
  });

  it('stops inflating image data that would inflate past its header (a 256 MiB PNG bomb)', async () => {
    const bomb = await compressedZeros('deflate', 256 * MiB);
    const png = pngFile([ihdrChunk(16, 16), pngChunk('IDAT', bomb)]);
    const { result: out, ms, rssGrowth } = await abuse(imageReply(png));
    expect(out.errorName).toBe('ResponseTooLargeError');
    expect(out.error).toMatch(/image 1 of 1 could not be decoded: its image data inflates past \d+ bytes, while its 16x16 \(WxH\) header needs 1040 \(a decompression bomb\)/);
    console.log(`PNG bomb (${png.length} bytes): failed in ${ms.toFixed(0)} ms, peak RSS +${(rssGrowth / MiB).toFixed(1)} MiB`);
  });

  it('drops an ICC profile that inflates to 256 MiB instead of inflating it, and decodes the image', async () => {
    const profile = Buffer.concat([Buffer.from('bomb\0\0', 'latin1'), await compressedZeros('deflate', 256 * MiB)]);
    const png = pngFile([ihdrChunk(16, 16), pngChunk('iCCP', profile), zeroIdatChunk(16, 16)]);
    env.server.route(`POST ${GENERATE}`, [imageReply(png)]);
    const executor = await executorFor();
    const { result: out, rssGrowth } = await measure(() => runOne(executor));
    expect(out.error).toBeNull();
    expect(out.images[0]).toMatchObject({ width: 16, height: 16 });
    expect(Array.from(new Set(out.images[0]!.data))).toEqual([0]);
    expect(rssGrowth).toBeLessThan(RSS_BOUND);
  });

  it('refuses a second IHDR chunk, which would change the size after it was checked', async () => {
    const png = pngFile([ihdrChunk(16, 16), ihdrChunk(100_000, 100_000), zeroIdatChunk(16, 16)]);
    const { result: out } = await abuse(imageReply(png));
    expect(out.errorName).toBe('HTTPExecutorError');
    expect(out.error).toMatch(/image 1 of 1 could not be decoded: corrupt PNG: a second IHDR chunk at byte 33/);
  });

  it('names a PNG cut short inside its header', async () => {
    const { result: out } = await abuse(imageReply(pngFile([ihdrChunk(16, 16)]).subarray(0, 20)));
    expect(out.errorName).toBe('HTTPExecutorError');
    expect(out.error).toContain('image 1 of 1 could not be decoded: corrupt PNG: truncated in its header (20 bytes; the IHDR chunk ends at byte 29)');
  });

  it('names a PNG whose image data is cut short', async () => {
    const whole = pngFile([ihdrChunk(16, 16), zeroIdatChunk(16, 16)]);
    const { result: out } = await abuse(imageReply(whole.subarray(0, whole.length - 20)));
    expect(out.errorName).toBe('HTTPExecutorError');
    expect(out.error).toMatch(/image 1 of 1 could not be decoded: corrupt PNG: truncated: chunk IDAT at byte 33 claims \d+ bytes, \d+ remain/);
  });

  it('refuses to ask for more than 8192x8192 pixels, sending nothing', async () => {
    const executor = await executorFor();
    const out = await runOne(executor, { prompt: 'x', width: 16384, height: 8192 });
    expect(out.errorName).toBe('RequestValidationError');
    expect(out.error).toContain('DiffusionRequest.width = 16384: expected a size of at most 67108864 pixels (8192x8192) with height 8192');
    expect(env.server.requests).toHaveLength(0);
  });

});

describe('http executor abuse: the API key in error bodies', () => {
  /** Asserts no 6-character piece of the key shows anywhere in `out`. */
  function expectNoKeyPiece(out: DiffusionOutput): void {
    const text = JSON.stringify(out);
    expect(KEY_PIECES.filter((piece) => text.includes(piece))).toEqual([]);
  }

  it('redacts the key before truncating a long detail, so no part of it lands at the cut', async () => {
    // The detail is cut at 497 characters: the key starts 12 characters before the cut.
    const { result: out } = await abuse({ status: 400, json: { detail: `${'d'.repeat(485)}${KEY} and more` } });
    expect(out.error).toContain(`answered 400 Bad Request: ${'d'.repeat(485)}[redacted] a...`);
    expectNoKeyPiece(out);
  });

  it('redacts the key before truncating a body snippet, so no part of it lands at the cut', async () => {
    // An HTML body has no detail; its snippet is cut at 117 characters, 11 into the key.
    const { result: out } = await abuse({ status: 400, text: `<html>${'h'.repeat(100)}${KEY}</html>` });
    expect(out.error).toContain(`answered 400 Bad Request: body "<html>${'h'.repeat(100)}[redacted]<..."`);
    expectNoKeyPiece(out);
  });

  it('keeps the key out of the JSON parser message quoted for a malformed 200 body', async () => {
    // V8 quotes the body around the error, cut short: `..."{"data": sk-SECRETK"... is not valid JSON`.
    const { result: out } = await abuse({ text: `{"data": ${KEY}`, headers: { 'content-type': 'application/json' } });
    expect(out.error).toMatch(/answered 200 with malformed JSON \(.*\); the body starts with "\{\\"data\\": \[redacted\]"/);
    expectNoKeyPiece(out);
  });

  it('redacts any Bearer token a server echoes, not only the configured key', async () => {
    const { result: out } = await abuse({ status: 401, json: { detail: 'upstream rejected Authorization: Bearer other-tenant.token_42== here' } });
    expect(out.error).toContain('upstream rejected Authorization: Bearer [redacted] here');
    expect(out.error).not.toContain('other-tenant');
  });
});
