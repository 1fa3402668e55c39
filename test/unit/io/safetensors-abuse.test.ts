/**
 * Abuse suite (issue 17): safetensors headers written to exhaust memory, hang the reader,
 * overflow the stack or smuggle terminal escapes into error messages.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SafetensorsError } from '../../../src/io/errors.js';
import { MAX_DATA_BYTES, MAX_TENSOR_BYTES, readSafetensors } from '../../../src/io/safetensors.js';
import { UrlSource } from '../../../src/io/sources/url-source.js';
import { formatPeakRss, peakRss, resetPeakRss } from '../../helpers/peak-rss.js';
import { buildSafetensors, chunkedStream } from './build-safetensors.js';
import { rejection, within } from './deadline.js';
import { startStreamingServer, type StreamingServer } from './streaming-server.js';

/** Control, bidi and separator characters: none may reach an error message raw. */
const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

/** A header's bytes followed by nothing: enough for the header checks, which must fail first. */
function headerOnly(header: Record<string, unknown>): Uint8Array<ArrayBuffer> {
  return buildSafetensors([], { headerText: JSON.stringify(header) });
}

/**
 * A stream of unknown length: `prefix`, then zeros forever; `pulled` counts what was read. Each
 * pull waits a macrotask, as network reads do, so that a reader that never stops cannot starve
 * the test's deadline timer.
 */
function endless(prefix: Uint8Array): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let pulled = 0;
  const zeros = new Uint8Array(1 << 20);
  let first = true;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      await new Promise((resolve) => setImmediate(resolve));
      const chunk = first ? prefix : zeros;
      first = false;
      pulled += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { stream, pulled: () => pulled };
}

function expectSafeMessage(err: Error, maxLength = 512): void {
  expect(err.message.length).toBeLessThan(maxLength);
  expect(err.message).not.toMatch(UNSAFE_CHARS);
}

let server: StreamingServer | null = null;

afterEach(async () => {
  await server?.close();
  server = null;
});

describe('safetensors abuse', () => {
  it('refuses a 3 GiB tensor declared by a stream of unknown length before allocating, RSS bounded (the old code filled a 3 GiB buffer)', async () => {
    const huge = 3 * 2 ** 30;
    const prefix = headerOnly({ huge: { dtype: 'U8', shape: [huge], data_offsets: [0, huge] } });
    server = await startStreamingServer(prefix, 512 << 20, 0);
    const file = await new UrlSource(server.url).fetchFile('unet/diffusion_pytorch_model.safetensors');
    expect(file.size).toBeNull();
    const rssBefore = process.memoryUsage().rss;
    resetPeakRss();
    const err = await within(rejection(readSafetensors(file, { file: 'hostile.safetensors' })), 10_000, 'reading the stream');
    const peak = peakRss();
    const growth = peak.bytes - rssBefore;
    console.log(`3 GiB tensor over unknown length: ${server.bytesSent} bytes sent; peak RSS ${formatPeakRss(peak)}, growth ${(growth / 2 ** 20).toFixed(0)} MiB`);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err).toMatchObject({ file: 'hostile.safetensors', tensor: 'huge' });
    expect(err.message).toContain(`is ${huge} bytes, over the cap of ${MAX_TENSOR_BYTES} bytes per tensor`);
    expect(growth).toBeLessThan(64 << 20);
  });

  it('refuses a tensor larger than any ArrayBuffer with a SafetensorsError, not a RangeError', async () => {
    const huge = 5 * 2 ** 30;
    const bytes = headerOnly({ huge: { dtype: 'U8', shape: [huge], data_offsets: [0, huge] } });
    const data = new Uint8Array(bytes.byteLength + 64);
    data.set(bytes);
    const err = await rejection(readSafetensors(chunkedStream(data, bytes.byteLength + 16), { file: 'hostile.safetensors' }));
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err.message).toContain('over the cap');
  });

  it('refuses data_offsets past any sane data section instead of skipping towards them forever', async () => {
    const begin = 2 ** 45;
    const { stream, pulled } = endless(headerOnly({ far: { dtype: 'F32', shape: [1], data_offsets: [begin, begin + 4] } }));
    const err = await within(rejection(readSafetensors(stream, { file: 'hostile.safetensors' })), 5000, 'skipping to the first tensor');
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err).toMatchObject({ tensor: 'far' });
    expect(err.message).toContain(`past the cap of ${MAX_DATA_BYTES} bytes`);
    expect(pulled()).toBeLessThan(16 << 20);
  });

  it('refuses a shape nested 100 000 deep with a SafetensorsError, not a stack overflow', async () => {
    const depth = 100_000;
    const text = `{"a": {"dtype": "F32", "shape": ${'['.repeat(depth)}${']'.repeat(depth)}, "data_offsets": [0, 4]}}`;
    const err = await rejection(readSafetensors(buildSafetensors([], { headerText: text }), { file: 'deep.safetensors' }));
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err.message).toMatch(/^deep\.safetensors: header is not valid JSON at line 1, column \d+: nesting deeper than 64 levels/);
  });

  it('quotes a short escaped snippet of a header that does not parse, not raw terminal escapes', async () => {
    const text = `{"a": \u001b[2J\u001b]0;pwned\u0007\u202e${'X'.repeat(100_000)}}`;
    const err = await rejection(readSafetensors(buildSafetensors([], { headerText: text }), { file: 'bad.safetensors' }));
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err.message).toContain('\\x1B[2J');
    expectSafeMessage(err);
  });

  it('quotes a short escaped snippet of an oversized dtype', async () => {
    const dtype = `\u001b[31m${'F'.repeat(1_000_000)}`;
    const err = await rejection(readSafetensors(headerOnly({ a: { dtype, shape: [1], data_offsets: [0, 4] } }), { file: 'bad.safetensors' }));
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err.message).toContain('unknown or unsupported dtype "\\x1B[31mFFF');
    expectSafeMessage(err);
  });

  it('quotes a short escaped snippet of an oversized tensor name', async () => {
    const name = `\u001b]0;pwned\u0007${'n'.repeat(1_000_000)}`;
    const err = await rejection(readSafetensors(headerOnly({ [name]: { dtype: 'F32', shape: [1], data_offsets: [0, 8] } }), { file: 'bad.safetensors' }));
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as SafetensorsError).tensor).toBe(name);
    expect(err.message).toContain('tensor "\\x1B]0;pwned\\x07nnn');
    expectSafeMessage(err);
  });

  it('quotes a short snippet of a shape with a million entries', async () => {
    const shape = new Array<number>(1_000_000).fill(-1);
    const err = await rejection(readSafetensors(headerOnly({ a: { dtype: 'F32', shape, data_offsets: [0, 4] } }), { file: 'bad.safetensors' }));
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err.message).toContain('shape [-1,-1,');
    expectSafeMessage(err);
  });

  it('quotes a short escaped snippet of an oversized metadata key', async () => {
    const key = `\u202e${'k'.repeat(1_000_000)}`;
    const err = await rejection(readSafetensors(headerOnly({ __metadata__: { [key]: 1 } }), { file: 'bad.safetensors' }));
    expect(err).toBeInstanceOf(SafetensorsError);
    expect(err.message).toContain('"__metadata__.\\u202Ekkk');
    expectSafeMessage(err);
  });
});
