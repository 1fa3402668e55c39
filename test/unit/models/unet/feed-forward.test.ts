import { describe, expect, it } from 'vitest';
import { StateDict } from '../../../../src/io/state-dict.js';
import { feedForwardChunks, GegluFeedForward } from '../../../../src/models/unet/feed-forward.js';
import { ModelWeights } from '../../../../src/models/weights.js';
import type { CpuTensor } from '../../../helpers/cpu-ops.js';
import { trackingOps } from '../tracking-ops.js';

describe('feedForwardChunks', () => {
  it('keeps every row in one pass when the GEGLU input fits one binding', () => {
    // SD 1.5's first level at 512², batch 2: [2·4096, 2560] f32 = 80 MiB under 128 MiB.
    expect(feedForwardChunks(8192, 2560, 128 * 2 ** 20)).toEqual([[0, 8192]]);
    expect(feedForwardChunks(10, 4, 160)).toEqual([[0, 10]]);
    expect(feedForwardChunks(10, 4, Infinity)).toEqual([[0, 10]]);
  });

  it.each([
    // 512² batch 4: 168 MB of GEGLU input → two passes of 8192 rows (84 MB each).
    [16384, 2560, 128 * 2 ** 20, 2],
    // 1024² batch 2: 335 MB → three passes.
    [32768, 2560, 128 * 2 ** 20, 3],
    // 768² batch 2 (SD-Turbo's first level): 189 MB → two passes.
    [18432, 2560, 128 * 2 ** 20, 2],
    [74, 64, 20 * 256, 4],
    [7, 1, 4, 7],
  ])('splits %i rows of %i floats under %i bytes into %i contiguous, near-equal passes that each fit', (rows, width, limit, passes) => {
    const ranges = feedForwardChunks(rows, width, limit);
    expect(ranges).toHaveLength(passes);
    expect(ranges[0]![0]).toBe(0);
    expect(ranges[ranges.length - 1]![1]).toBe(rows);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0]).toBe(ranges[i - 1]![1]);
    const sizes = ranges.map(([s, e]) => e - s);
    for (const n of sizes) expect(n * width * 4).toBeLessThanOrEqual(limit);
    // Equal passes, the last one possibly shorter: the same buffer sizes and specialisations each time.
    for (const n of sizes.slice(0, -1)) expect(n).toBe(sizes[0]);
    expect(sizes[sizes.length - 1]).toBeLessThanOrEqual(sizes[0]!);
    // The fewest passes: one fewer could not hold every row.
    expect((passes - 1) * Math.floor(limit / (width * 4))).toBeLessThan(rows);
  });

  it('still makes progress when one row is over the limit (the kernel then reports the tensor)', () => {
    expect(feedForwardChunks(3, 100, 10)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });
});

/** A deterministic stand-in for trained weights: values in [-0.5, 0.5). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

function feedForward(ops: ReturnType<typeof trackingOps>['ops'], channels: number, maxBindingBytes: number): GegluFeedForward<CpuTensor> {
  const inner = 4 * channels;
  const shapes: Array<[string, number[]]> = [
    ['ff.net.0.proj.weight', [2 * inner, channels]],
    ['ff.net.0.proj.bias', [2 * inner]],
    ['ff.net.2.weight', [channels, inner]],
    ['ff.net.2.bias', [channels]],
  ];
  const dict = new StateDict(
    shapes.map(([name, shape], i) => ({ name, dtype: 'F32' as const, shape, data: values(shape.reduce((a, b) => a * b, 1), i + 1) })),
    'ff.safetensors',
  );
  const ff = GegluFeedForward.load(new ModelWeights(ops, dict), 'ff', channels, maxBindingBytes);
  dict.finish();
  return ff;
}

describe('GegluFeedForward', () => {
  const [B, L, C] = [2, 37, 8];
  // 2·inner = 64 floats = 256 bytes per token row; 20 rows fit, so 74 rows take 4 passes.
  const limit = 20 * 64 * 4;

  it('gives the same result over token chunks as in one pass, and leaks nothing', async () => {
    const { ops, live } = trackingOps();
    const x = values(B * L * C, 99);
    const run = async (maxBindingBytes: number): Promise<Float32Array> => {
      const out = feedForward(ops, C, maxBindingBytes).forward(ops, ops.upload(x, [B, L, C]));
      expect(out.shape).toEqual([B, L, C]);
      const data = await ops.read(out);
      ops.release(out);
      return data;
    };
    const whole = await run(Infinity);
    const chunked = await run(limit);
    expect(chunked).toEqual(whole);
    expect(whole.some((v) => v !== 0)).toBe(true);
    // Only the four weights of each of the two models are still held: the input was consumed.
    expect(live.size).toBe(8);
  });

  it('runs each pass on a slice of the tokens, never the whole [B·L, 2·inner] intermediate', () => {
    const { ops } = trackingOps();
    const ff = feedForward(ops, C, limit);
    const seen: number[][] = [];
    const spy = new Proxy(ops, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (prop !== 'geglu' || typeof value !== 'function') return value;
        return (t: CpuTensor) => {
          seen.push([...t.shape]);
          return (value as (t: CpuTensor) => CpuTensor).call(target, t);
        };
      },
    });
    ops.release(ff.forward(spy, ops.upload(values(B * L * C, 5), [B, L, C])));
    expect(seen).toEqual([
      [19, 64],
      [19, 64],
      [19, 64],
      [17, 64],
    ]);
  });
});
