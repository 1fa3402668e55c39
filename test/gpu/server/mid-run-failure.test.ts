import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionEngine } from '../../../src/index.js';
import type { WebGPUDiffusionExecutor } from '../../../src/executors/webgpu/executor.js';
import type { GpuFaultKind } from '../../../src/webgpu/fault.js';
import { createImageServer, type ImageServer } from '../../../src/server/index.js';
import { repoRoot } from '../../helpers/fixtures.js';

const GENERATE = '/v1/images/generations';
const BODY = { prompt: 'a red circle on a blue background', seed: 3, num_inference_steps: 4, size: '32x32', response_format: 'b64_json' };

/**
 * `serve`'s stack (image server over a webgpu engine in a worker_threads thread) after a failure
 * in the middle of a generation: the request gets 500 with the error's name, and the server
 * keeps answering /health and generations, and still cancels a request whose client leaves.
 */
describe('image server over a threaded webgpu engine, after failures mid-recording', () => {
  let engine: DiffusionEngine;
  let executor: WebGPUDiffusionExecutor;
  let server: ImageServer;
  let url: string;
  let reference: string;
  const post = (body: unknown, signal?: AbortSignal): Promise<Response> =>
    fetch(`${url}${GENERATE}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...(signal ? { signal } : {}) });

  beforeAll(async () => {
    engine = await DiffusionEngine.create({ modelNameOrPath: resolve(repoRoot, 'models/tiny-shapes'), dtype: 'f32', worker: true });
    executor = engine.executor as WebGPUDiffusionExecutor;
    server = createImageServer(engine);
    url = await server.listen(0, '127.0.0.1');
    const res = await post(BODY);
    expect(res.status).toBe(200);
    reference = ((await res.json()) as { data: Array<{ b64_json: string }> }).data[0]!.b64_json;
  });

  afterAll(async () => {
    await server?.close();
    const closing = performance.now();
    await engine?.close();
    expect(performance.now() - closing).toBeLessThan(10_000);
  });

  for (const kind of ['shape', 'validation', 'host', 'device-lost'] as GpuFaultKind[]) {
    it(`${kind}: 500 naming the error, then /health 200 and the same image`, async () => {
      await executor.injectFault({ kind, afterDispatches: 50 });
      const failed = await post(BODY);
      expect(failed.status).toBe(500);
      const detail = ((await failed.json()) as { detail: string }).detail;
      expect(detail).toMatch({ shape: /TensorShapeError/, validation: /GpuValidationError/, host: /injected fault \(host\)/, 'device-lost': /GpuDeviceLostError/ }[kind]);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      const next = await post(BODY);
      expect(next.status).toBe(200);
      expect(((await next.json()) as { data: Array<{ b64_json: string }> }).data[0]!.b64_json).toBe(reference);
    });
  }

  it('a client that leaves mid-generation after a failure cancels its request, and the next one is served', async () => {
    await executor.injectFault({ kind: 'shape', afterDispatches: 10 });
    expect((await post(BODY)).status).toBe(500);
    const leave = new AbortController();
    const started = performance.now();
    const long = post({ ...BODY, num_inference_steps: 200 }, leave.signal).catch((err: unknown) => err);
    setTimeout(() => leave.abort(), 300);
    expect(await long).toBeInstanceOf(Error);
    const next = await post(BODY);
    expect(next.status).toBe(200);
    // The 200-step request was cancelled, not run to its end before this one.
    expect(performance.now() - started).toBeLessThan(15_000);
  });
});
