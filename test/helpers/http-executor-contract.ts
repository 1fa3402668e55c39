import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DiffusionEngine, type DiffusionOutput, type DiffusionRequestInit } from '../../src/index.js';

/** A running vllm-omni-compatible server that the `http` executor's shared cases run against. */
export interface HttpExecutorContractTarget {
  /** The server root, known once the suite's `beforeAll` hooks have run. */
  url(): string;
  /** Image side to ask for (the model's native size keeps real models fast). */
  size: number;
  /** `num_inference_steps` (at most 200) that keeps the server busy for well over a second. */
  slowSteps: number;
  /** The server's log lines, where it notes a request cancelled by its client. */
  logs: readonly string[];
}

/**
 * The `http` executor's cases that hold against any server speaking vllm-omni's image API, run
 * through `DiffusionEngine` with `executorClass: 'http'`: images of the asked size and number
 * with their seeds, the same pixels for the same seed, the server's 400/422 `detail` as the
 * request's error, the health check, and cancelling a request in flight (the server sees the
 * client go and stays usable). Register inside a test file, after the hooks that start the server.
 */
export function describeHttpExecutorContract(serverName: string, target: HttpExecutorContractTarget): void {
  describe(`HTTPDiffusionExecutor against ${serverName}`, () => {
    let engine: DiffusionEngine;
    const run = async (init: DiffusionRequestInit): Promise<DiffusionOutput> => (await engine.step([init]))[0]!;

    beforeAll(async () => {
      engine = await DiffusionEngine.create({ executorClass: 'http', numGpus: 0, http: { baseUrl: target.url(), maxRetries: 0, timeoutMs: 120_000 } });
    });
    afterAll(async () => {
      await engine?.close();
    });

    it('returns n images of the asked size with seeds seed + i, and the same pixels for the same seed', async () => {
      const { size } = target;
      const request = { prompt: 'a red circle on a blue background', seed: 5, numOutputsPerPrompt: 2, width: size, height: size, numInferenceSteps: 2 };
      const first = await run(request);
      expect(first.error).toBeNull();
      expect(first.images.map((im) => [im.width, im.height, im.seed])).toEqual([
        [size, size, 5],
        [size, size, 6],
      ]);
      expect(first.metrics.seeds).toEqual([5, 6]);
      expect(first.images[0]!.data).not.toEqual(first.images[1]!.data);
      const again = await run(request);
      expect(again.images.map((im) => im.data)).toEqual(first.images.map((im) => im.data));
      const other = await run({ ...request, seed: 99, numOutputsPerPrompt: 1 });
      expect(other.images[0]!.data).not.toEqual(first.images[0]!.data);
    });

    it("shows the server's 422 validation detail as the request's error, field by field", async () => {
      const out = await run({ prompt: 'x', numInferenceSteps: 201, numOutputsPerPrompt: 11 });
      expect(out.errorName).toBe('HTTPExecutorError');
      expect(out.error).toContain('answered 422 Unprocessable Entity: ');
      expect(out.error).toContain('n: Input should be less than or equal to 10');
      expect(out.error).toContain('num_inference_steps: Input should be less than or equal to 200');
      expect(out.images).toEqual([]);
    });

    it("shows the server's 400 detail as the request's error", async () => {
      const out = await run({ prompt: 'x', width: 4096, height: 4096 });
      expect(out.errorName).toBe('HTTPExecutorError');
      expect(out.error).toMatch(/answered 400 Bad Request: Invalid size "4096x4096": the width is over this server's limit/);
    });

    it('passes the health check', async () => {
      await expect(engine.checkHealth()).resolves.toBeUndefined();
    });

    it('cancels a request in flight: it ends promptly with AbortError, the server cancels its work and serves the next request', async () => {
      const controller = new AbortController();
      const pending = run({ prompt: 'a green square', seed: 1, width: target.size, height: target.size, numInferenceSteps: target.slowSteps, signal: controller.signal });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const aborted = performance.now();
      controller.abort();
      const out = await pending;
      expect(performance.now() - aborted).toBeLessThan(1000);
      expect(out.errorName).toBe('AbortError');
      await vi.waitFor(() => expect(target.logs.join('\n')).toMatch(/POST \/v1\/images\/generations .*cancelled: the client closed the connection/), { timeout: 10_000 });
      const next = await run({ prompt: 'x', seed: 2, width: target.size, height: target.size, numInferenceSteps: 1 });
      expect(next.error).toBeNull();
    });
  });
}
