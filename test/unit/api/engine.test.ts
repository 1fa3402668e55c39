import { afterEach, describe, expect, it } from 'vitest';
import {
  DiffusionConfig,
  DiffusionEngine,
  DiffusionRequest,
  EngineClosedError,
  ExecutorDeadError,
  ExecutorUnavailableError,
  type DiffusionOutput,
  type DiffusionProgress,
} from '../../../src/index.js';
import { AbortError, OmniDiffusionError, TimeoutError } from '../../../src/api/errors.js';
import { failedOutput } from '../../../src/api/output.js';
import { TensorShapeError } from '../../../src/webgpu/errors.js';
import { DeviceLimitError } from '../../../src/plan/errors.js';
import { deviceLimitSample } from '../../helpers/error-samples.js';
import { PatternExecutor } from '../../helpers/pattern-executor.js';
import { CustomExecutor, UnavailableExecutor } from '../fixtures/custom-executors.js';

afterEach(() => {
  CustomExecutor.instances.length = 0;
});

describe('DiffusionEngine.create', () => {
  it('resolves, constructs and initialises the executor', async () => {
    const engine = await DiffusionEngine.create(new DiffusionConfig({ executorClass: CustomExecutor }));
    expect(engine.executor).toBeInstanceOf(CustomExecutor);
    expect((engine.executor as CustomExecutor).initialised).toBe(true);
    expect(engine.executorName).toBe('CustomExecutor');
    expect(engine.fallbackReason).toBeNull();
    await engine.close();
  });

  it('accepts plain options instead of a DiffusionConfig', async () => {
    const engine = await DiffusionEngine.create({ executorClass: CustomExecutor, modelNameOrPath: 'tiny' });
    expect(engine.config).toBeInstanceOf(DiffusionConfig);
    expect(engine.config.modelNameOrPath).toBe('tiny');
    await engine.close();
  });

  it('falls back in order when init throws ExecutorUnavailableError, and records where it ended and why', async () => {
    const closedBefore = UnavailableExecutor.closed;
    const engine = await DiffusionEngine.create({
      executorClass: UnavailableExecutor,
      fallback: [UnavailableExecutor, CustomExecutor],
    });
    expect(engine.executorName).toBe('CustomExecutor');
    expect(engine.fallbackReason).toBe('UnavailableExecutor: no adapter (test); UnavailableExecutor: no adapter (test)');
    expect(UnavailableExecutor.closed - closedBefore).toBe(2);
    await engine.close();
  });

  it('accepts a single fallback spec as well as an array', async () => {
    const engine = await DiffusionEngine.create({ executorClass: UnavailableExecutor, fallback: CustomExecutor });
    expect(engine.executorName).toBe('CustomExecutor');
    await engine.close();
  });

  it('throws ExecutorUnavailableError listing every reason when nothing can start', async () => {
    const err = await DiffusionEngine.create({ executorClass: UnavailableExecutor }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutorUnavailableError);
    expect((err as Error).message).toMatch(/UnavailableExecutor: no adapter \(test\).*configure `fallback`/);
  });

  it('throws other init errors as is, without trying the fallback', async () => {
    class Broken extends CustomExecutor {
      override initExecutor(): void {
        throw new RangeError('bad weights');
      }
    }
    await expect(DiffusionEngine.create({ executorClass: Broken, fallback: CustomExecutor })).rejects.toThrow(RangeError);
    expect(CustomExecutor.instances).toHaveLength(0);
  });

  it('awaits an async initExecutor', async () => {
    class Slow extends CustomExecutor {
      override async initExecutor(): Promise<void> {
        await new Promise((r) => setTimeout(r, 10));
        this.initialised = true;
      }
    }
    const engine = await DiffusionEngine.create({ executorClass: Slow });
    expect((engine.executor as Slow).initialised).toBe(true);
    await engine.close();
  });
});

