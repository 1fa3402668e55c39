import { describe, expect, it } from 'vitest';
import { GpuRuntime } from '../../../../src/webgpu/runtime.js';
import { conv2d } from '../../../../src/webgpu/kernels/conv2d.js';
import { groupNorm } from '../../../../src/webgpu/kernels/group-norm.js';
import type { TensorLike, TensorOps } from '../../../../src/webgpu/kernels/ops.js';
import { f16Layouts, gpuContext, gpuRuntime } from '../../helpers/device.js';
import { compareWithReference, type OpCase } from '../../helpers/reference.js';

/**
 * The conv2d and groupNorm options the VAE decoder uses to convolve tensors it never holds
 * whole (upsample on read, input and output channel ranges, accumulation into a tensor, norms of
 * a channel range), each checked against the float64 reference, also over tensors split into
 * chunks of a small binding limit.
 */

/** Channel ranges [c, c + step) covering [0, total). */
function ranges(total: number, step: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let c = 0; c < total; c += step) out.push([c, Math.min(total, c + step)]);
  return out;
}

/**
 * `conv(norm(x)) (+ bias)` built range by range: each input range is normalised on its own and
 * convolved into one accumulator, the bias with the first range only.
 */
function accumulated<T extends TensorLike>(ops: TensorOps<T>, x: T, w: T, b: T, gamma: T, beta: T, groups: number, step: number): T {
  let out: T | null = null;
  for (const [c0, c1] of ranges(x.shape[1]!, step)) {
    const t = ops.groupNorm(x, gamma, beta, { groups, eps: 1e-6, silu: true, channels: [c0, c1] });
    out = ops.conv2d(t, w, out ? undefined : b, { inputChannelOffset: c0, ...(out ? { into: out } : {}) });
    ops.release(t);
  }
  return out!;
}

const cases: OpCase[] = [
  {
    name: 'upsample on read = upsampleNearest2x then conv (3×3, odd 5×7, batch 2)',
    inputs: [{ shape: [2, 6, 5, 7] }, { shape: [9, 6, 3, 3] }, { shape: [9] }],
    run: (ops, [x, w, b]) => ops.conv2d(x!, w!, b, { upsample: true }),
  },
  {
    name: 'output channel range [5, 14) of a 3×3 conv with upsample',
    inputs: [{ shape: [1, 8, 6, 6] }, { shape: [20, 8, 3, 3] }, { shape: [20] }],
    run: (ops, [x, w, b]) => ops.conv2d(x!, w!, b, { upsample: true, outputChannels: [5, 14] }),
  },
  {
    name: 'input channel ranges accumulated into one tensor (3×3, ranges of 8 over 24)',
    inputs: [{ shape: [1, 24, 9, 10] }, { shape: [12, 24, 3, 3] }, { shape: [12] }, { shape: [24] }, { shape: [24] }],
    run: (ops, [x, w, b, g, be]) => accumulated(ops, x!, w!, b!, g!, be!, 6, 8),
  },
  {
    name: 'input channel ranges accumulated, 1×1, batch 2, uneven last range',
    inputs: [{ shape: [2, 20, 4, 4] }, { shape: [7, 20, 1, 1] }, { shape: [7] }, { shape: [20] }, { shape: [20] }],
    run: (ops, [x, w, b, g, be]) => accumulated(ops, x!, w!, b!, g!, be!, 5, 12),
  },
  {
    name: 'into a residual: x + conv(x) in place',
    inputs: [{ shape: [1, 8, 6, 5] }, { shape: [8, 8, 3, 3] }, { shape: [8] }],
    run: (ops, [x, w, b]) => {
      const y = ops.scale(x!, 1);
      return ops.conv2d(x!, w!, b, { into: y });
    },
  },
  {
    name: 'groupNorm of channel range [8, 16) of 24 (groups of 4), batch 2',
    inputs: [{ shape: [2, 24, 5, 9], uniform: [49, 51] }, { shape: [24] }, { shape: [24] }],
    run: (ops, [x, g, b]) => ops.groupNorm(x!, g!, b!, { groups: 6, eps: 1e-6, silu: true, channels: [8, 16] }),
  },
];

describe.each(f16Layouts.map((l) => [l.name, l] as const))('partial convolutions match the reference (device with %s)', (_l, layout) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const r = await compareWithReference(await layout.runtime(), c, 7);
    expect(r.gpuShape).toEqual(r.refShape);
    expect(r.maxAbs).toBeLessThan(1e-4);
  });
});

