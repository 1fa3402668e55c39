import { describe, expect, it } from 'vitest';
import {
  DiffusionConfig,
  DiffusionEngine,
  DiffusionExecutor,
  ExecutorResolutionError,
  ExternalDiffusionExecutor,
  HTTPDiffusionExecutor,
  MultiProcDiffusionExecutor,
  OnnxDiffusionExecutor,
  WebGPUDiffusionExecutor,
  listExecutors,
  registerExecutor,
  resolveExecutor,
  type DiffusionOutput,
} from '../../../src/index.js';
import { BadExecutor, CustomExecutor } from '../fixtures/custom-executors.js';

const FIXTURE_MODULE = './test/unit/fixtures/custom-executors.ts';

describe('executor registry', () => {
  it('defaults executorClass to the webgpu executor', async () => {
    const config = new DiffusionConfig({ modelClassName: 'StableDiffusionPipeline' });
    expect(config.executorClass).toBe('webgpu');
    const { cls, name } = await resolveExecutor(config.executorClass);
    expect(cls).toBe(WebGPUDiffusionExecutor);
    expect(name).toBe('webgpu');
  });

  it.each([
    ['webgpu', WebGPUDiffusionExecutor],
    ['multiproc', MultiProcDiffusionExecutor],
    ['mp', MultiProcDiffusionExecutor],
    ['external', ExternalDiffusionExecutor],
    ['http', HTTPDiffusionExecutor],
    ['onnx', OnnxDiffusionExecutor],
  ])('resolves the shorthand %s to its built-in class', async (shorthand, cls) => {
    const resolved = await resolveExecutor(shorthand);
    expect(resolved.cls).toBe(cls);
    expect(resolved.name).toBe(shorthand);
  });

  it('lists every built-in shorthand', () => {
    expect(listExecutors()).toEqual(expect.arrayContaining(['webgpu', 'multiproc', 'mp', 'external', 'http', 'onnx']));
  });

  it('uses a class reference as is and names it by its registered shorthand or class name', async () => {
    expect(await resolveExecutor(CustomExecutor)).toEqual({ cls: CustomExecutor, name: 'CustomExecutor' });
    expect((await resolveExecutor(HTTPDiffusionExecutor)).name).toBe('http');
  });

  it('loads "<module>#<Export>" specifiers with dynamic import', async () => {
    const { cls, name } = await resolveExecutor(`${FIXTURE_MODULE}#CustomExecutor`);
    expect(cls).toBe(CustomExecutor);
    expect(name).toBe(`${FIXTURE_MODULE}#CustomExecutor`);
  });

  it('takes the default export of a specifier without "#"', async () => {
    const { cls } = await resolveExecutor(FIXTURE_MODULE);
    expect(cls.name).toBe('RemoteAPIExecutor');
  });

  it('rejects executorClass of the wrong type with a TypeError at new DiffusionConfig', () => {
    expect(() => new DiffusionConfig({ executorClass: 123 as never })).toThrow(TypeError);
    expect(() => new DiffusionConfig({ executorClass: 123 as never })).toThrow(/executorClass = 123/);
    expect(() => new DiffusionConfig({ executorClass: {} as never })).toThrow(TypeError);
    expect(() => new DiffusionConfig({ executorClass: '' })).toThrow(TypeError);
  });

  it('rejects a class that is not a DiffusionExecutor subclass with a TypeError at new DiffusionConfig', () => {
    expect(() => new DiffusionConfig({ executorClass: BadExecutor as never })).toThrow(TypeError);
    expect(() => new DiffusionConfig({ executorClass: BadExecutor as never })).toThrow(/BadExecutor.*not a DiffusionExecutor subclass/);
  });

  it('rejects a plain function, which is not a class', () => {
    expect(() => new DiffusionConfig({ executorClass: (() => 1) as never })).toThrow(/not a class/);
  });

  it('throws ExecutorResolutionError naming the specifier, the cause and the shorthands for a module that cannot load', async () => {
    const err = await resolveExecutor('nonexistent.Module').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutorResolutionError);
    const message = (err as Error).message;
    expect(message).toContain('nonexistent.Module');
    expect(message).toMatch(/import\("nonexistent\.Module"\) failed: .+/);
    expect(message).toContain('webgpu, multiproc, mp, external, http, onnx');
    expect((err as ExecutorResolutionError).specifier).toBe('nonexistent.Module');
  });

  it('throws ExecutorResolutionError for a missing export, listing the module exports', async () => {
    const err = await resolveExecutor(`${FIXTURE_MODULE}#Nope`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutorResolutionError);
    expect((err as Error).message).toMatch(/has no export "Nope" \(it exports: .*CustomExecutor/);
  });

  it('throws TypeError when a specifier resolves to something that is not a class', async () => {
    await expect(resolveExecutor(`${FIXTURE_MODULE}#notAClass`)).rejects.toThrow(TypeError);
    await expect(resolveExecutor(`${FIXTURE_MODULE}#notAClass`)).rejects.toThrow(/42, which is not a class/);
  });

  it('throws TypeError when a specifier resolves to a class that is not a DiffusionExecutor', async () => {
    await expect(resolveExecutor(`${FIXTURE_MODULE}#BadExecutor`)).rejects.toThrow(/class BadExecutor, which is not a DiffusionExecutor subclass/);
  });

  it('rejects malformed specifiers', async () => {
    await expect(resolveExecutor('some-module#')).rejects.toBeInstanceOf(ExecutorResolutionError);
  });

  it('registers a class under a new shorthand', async () => {
    registerExecutor('custom-test', CustomExecutor);
    expect(listExecutors()).toContain('custom-test');
    const engine = await DiffusionEngine.create({ executorClass: 'custom-test' });
    expect(engine.executorName).toBe('custom-test');
    await engine.close();
  });

  it('registers a lazy loader that runs only when the shorthand is first used', async () => {
    let loads = 0;
    registerExecutor('lazy-test', async () => {
      loads++;
      return import('../fixtures/custom-executors.js').then((m) => m.CustomExecutor);
    });
    expect(loads).toBe(0);
    const { cls } = await resolveExecutor('lazy-test');
    expect(cls).toBe(CustomExecutor);
    expect(loads).toBe(1);
  });

  it('accepts a lazy loader that returns a module with a default export', async () => {
    registerExecutor('lazy-default', () => import('../fixtures/custom-executors.js'));
    expect((await resolveExecutor('lazy-default')).cls.name).toBe('RemoteAPIExecutor');
  });

  it('wraps a failing lazy loader in ExecutorResolutionError', async () => {
    registerExecutor('lazy-broken', async () => {
      throw new Error('chunk failed');
    });
    await expect(resolveExecutor('lazy-broken')).rejects.toThrow(/Executor "lazy-broken" failed to load: chunk failed/);
  });

  it('rejects bad registrations', () => {
    expect(() => registerExecutor('bad', BadExecutor as never)).toThrow(TypeError);
    expect(() => registerExecutor('pkg/path#X', CustomExecutor)).toThrow(/must be a word/);
    expect(() => registerExecutor('x', 5 as never)).toThrow(TypeError);
  });

  it('lets a subclass of a built-in executor be passed as a class', async () => {
    class Tuned extends HTTPDiffusionExecutor {}
    const config = new DiffusionConfig({ executorClass: Tuned, numGpus: 0 });
    expect((await resolveExecutor(config.executorClass)).cls.prototype).toBeInstanceOf(DiffusionExecutor);
  });
});

