import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LoadProgress } from '../../../src/api/load-progress.js';
import { LoadProgressTracker, safeLoadProgressCallback } from '../../../src/api/load-progress-tracker.js';
import type { ByteProgress } from '../../../src/io/byte-source.js';

/** One step of a scripted load: advance the fake clock to `t`, then do `act`. */
type Step =
  | { t: number; resolve: Array<{ file: string; bytes: number | null }> }
  | { t: number; bytes: ByteProgress }
  | { t: number; upload: number }
  | { t: number; compile: [number, number | null] }
  | { t: number; ready: true };

function run(steps: Step[], minIntervalMs = 0): LoadProgress[] {
  let now = 0;
  const events: LoadProgress[] = [];
  const tracker = new LoadProgressTracker((e) => events.push(e), { now: () => now, minIntervalMs, rateWindowMs: 1000 });
  for (const step of steps) {
    now = step.t;
    if ('resolve' in step) tracker.resolve(step.resolve);
    else if ('bytes' in step) tracker.bytes(step.bytes);
    else if ('upload' in step) tracker.upload(step.upload);
    else if ('compile' in step) tracker.compile(...step.compile);
    else tracker.ready();
  }
  return events;
}

const A = 'unet/diffusion_pytorch_model.safetensors';
const B = 'text_encoder/model.safetensors';

interface Case {
  name: string;
  steps: Step[];
  minIntervalMs?: number;
  /** Checked against the events with `toMatchObject`, one entry per event. */
  expected: Array<Record<string, unknown>>;
}

const cases: Case[] = [
  {
    name: 'sequence with overall totals and bytes/s',
    steps: [
      { t: 10, resolve: [{ file: A, bytes: 1000 }, { file: B, bytes: 500 }] },
      { t: 510, bytes: { file: A, loaded: 500, total: 1000, origin: 'network' } },
      { t: 1010, bytes: { file: A, loaded: 1000, total: 1000, origin: 'network' } },
      { t: 1010, upload: 1000 },
      { t: 1510, bytes: { file: B, loaded: 500, total: 500, origin: 'network' } },
      { t: 1600, upload: 500 },
      { t: 1700, compile: [3, 3] },
      { t: 2010, ready: true },
    ],
    expected: [
      { status: 'resolve', totalBytes: 1500, files: [{ file: A, bytes: 1000 }, { file: B, bytes: 500 }] },
      // 500 bytes in 500 ms since the files were resolved.
      { status: 'download', file: A, loaded: 500, total: 1000, overallLoaded: 500, overallTotal: 1500, bytesPerSecond: 1000, resumedBytes: 0 },
      { status: 'download', file: A, loaded: 1000, total: 1000, overallLoaded: 1000, overallTotal: 1500, bytesPerSecond: 1000 },
      { status: 'upload', loaded: 1000, total: null },
      // The window (1000 ms) now starts at the sample of t=510: 1000 bytes in 1000 ms.
      { status: 'download', file: B, loaded: 500, overallLoaded: 1500, overallTotal: 1500, bytesPerSecond: 1000 },
      { status: 'upload', loaded: 1500 },
      { status: 'compile', done: 3, total: 3 },
      { status: 'ready', downloadedBytes: 1500, cachedBytes: 0, timings: { resolveMs: 10, downloadMs: 1000, uploadMs: 590, totalMs: 2010 } },
    ],
  },
  {
    name: 'cached files: one event each as soon as the size is known, counted whole in the overall totals, not in bytes/s',
    steps: [
      { t: 0, resolve: [{ file: A, bytes: 1000 }, { file: B, bytes: 500 }] },
      { t: 100, bytes: { file: B, loaded: 200, total: 500, origin: 'cache' } },
      { t: 200, bytes: { file: B, loaded: 500, total: 500, origin: 'cache' } },
      { t: 1000, bytes: { file: A, loaded: 400, total: 1000, origin: 'network' } },
      { t: 2000, ready: true },
    ],
    expected: [
      { status: 'resolve', totalBytes: 1500 },
      { status: 'cached', file: B, bytes: 500 },
      { status: 'download', file: A, loaded: 400, overallLoaded: 900, overallTotal: 1500, bytesPerSecond: 400 },
      { status: 'ready', downloadedBytes: 400, cachedBytes: 500 },
    ],
  },
  {
    name: 'a cached file without a stated size: its event comes when its stream ends',
    steps: [
      { t: 0, resolve: [{ file: B, bytes: null }] },
      { t: 100, bytes: { file: B, loaded: 200, total: null, origin: 'cache' } },
      { t: 200, bytes: { file: B, loaded: 500, total: 500, origin: 'cache' } },
      { t: 300, ready: true },
    ],
    expected: [{ status: 'resolve', totalBytes: null }, { status: 'cached', file: B, bytes: 500 }, { status: 'ready', cachedBytes: 500, downloadedBytes: 0 }],
  },
  {
    name: 'a resumed file: loaded includes the resumed bytes, the rate and downloadedBytes do not',
    steps: [
      { t: 0, resolve: [{ file: A, bytes: 1000 }] },
      { t: 500, bytes: { file: A, loaded: 700, total: 1000, resumedBytes: 600, origin: 'network' } },
      { t: 1000, bytes: { file: A, loaded: 1000, total: 1000, resumedBytes: 600, origin: 'network' } },
      { t: 1000, ready: true },
    ],
    expected: [
      { status: 'resolve' },
      { status: 'download', loaded: 700, resumedBytes: 600, overallLoaded: 700, bytesPerSecond: 200 },
      { status: 'download', loaded: 1000, resumedBytes: 600, overallLoaded: 1000, bytesPerSecond: 400 },
      { status: 'ready', downloadedBytes: 400 },
    ],
  },
  {
    name: 'unknown sizes: totals stay null until the stream ends; a resolved size fills a missing total',
    steps: [
      { t: 0, resolve: [{ file: A, bytes: null }, { file: B, bytes: 10 }] },
      { t: 100, bytes: { file: A, loaded: 50, total: null } },
      { t: 200, bytes: { file: A, loaded: 80, total: 80 } },
      { t: 300, bytes: { file: B, loaded: 5, total: null } },
    ],
    expected: [
      { status: 'resolve', totalBytes: null },
      { status: 'download', file: A, total: null, overallTotal: null },
      { status: 'download', file: A, loaded: 80, total: 80, overallLoaded: 80, overallTotal: 90 },
      { status: 'download', file: B, loaded: 5, total: 10, overallLoaded: 85, overallTotal: 90 },
    ],
  },
  {
    name: 'rate-limited: events of one file at most every minIntervalMs, first and last always',
    minIntervalMs: 100,
    steps: [
      { t: 0, resolve: [{ file: A, bytes: 100 }] },
      { t: 10, bytes: { file: A, loaded: 10, total: 100 } },
      { t: 20, bytes: { file: A, loaded: 20, total: 100 } },
      { t: 50, bytes: { file: A, loaded: 30, total: 100 } },
      { t: 120, bytes: { file: A, loaded: 40, total: 100 } },
      { t: 130, bytes: { file: A, loaded: 100, total: 100 } },
      { t: 140, upload: 10 },
      { t: 150, upload: 10 },
      { t: 160, ready: true },
    ],
    expected: [
      { status: 'resolve' },
      { status: 'download', loaded: 10 },
      { status: 'download', loaded: 40 },
      { status: 'download', loaded: 100 },
      { status: 'upload', loaded: 10 },
      // The held-back upload count is flushed before ready.
      { status: 'upload', loaded: 20 },
      { status: 'ready' },
    ],
  },
  {
    name: 'compile events: the first, one per interval, and the last (done === total)',
    minIntervalMs: 100,
    steps: [
      { t: 0, resolve: [] },
      { t: 10, compile: [0, 5] },
      { t: 20, compile: [1, 5] },
      { t: 60, compile: [2, 5] },
      { t: 115, compile: [3, 5] },
      { t: 130, compile: [4, 5] },
      { t: 140, compile: [5, 5] },
      { t: 150, ready: true },
    ],
    expected: [
      { status: 'resolve' },
      { status: 'compile', done: 0, total: 5 },
      { status: 'compile', done: 3, total: 5 },
      { status: 'compile', done: 5, total: 5 },
      { status: 'ready', timings: { compileMs: 0 } },
    ],
  },
  {
    name: 'nothing after ready',
    steps: [
      { t: 0, resolve: [] },
      { t: 1, ready: true },
      { t: 2, bytes: { file: A, loaded: 1, total: 1 } },
      { t: 3, compile: [1, 1] },
    ],
    expected: [{ status: 'resolve', totalBytes: 0 }, { status: 'ready' }],
  },
];