describe('partial convolutions over tensors split into chunks', () => {
  /** The shared device, told its storage bindings hold `bytes`: activations split into channel runs. */
  async function runtimeWithBindingLimit(bytes: number): Promise<GpuRuntime> {
    const ctx = await gpuContext();
    const caps = ctx.capabilities;
    return new GpuRuntime(ctx.device, { ...caps, limits: { ...caps.limits, maxStorageBufferBindingSize: bytes } });
  }

  // 4 KiB bindings: the [1, 24, 16, 16] f32 activations split into runs of 4 channels (whole
  // groups), while each weight still fits one binding.
  const chunked: OpCase[] = [
    {
      name: 'upsample on read, output range [1, 3)',
      inputs: [{ shape: [1, 24, 16, 16] }, { shape: [4, 24, 3, 3] }, { shape: [4] }],
      run: (ops, [x, w, b]) => ops.conv2d(x!, w!, b, { upsample: true, outputChannels: [1, 3] }),
    },
    {
      name: 'input ranges of 8 accumulated, 3×3',
      inputs: [{ shape: [1, 24, 16, 16] }, { shape: [4, 24, 3, 3] }, { shape: [4] }, { shape: [24] }, { shape: [24] }],
      run: (ops, [x, w, b, g, be]) => accumulated(ops, x!, w!, b!, g!, be!, 6, 8),
    },
    {
      name: 'into a residual, 24 channels',
      inputs: [{ shape: [1, 24, 16, 16] }, { shape: [24, 24, 1, 1] }, { shape: [24] }],
      run: (ops, [x, w, b]) => ops.conv2d(x!, w!, b, { into: ops.scale(x!, 1) }),
    },
    {
      name: 'groupNorm of channel range [4, 20)',
      inputs: [{ shape: [2, 24, 16, 16], uniform: [49, 51] }, { shape: [24] }, { shape: [24] }],
      run: (ops, [x, g, b]) => ops.groupNorm(x!, g!, b!, { groups: 6, eps: 1e-6, channels: [4, 20] }),
    },
  ];

  it.each(chunked.map((c) => [c.name, c] as const))('%s (4 KiB bindings)', async (_n, c) => {
    const rt = await runtimeWithBindingLimit(4096);
    const r = await compareWithReference(rt, c, 11);
    expect(r.gpuShape).toEqual(r.refShape);
    expect(r.maxAbs).toBeLessThan(1e-4);
  });

  it('really splits the operands of those cases', async () => {
    const rt = await runtimeWithBindingLimit(4096);
    const x = rt.empty([1, 24, 16, 16]);
    expect(x.chunks.length).toBe(6);
    rt.release(x);
  });
});

describe('partial convolution checks', () => {
  it('names the bad option', async () => {
    const rt = await gpuRuntime();
    const x = rt.empty([1, 4, 4, 4]);
    const w3 = rt.empty([6, 8, 3, 3]);
    expect(() => conv2d(rt, x, w3, undefined, { inputChannelOffset: 5 })).toThrow(/weight must be .*\[Cout, 9, k, k\]/);
    expect(() => conv2d(rt, x, rt.empty([6, 4, 3, 3]), undefined, { outputChannels: [4, 7] })).toThrow(/outputChannels \[4, 7\)/);
    expect(() => conv2d(rt, x, rt.empty([6, 4, 1, 1]), undefined, { upsample: true })).toThrow(/upsample reads need a 3×3 kernel/);
    const w = rt.empty([6, 4, 3, 3]);
    expect(() => conv2d(rt, x, w, undefined, { into: rt.empty([1, 6, 8, 8]) })).toThrow(/into \[1,6,8,8\]/);
    expect(() => conv2d(rt, x, w, undefined, { into: rt.empty([1, 6, 4, 4]), act: 'silu' })).toThrow(/no activation or residual/);
  });

  it('groupNorm refuses a channel range that splits a group', async () => {
    const rt = await gpuRuntime();
    const x = rt.empty([1, 8, 2, 2]);
    const g = rt.empty([8]);
    expect(() => groupNorm(rt, x, g, g, { groups: 4, eps: 1e-6, channels: [1, 4] })).toThrow(/channels \[1, 4\) must be whole groups of 2/);
  });
});