describe('DiffusionExecutor base class', () => {
  class Minimal extends DiffusionExecutor {
    shutdowns = 0;
    initExecutor(): void {}
    async executeModel(): Promise<DiffusionOutput[]> {
      return [];
    }
    ping(x: number): number {
      return x + 1;
    }
    slow(): Promise<void> {
      return new Promise((resolve) => setTimeout(resolve, 200));
    }
    override async shutdown(): Promise<void> {
      await new Promise((resolve) => setTimeout(resolve, 5));
      this.shutdowns++;
    }
  }

  it('close() really runs shutdown, once, however often it is called', async () => {
    const ex = new Minimal(new DiffusionConfig());
    const first = ex.close();
    const second = ex.close();
    expect(second).toBe(first);
    await Promise.all([first, second, ex.close()]);
    expect(ex.shutdowns).toBe(1);
    expect(ex.isClosed).toBe(true);
  });

  it('is marked closed only after shutdown has finished', async () => {
    const ex = new Minimal(new DiffusionConfig());
    const closing = ex.close();
    expect(ex.isClosed).toBe(false);
    await closing;
    expect(ex.isClosed).toBe(true);
  });

  it('collectiveRpc calls the named method and returns one result per worker', async () => {
    const ex = new Minimal(new DiffusionConfig());
    expect(await ex.collectiveRpc('ping', [41])).toEqual([42]);
  });

  it('collectiveRpc rejects an unknown method and honours timeoutMs', async () => {
    const ex = new Minimal(new DiffusionConfig());
    await expect(ex.collectiveRpc('nope')).rejects.toThrow(/has no method "nope"/);
    await expect(ex.collectiveRpc('slow', [], { timeoutMs: 20 })).rejects.toMatchObject({ name: 'TimeoutError' });
  });
});
