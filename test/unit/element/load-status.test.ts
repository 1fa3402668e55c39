import { describe, expect, it } from 'vitest';
import type { DiffusionEngine, DiffusionEngineCreateOptions } from '../../../src/api/engine.js';
import type { LoadProgress } from '../../../src/api/load-progress.js';
import { acquireEngine, type EngineKey } from '../../../src/element/engine-registry.js';
import { formatEta, loadStatusOf } from '../../../src/element/load-status.js';

const download = (overallLoaded: number, overallTotal: number | null, bytesPerSecond: number): LoadProgress => ({
  status: 'download',
  file: 'unet/diffusion_pytorch_model.safetensors',
  loaded: overallLoaded,
  total: overallTotal,
  resumedBytes: 0,
  overallLoaded,
  overallTotal,
  bytesPerSecond,
});

describe('the element’s load status', () => {
  it.each([
    { event: { status: 'resolve', files: [], totalBytes: 1_730_000_000 }, view: { status: 'Loading model…', detail: '1.73 GB', value: null } },
    { event: download(500e6, 1730e6, 20e6), view: { status: 'Downloading model…', detail: '500 MB / 1.73 GB · 20.0 MB/s · 1 min left', value: 500e6, max: 1730e6 } },
    { event: download(5e6, null, 1e6), view: { status: 'Downloading model…', detail: '5.00 MB · 1.00 MB/s', value: null, max: null } },
    { event: { status: 'cached', file: 'unet/x.safetensors', bytes: 3 }, view: { status: 'Loading model from the cache…' } },
    { event: { status: 'upload', loaded: 2e6, total: null }, view: { status: 'Moving weights to the GPU…', detail: '2.00 MB', value: null } },
    { event: { status: 'compile', done: 3, total: 7 }, view: { status: 'Compiling GPU pipelines…', detail: '3/7', value: 3, max: 7 } },
    { event: { status: 'compile', done: 3, total: null }, view: { status: 'Compiling GPU pipelines…', detail: '3', value: null, max: null } },
  ] as Array<{ event: LoadProgress; view: Record<string, unknown> }>)('$event.status', ({ event, view }) => {
    expect(loadStatusOf(event)).toMatchObject(view);
  });

  it('shows nothing for ready (the element moves on to generating)', () => {
    expect(loadStatusOf({ status: 'ready', timings: { resolveMs: 0, downloadMs: 0, uploadMs: 0, compileMs: 0, totalMs: 0 }, downloadedBytes: 0, cachedBytes: 0 })).toBeNull();
  });

  it.each([
    [12.2, '13 s'],
    [600, '10 min'],
    [3900, '1 h 5 min'],
    [Infinity, '?'],
  ])('formats %s s left as %s', (s, text) => expect(formatEta(s)).toBe(text));
});

describe('engine sharing registry: load events', () => {
  it('hands the load’s events to every element sharing it, the last one first to an element that joins late', async () => {
    const key: EngineKey = { model: 'https://example.test/load-events/', executor: 'webgpu', endpoint: null, dtype: 'auto', variant: null, taesd: null };
    let report: ((e: LoadProgress) => void) | undefined;
    let finish: (() => void) | undefined;
    const factory = (_: unknown, options?: DiffusionEngineCreateOptions) => {
      report = options?.onLoadProgress;
      return new Promise<DiffusionEngine>((resolve) => (finish = () => resolve({ close: async () => undefined } as unknown as DiffusionEngine)));
    };
    const a: LoadProgress[] = [];
    const b: LoadProgress[] = [];
    const leaseA = acquireEngine(key, factory, (e) => a.push(e));
    report!({ status: 'resolve', files: [], totalBytes: 10 });
    report!(download(5, 10, 1));
    const leaseB = acquireEngine(key, factory, (e) => b.push(e));
    report!(download(10, 10, 1));
    finish!();
    await leaseA.engine;
    expect(a.map((e) => e.status)).toEqual(['resolve', 'download', 'download']);
    expect(b.map((e) => (e.status === 'download' ? e.overallLoaded : e.status))).toEqual([5, 10]);
    leaseA.release();
    leaseB.release();
  });
});
