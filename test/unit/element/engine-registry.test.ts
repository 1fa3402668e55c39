import { describe, expect, it } from 'vitest';
import type { DiffusionConfigOptions } from '../../../src/api/config.js';
import type { DiffusionEngine } from '../../../src/api/engine.js';
import { acquireEngine, engineOptionsOf, sharedEngineCount, type EngineKey } from '../../../src/element/engine-registry.js';

const key: EngineKey = { model: 'https://example.test/m/', executor: 'webgpu', endpoint: null, dtype: 'auto', variant: null, taesd: null };

/** A factory that records what it was asked for and hands out engines that count their closes. */
function fakeFactory(fail = false) {
  const created: DiffusionConfigOptions[] = [];
  const closed: number[] = [];
  const factory = (options: DiffusionConfigOptions) => {
    const n = created.push(options);
    if (fail) return Promise.reject(new Error(`engine ${n} failed`));
    return Promise.resolve({ id: n, close: async () => void closed.push(n) } as unknown as DiffusionEngine);
  };
  return { factory, created, closed };
}

describe('engine sharing registry', () => {
  it('gives elements with the same key one engine and closes it when the last releases', async () => {
    const { factory, created, closed } = fakeFactory();
    const a = acquireEngine(key, factory);
    const b = acquireEngine({ ...key }, factory);
    expect(await a.engine).toBe(await b.engine);
    expect(created).toHaveLength(1);
    expect(sharedEngineCount()).toBe(1);
    a.release();
    a.release();
    await Promise.resolve();
    expect(closed).toEqual([]);
    b.release();
    await new Promise((r) => setTimeout(r, 0));
    expect(closed).toEqual([1]);
    expect(sharedEngineCount()).toBe(0);
  });

  it('keeps engines of different models, executors, endpoints or variants apart', async () => {
    const { factory, created } = fakeFactory();
    const leases = [
      acquireEngine(key, factory),
      acquireEngine({ ...key, model: 'https://example.test/other/' }, factory),
      acquireEngine({ ...key, executor: 'onnx' }, factory),
      acquireEngine({ ...key, endpoint: 'http://127.0.0.1:9/' }, factory),
      acquireEngine({ ...key, variant: 'fp16' }, factory),
    ];
    await Promise.all(leases.map((l) => l.engine));
    expect(created).toHaveLength(5);
    expect(sharedEngineCount()).toBe(5);
    for (const l of leases) l.release();
    expect(sharedEngineCount()).toBe(0);
  });

  it('forgets a failed creation, so the next acquire tries again', async () => {
    const failing = fakeFactory(true);
    const lease = acquireEngine(key, failing.factory);
    await expect(lease.engine).rejects.toThrow('engine 1 failed');
    expect(sharedEngineCount()).toBe(0);
    lease.release();
    const working = fakeFactory();
    const again = acquireEngine(key, working.factory);
    await again.engine;
    expect(working.created).toHaveLength(1);
    again.release();
  });

  it('configures previews and the http fallback for in-browser executors, and http alone for executor="http"', () => {
    expect(engineOptionsOf({ ...key, endpoint: 'http://127.0.0.1:8000', variant: 'fp16' })).toEqual({
      executorClass: 'webgpu',
      modelNameOrPath: key.model,
      dtype: 'auto',
      preview: true,
      variant: 'fp16',
      fallback: 'http',
      http: { baseUrl: 'http://127.0.0.1:8000' },
    });
    expect(engineOptionsOf(key)).not.toHaveProperty('fallback');
    expect(engineOptionsOf({ ...key, executor: 'http', endpoint: 'http://127.0.0.1:8000' })).toEqual({
      executorClass: 'http',
      numGpus: 0,
      modelNameOrPath: key.model,
      http: { baseUrl: 'http://127.0.0.1:8000' },
    });
  });
});
