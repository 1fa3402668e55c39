import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../../src/cli/main.js';
import { bundledModelPath } from '../../../src/cli/package-root.js';
import { DiffusionEngine } from '../../../src/index.js';
import { createImageServer } from '../../../src/server/index.js';

const GENERATE = '/v1/images/generations';
const scratch = mkdtempSync(join(tmpdir(), 'omni-serve-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function post(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}${GENERATE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** The RGB bytes of the `b64_json` PNGs of a successful answer. */
async function imagesOf(res: Response): Promise<Array<{ width: number; height: number; data: Uint8Array; colours: number }>> {
  const body = (await res.json()) as { created: number; data: Array<{ b64_json: string; url: null; revised_prompt: null }> };
  return body.data.map((item) => {
    expect(item).toMatchObject({ url: null, revised_prompt: null });
    const png = decode(Buffer.from(item.b64_json, 'base64'));
    const colours = new Set<number>();
    for (let i = 0; i < png.data.length; i += png.channels) colours.add((png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!);
    return { width: png.width, height: png.height, data: png.data as Uint8Array, colours: colours.size };
  });
}

describe('omni-diffusion serve on the bundled tiny model', () => {
  it('listens before the model loads, serves generations, validates input, limits the body, queues concurrent requests and stops on its signal', async () => {
    const stop = new AbortController();
    let out = '';
    let err = '';
    const exit = runCli(['serve', '--port', '0', '--max-body-bytes', '65536'], { out: (s) => (out += s), err: (s) => (err += s), signal: stop.signal });
    try {
      await vi.waitFor(() => expect(out).toMatch(/^Listening on http:\/\/127\.0\.0\.1:\d+ /), { timeout: 30_000, interval: 5 });
      const url = /Listening on (\S+)/.exec(out)![1]!;

      // Until the model is there, /health says so; then it answers 200.
      const statuses: number[] = [];
      await vi.waitFor(
        async () => {
          const res = await fetch(`${url}/health`);
          statuses.push(res.status);
          if (res.status === 503) expect(await res.json()).toEqual({ detail: 'The model is still loading. Retry shortly.' });
          expect(res.status).toBe(200);
        },
        { timeout: 60_000, interval: 20 },
      );
      expect(new Set(statuses.slice(0, -1))).not.toContain(200);
      await vi.waitFor(() => expect(out).toMatch(/^Ready: http:\/\/127\.0\.0\.1:\d+ \(executor webgpu, adapter \S/m));

      const ok = await post(url, { prompt: 'a red circle on a blue background', seed: 1, num_inference_steps: 4, size: '32x32', response_format: 'b64_json' });
      expect(ok.status).toBe(200);
      const [image] = await imagesOf(ok);
      expect([image!.width, image!.height]).toEqual([32, 32]);
      expect(image!.colours).toBeGreaterThan(8);

      const invalid = await post(url, { prompt: 'x', n: 0, guidance_scale: 50 });
      expect(invalid.status).toBe(422);
      expect(((await invalid.json()) as { detail: Array<{ loc: string[] }> }).detail.map((d) => d.loc.join('.'))).toEqual(['body.n', 'body.guidance_scale']);
      const badSize = await post(url, { prompt: 'x', size: '33x32' });
      expect(badSize.status).toBe(400);
      expect(await badSize.json()).toEqual({ detail: 'Invalid size "33x32": the width must be a positive multiple of 8.' });
      const tooLarge = await post(url, { prompt: 'x'.repeat(70_000) });
      expect(tooLarge.status).toBe(413);

      // Concurrent requests all get answered, in the order they came, each with its own seed.
      const finished: number[] = [];
      const answers = await Promise.all(
        [0, 1, 2].map(async (i) => {
          await new Promise((resolve) => setTimeout(resolve, i * 20));
          const res = await post(url, { prompt: 'a blue square on a yellow background', seed: 10 + i, num_inference_steps: 2 });
          finished.push(i);
          return res;
        }),
      );
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(finished).toEqual([0, 1, 2]);
      const pictures = await Promise.all(answers.map(async (r) => (await imagesOf(r))[0]!.data));
      expect(pictures[0]).not.toEqual(pictures[1]);
      expect(pictures[1]).not.toEqual(pictures[2]);
      expect(err).toMatch(/^POST \/v1\/images\/generations 200 \d+ms$/m);

      // `generate --executor http` against it.
      const file = join(scratch, 'remote.png');
      let genOut = '';
      const code = await runCli(['generate', 'a white circle on a green background', '--executor', 'http', '--url', url, '--steps', '2', '--seed', '1', '-o', file], {
        out: (s) => (genOut += s),
        err: () => undefined,
      });
      expect(code).toBe(0);
      const png = decode(readFileSync(file));
      expect([png.width, png.height]).toEqual([32, 32]);
      expect(genOut).toContain(`${file}: 32x32, seed 1\n`);
      expect(genOut).toContain('adapter: none (http executor)\n');
    } finally {
      stop.abort();
    }
    expect(await exit).toBe(0);
    expect(err).toContain('Shutting down...');
  });
});

describe('omni-diffusion serve without a WebGPU adapter', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('stops listening and exits with code 3 and the install hint when the model cannot load', async () => {
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => null } });
    let out = '';
    let err = '';
    const code = await runCli(['serve', '--port', '0'], { out: (s) => (out += s), err: (s) => (err += s), signal: new AbortController().signal });
    expect(code).toBe(3);
    const url = /Listening on (\S+)/.exec(out)![1]!;
    expect(err).toContain('WebGPU has no adapter');
    expect(err).toContain('apt-get install -t bookworm-backports mesa-vulkan-drivers');
    await expect(fetch(`${url}/health`)).rejects.toThrow();
  });
});

describe('createImageServer over an engine still loading', () => {
  it('answers /health 503 until the engine is ready, then 200, and generates', async () => {
    let resolveEngine!: (engine: DiffusionEngine) => void;
    const loading = new Promise<DiffusionEngine>((resolve) => (resolveEngine = resolve));
    const server = createImageServer(loading);
    const url = await server.listen(0);
    let engine: DiffusionEngine | null = null;
    try {
      const early = await fetch(`${url}/health`);
      expect(early.status).toBe(503);
      expect(await early.json()).toEqual({ detail: 'The model is still loading. Retry shortly.' });
      expect((await post(url, { prompt: 'x' })).status).toBe(503);
      engine = await DiffusionEngine.create({ modelNameOrPath: bundledModelPath() });
      resolveEngine(engine);
      await server.ready;
      expect((await fetch(`${url}/health`)).status).toBe(200);
      const res = await post(url, { prompt: 'a purple circle on an orange background', n: 2, seed: 4, num_inference_steps: 2 });
      expect(res.status).toBe(200);
      expect((await imagesOf(res)).map((im) => [im.width, im.height])).toEqual([
        [32, 32],
        [32, 32],
      ]);
    } finally {
      await server.close();
      await engine?.close();
    }
  });
});