describe('DiffusionEngine.step', () => {
  it('returns one output per request, in order', async () => {
    const engine = await DiffusionEngine.create({ executorClass: CustomExecutor });
    const outputs = await engine.step([{ prompt: 'a' }, new DiffusionRequest({ prompt: 'abc', requestId: 'r2' }), { prompt: 'ab' }]);
    expect(outputs.map((o) => o.images[0]!.data[0])).toEqual([1, 3, 2]);
    expect(outputs[1]!.requestId).toBe('r2');
    expect(outputs.every((o) => o.error === null)).toBe(true);
    await engine.close();
  });

  it('fails only the invalid request, naming the field and value, and runs the others', async () => {
    const engine = await DiffusionEngine.create({ executorClass: CustomExecutor });
    const outputs = await engine.step([{ prompt: 'ok' }, { prompt: 'x', width: 100, requestId: 'bad' }, { prompt: 'fine' }]);
    expect(outputs[0]!.error).toBeNull();
    expect(outputs[1]).toMatchObject({ requestId: 'bad', images: [], errorName: 'RequestValidationError' });
    expect(outputs[1]!.error).toMatch(/width = 100: expected a positive integer multiple of 8/);
    expect(outputs[2]!.error).toBeNull();
    expect((engine.executor as CustomExecutor).seen.map((r) => r.prompt)).toEqual(['ok', 'fine']);
    await engine.close();
  });

  it('hands each request its own signal and onProgress', async () => {
    const engine = await DiffusionEngine.create({ executorClass: CustomExecutor });
    const seen: DiffusionProgress[] = [];
    const controller = new AbortController();
    await engine.step([{ prompt: 'p', onProgress: (p) => seen.push(p), signal: controller.signal, requestId: 'with-cb' }]);
    expect(seen).toEqual([{ requestId: 'with-cb', step: 1, total: 1, elapsedMs: 0 }]);
    expect((engine.executor as CustomExecutor).seen[0]!.signal).toBe(controller.signal);
    await engine.close();
  });

  it('does not start a request whose signal is already aborted', async () => {
    const engine = await DiffusionEngine.create({ executorClass: CustomExecutor });
    const controller = new AbortController();
    controller.abort();
    const [out] = await engine.step([{ prompt: 'p', signal: controller.signal }]);
    expect(out!.errorName).toBe('AbortError');
    expect((engine.executor as CustomExecutor).seen).toHaveLength(0);
    await engine.close();
  });

  it('turns an executor failure into per-request errors and stays usable', async () => {
    let fail = true;
    class Flaky extends CustomExecutor {
      override async executeModel(requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
        if (fail) throw new Error('GPU out of memory');
        return super.executeModel(requests);
      }
    }
    const engine = await DiffusionEngine.create({ executorClass: Flaky });
    const failed = await engine.step([{ prompt: 'a' }, { prompt: 'b' }]);
    expect(failed.map((o) => o.error)).toEqual(['GPU out of memory', 'GPU out of memory']);
    fail = false;
    const ok = await engine.step([{ prompt: 'a' }]);
    expect(ok[0]!.error).toBeNull();
    await engine.close();
  });

  it('reports an executor that returns the wrong number of outputs', async () => {
    class Short extends CustomExecutor {
      override async executeModel(): Promise<DiffusionOutput[]> {
        return [];
      }
    }
    const engine = await DiffusionEngine.create({ executorClass: Short });
    const [out] = await engine.step([{ prompt: 'a' }]);
    expect(out!.error).toMatch(/returned 0 outputs for 1 requests/);
    await engine.close();
  });

  it('rejects when the executor is dead, and keeps rejecting', async () => {
    class Dying extends CustomExecutor {
      override async executeModel(): Promise<DiffusionOutput[]> {
        throw new ExecutorDeadError('all workers crashed');
      }
    }
    const engine = await DiffusionEngine.create({ executorClass: Dying });
    await expect(engine.step([{ prompt: 'a' }])).rejects.toBeInstanceOf(ExecutorDeadError);
    await expect(engine.step([{ prompt: 'a' }])).rejects.toThrow(/is dead: .*all workers crashed/);
    await engine.close();
  });

  it('rejects after close with EngineClosedError; close is idempotent and shuts the executor down once', async () => {
    const engine = await DiffusionEngine.create({ executorClass: CustomExecutor });
    const ex = engine.executor as CustomExecutor;
    await Promise.all([engine.close(), engine.close()]);
    await engine.close();
    expect(ex.shutdownCalls).toBe(1);
    expect(ex.isClosed).toBe(true);
    expect(engine.isClosed).toBe(true);
    await expect(engine.step([{ prompt: 'a' }])).rejects.toBeInstanceOf(EngineClosedError);
    await expect(engine.checkHealth()).rejects.toBeInstanceOf(EngineClosedError);
  });

  it('rejects a non-array argument with a TypeError', async () => {
    const engine = await DiffusionEngine.create({ executorClass: CustomExecutor });
    await expect(engine.step({ prompt: 'a' } as never)).rejects.toThrow(TypeError);
    await engine.close();
  });
});