describe('LoadProgressTracker', () => {
  it.each(cases)('$name', ({ steps, expected, minIntervalMs }) => {
    const events = run(steps, minIntervalMs);
    expect(events.map((e) => e.status)).toEqual(expected.map((e) => e.status));
    events.forEach((e, i) => expect(e).toMatchObject(expected[i]!));
  });

  it('keeps the loaded counts of each file monotonic', () => {
    const events = run([
      { t: 0, resolve: [{ file: A, bytes: 100 }] },
      { t: 1, bytes: { file: A, loaded: 60, total: 100 } },
      { t: 2, bytes: { file: A, loaded: 40, total: 100 } },
      { t: 3, bytes: { file: A, loaded: 100, total: 100 } },
    ]);
    const loaded = events.flatMap((e) => (e.status === 'download' ? [e.loaded] : []));
    expect(loaded).toEqual([60, 60, 100]);
  });
});

describe('safeLoadProgressCallback', () => {
  afterEach(() => vi.restoreAllMocks());

  it('catches a throwing callback and warns once', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    let calls = 0;
    const safe = safeLoadProgressCallback(() => {
      calls++;
      throw new Error('broken UI');
    });
    const events: LoadProgress[] = [];
    const tracker = new LoadProgressTracker((e) => {
      events.push(e);
      safe(e);
    });
    tracker.resolve([{ file: A, bytes: 1 }]);
    tracker.bytes({ file: A, loaded: 1, total: 1 });
    tracker.ready();
    expect(events.map((e) => e.status)).toEqual(['resolve', 'download', 'ready']);
    expect(calls).toBe(3);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/onLoadProgress/);
  });
});
