import { afterEach, describe, expect, it, vi } from 'vitest';
import { DiffusionEngine } from '../../../src/api/engine.js';
import { ExecutorUnavailableError } from '../../../src/api/errors.js';
import type { LoadProgress } from '../../../src/api/load-progress.js';
import type { DiffusionOutput } from '../../../src/api/output.js';
import { DiffusionExecutor } from '../../../src/executors/executor.js';

/** Reports a scripted load, ending with its own `ready` (whose timings the engine keeps). */
class ReportingExecutor extends DiffusionExecutor {
  initExecutor(): void {
    this.reportLoadProgress({ status: 'resolve', files: [{ file: 'unet/w.safetensors', bytes: 4 }], totalBytes: 4 });
    this.reportLoadProgress({ status: 'download', file: 'unet/w.safetensors', loaded: 4, total: 4, resumedBytes: 0, overallLoaded: 4, overallTotal: 4, bytesPerSecond: 8 });
    this.reportLoadProgress({ status: 'upload', loaded: 4, total: null });
    this.reportLoadProgress({ status: 'ready', timings: { resolveMs: 1, downloadMs: 2, uploadMs: 3, compileMs: 4, totalMs: 5 }, downloadedBytes: 4, cachedBytes: 0 });
  }
  async executeModel(): Promise<DiffusionOutput[]> {
    return [];
  }
}

class SilentExecutor extends DiffusionExecutor {
  initExecutor(): void {}
  async executeModel(): Promise<DiffusionOutput[]> {
    return [];
  }
}

class UnavailableExecutor extends DiffusionExecutor {
  initExecutor(): void {
    this.reportLoadProgress({ status: 'resolve', files: [], totalBytes: 0 });
    throw new ExecutorUnavailableError('no GPU here');
  }
  async executeModel(): Promise<DiffusionOutput[]> {
    return [];
  }
}

describe('DiffusionEngine.create(config, { onLoadProgress })', () => {
  afterEach(() => vi.restoreAllMocks());

  it('passes the executor events on and sends one ready last, with the total from create', async () => {
    const events: LoadProgress[] = [];
    const engine = await DiffusionEngine.create({ executorClass: ReportingExecutor }, { onLoadProgress: (e) => events.push(e) });
    await engine.close();
    expect(events.map((e) => e.status)).toEqual(['resolve', 'download', 'upload', 'ready']);
    const ready = events.at(-1)!;
    expect(ready).toMatchObject({ status: 'ready', downloadedBytes: 4, timings: { resolveMs: 1, downloadMs: 2, uploadMs: 3, compileMs: 4 } });
    expect(ready.status === 'ready' && ready.timings.totalMs).toBeGreaterThanOrEqual(0);
  });

  it('sends ready alone for an executor that loads nothing', async () => {
    const events: LoadProgress[] = [];
    const engine = await DiffusionEngine.create({ executorClass: SilentExecutor }, { onLoadProgress: (e) => events.push(e) });
    await engine.close();
    expect(events).toEqual([{ status: 'ready', timings: expect.objectContaining({ downloadMs: 0 }), downloadedBytes: 0, cachedBytes: 0 }]);
  });

  it('keeps events of an executor that fell through, then ready from the fallback', async () => {
    const events: LoadProgress[] = [];
    const engine = await DiffusionEngine.create({ executorClass: UnavailableExecutor, fallback: [SilentExecutor] }, { onLoadProgress: (e) => events.push(e) });
    await engine.close();
    expect(events.map((e) => e.status)).toEqual(['resolve', 'ready']);
  });

  it('a throwing callback warns once and does not break the load', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const engine = await DiffusionEngine.create(
      { executorClass: ReportingExecutor },
      {
        onLoadProgress: () => {
          throw new Error('broken UI');
        },
      },
    );
    expect(engine.executorName).toBe('ReportingExecutor');
    await engine.close();
    expect(warn).toHaveBeenCalledTimes(1);
  });

  it('create(config) still works without options, and a non-function callback is a TypeError', async () => {
    const engine = await DiffusionEngine.create({ executorClass: ReportingExecutor });
    await engine.close();
    await expect(DiffusionEngine.create({ executorClass: SilentExecutor }, { onLoadProgress: 'x' as never })).rejects.toThrow(TypeError);
  });
});