describe('DiffusionEngine.generate', () => {
  it('resolves with the single output', async () => {
    const engine = await DiffusionEngine.create({ executorClass: CustomExecutor });
    const out = await engine.generate({ prompt: 'four' });
    expect(out.images[0]!.data[0]).toBe(4);
    await engine.close();
  });

  it('rejects with the typed validation error', async () => {
    const engine = await DiffusionEngine.create({ executorClass: CustomExecutor });
    await expect(engine.generate({ prompt: 'x', numInferenceSteps: 0 })).rejects.toMatchObject({ name: 'RequestValidationError', field: 'numInferenceSteps' });
    await engine.close();
  });

  it('rejects with an AbortError carrying the abort reason', async () => {
    const engine = await DiffusionEngine.create({ executorClass: CustomExecutor });
    const controller = new AbortController();
    controller.abort();
    await expect(engine.generate({ prompt: 'x', signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    await engine.close();
  });

  it('rejects with the executor’s error rebuilt into its class from errorInfo, fields and cause intact', async () => {
    class Refusing extends CustomExecutor {
      override async executeModel(requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
        return requests.map((r) => failedOutput(r.requestId, deviceLimitSample()));
      }
    }
    const engine = await DiffusionEngine.create({ executorClass: Refusing });
    const [out] = await engine.step([{ prompt: 'x' }]);
    expect(out!.errorInfo).toMatchObject({ name: 'DeviceLimitError', code: 'DEVICE_LIMIT', limit: 'maxStorageBufferBindingSize', limitValue: 134217728 });
    expect(out!.error).toBe(`DeviceLimitError: ${deviceLimitSample().message}`);
    const err = await engine.generate({ prompt: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceLimitError);
    expect(err).toBeInstanceOf(OmniDiffusionError);
    expect(err).toMatchObject({ code: 'DEVICE_LIMIT', component: 'unet', tensor: 'tensor [2,320,1024,1024] f32', bytes: 2684354560, limitValue: 134217728 });
    expect((err as Error).cause).toBeInstanceOf(TensorShapeError);
    await engine.close();
  });

  it('rejects with the class named by an output built by hand with only error and errorName', async () => {
    class HandBuilt extends CustomExecutor {
      override async executeModel(requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
        return requests.map((r) => ({ requestId: r.requestId, images: [], error: 'TimeoutError: the server took too long', errorName: 'TimeoutError', trajectoryLatents: null, trajectoryTimesteps: null, metrics: {} }));
      }
    }
    const engine = await DiffusionEngine.create({ executorClass: HandBuilt });
    const [out] = await engine.step([{ prompt: 'x' }]);
    expect(out!.errorInfo).toEqual({ name: 'TimeoutError', code: 'TIMEOUT', message: 'the server took too long' });
    await expect(engine.generate({ prompt: 'x' })).rejects.toSatisfy((e: unknown) => e instanceof TimeoutError && e.message === 'the server took too long');
    await engine.close();
  });

  it('rejects with an AbortError instance when the pattern executor stops mid-run on a reason that is not an error', async () => {
    const engine = await DiffusionEngine.create({ executorClass: PatternExecutor, stepMs: 5 });
    const controller = new AbortController();
    const run = engine.generate({ prompt: 'x', numInferenceSteps: 50, signal: controller.signal });
    setTimeout(() => controller.abort('the user left'), 15);
    const err = await run.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(err).toMatchObject({ name: 'AbortError', code: 'ABORTED' });
    await engine.close();
  });

  it('rejects with the pattern executor’s plain Error as a plain Error (no borrowed class)', async () => {
    const engine = await DiffusionEngine.create({ executorClass: PatternExecutor });
    const err = await engine.generate({ prompt: 'fail', numInferenceSteps: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(OmniDiffusionError);
    expect((err as Error).message).toBe('the pattern executor was told to fail');
    await engine.close();
  });
});

describe('DiffusionEngine health and RPC', () => {
  class Healthy extends CustomExecutor {
    healthy = true;
    override async checkHealth(): Promise<void> {
      if (!this.healthy) throw new Error('worker 0 unresponsive');
    }
    load(): string {
      return 'loaded';
    }
  }

  it('checkHealth delegates to the executor', async () => {
    const engine = await DiffusionEngine.create({ executorClass: Healthy });
    await expect(engine.checkHealth()).resolves.toBeUndefined();
    (engine.executor as Healthy).healthy = false;
    await expect(engine.checkHealth()).rejects.toThrow('worker 0 unresponsive');
    await engine.close();
  });

  it('collectiveRpc reaches the executor', async () => {
    const engine = await DiffusionEngine.create({ executorClass: Healthy });
    expect(await engine.collectiveRpc('load')).toEqual(['loaded']);
    await engine.close();
  });
});
