import { describe, expect, it } from 'vitest';
import { GpuRuntime } from '../../../src/webgpu/runtime.js';
import type { GpuTensor } from '../../../src/webgpu/tensor.js';
import { conv2d } from '../../../src/webgpu/kernels/conv2d.js';
import { add, scale, unary } from '../../../src/webgpu/kernels/elementwise.js';
import { groupNorm } from '../../../src/webgpu/kernels/group-norm.js';
import { upsampleNearest2x } from '../../../src/webgpu/kernels/layout.js';
import type { Activation } from '../../../src/webgpu/kernels/ops.js';
import { errorStats, randomUniform } from '../../helpers/rng.js';
import { gpuContext } from '../helpers/device.js';

/**
 * Activations larger than one binding (the VAE's at 512² and above) are split into channel runs
 * (`planChunks`); every op the VAE and TAESD run on them must give exactly what it gives on the
 * unsplit tensor. Each case runs the op twice on the same device: once with the real limits
 * (one chunk) and once on a runtime whose maxStorageBufferBindingSize is tiny, so the same
 * inputs are split into several chunks.
 */
async function runtimes(maxBinding: number): Promise<{ whole: GpuRuntime; split: GpuRuntime }> {
  const ctx = await gpuContext();
  const caps = ctx.capabilities;
  return { whole: ctx.runtime, split: new GpuRuntime(ctx.device, { ...caps, limits: { ...caps.limits, maxStorageBufferBindingSize: maxBinding } }) };
}

type Op = (rt: GpuRuntime, inputs: GpuTensor[]) => GpuTensor;

interface Case {
  name: string;
  shapes: number[][];
  /** Bytes per binding on the splitting runtime. */
  maxBinding: number;
  op: Op;
  /** Chunks the split runtime's output must have (proves the case really splits). */
  outChunks: number;
  /**
   * Inputs that are weights: uploaded under the real limits on both runs, as a model's are
   * (the largest Stable Diffusion conv weight is 59 MB, far below one binding).
   */
  weights?: number[];
  /** Run the split op with f16 activations (f32 inputs, f16 outputs: chunked differently). */
  f16?: boolean;
}

function convCase(name: string, B: number, Cin: number, Cout: number, H: number, k: 1 | 3, maxBinding: number, outChunks: number, o: { stride?: 1 | 2; padding?: 0 | 1; padEnd?: 0 | 1; act?: Activation; residual?: boolean } = {}): Case {
  const Ho = Math.floor((H + 2 * (o.padding ?? (k === 3 ? 1 : 0)) + (o.padEnd ?? 0) - k) / (o.stride ?? 1)) + 1;
  return {
    name,
    shapes: [[B, Cin, H, H], [Cout, Cin, k, k], [Cout], ...(o.residual ? [[B, Cout, Ho, Ho]] : [])],
    maxBinding,
    outChunks,
    weights: [1, 2],
    op: (rt, [x, w, b, r]) => conv2d(rt, x!, w!, b, { stride: o.stride, padding: o.padding, padEnd: o.padEnd, act: o.act, residual: r }),
  };
}

const cases: Case[] = [
  // 8×8 f32 planes are 256 bytes: 1 KiB bindings hold 4 channels.
  convCase('3×3 conv, input and output split by channels, bias + silu + residual', 1, 16, 12, 8, 3, 1024, 3, { act: 'silu', residual: true }),
  convCase('3×3 conv, 24 output channels over 64-channel tiles, residual', 1, 8, 24, 8, 3, 2048, 3, { residual: true }),
  convCase('1×1 conv (vec4 input), split input into the conv shortcut', 1, 16, 8, 8, 1, 1024, 2),
  convCase('3×3 stride-2 + end pad (VAE encoder downsampler) from a split input', 1, 8, 8, 16, 3, 2048, 1, { stride: 2, padding: 0, padEnd: 1 }),
  convCase('batch 2: whole-sample input chunks into channel-split outputs', 2, 2, 16, 8, 3, 2048, 4, { residual: true }),
  convCase('batch 3: channel-split input into whole-sample outputs', 3, 16, 2, 8, 3, 1024, 2),
  {
    name: 'GroupNorm + SiLU over channel runs that hold whole groups',
    shapes: [[1, 16, 8, 8], [16], [16]],
    maxBinding: 1024,
    outChunks: 4,
    op: (rt, [x, g, b]) => groupNorm(rt, x!, g!, b!, { groups: 4, eps: 1e-6, silu: true }),
  },
  {
    name: 'nearest ×2 upsampling: an output chunk draws on several input chunks',
    shapes: [[2, 8, 4, 4]],
    maxBinding: 512,
    outChunks: 8,
    op: (rt, [x]) => upsampleNearest2x(rt, x!),
  },
  { name: 'add, same shape', shapes: [[1, 8, 8, 8], [1, 8, 8, 8]], maxBinding: 1024, outChunks: 2, op: (rt, [a, b]) => add(rt, a!, b!) },
  { name: 'add, [B, C] broadcast onto a split [B, C, H, W]', shapes: [[2, 8, 8, 8], [2, 8]], maxBinding: 1024, outChunks: 4, op: (rt, [a, b]) => add(rt, a!, b!) },
  {
    name: 'GroupNorm from f32 chunks into f16 chunks of other boundaries',
    shapes: [[1, 16, 8, 8], [16], [16]],
    maxBinding: 1024,
    outChunks: 2,
    f16: true,
    weights: [1, 2],
    op: (rt, [x, g, b]) => groupNorm(rt, x!, g!, b!, { groups: 4, eps: 1e-6 }),
  },
  { ...convCase('3×3 conv from f32 chunks into f16 chunks', 1, 16, 12, 8, 3, 1024, 2), f16: true },
  { name: 'add of f32 chunks into f16 chunks', shapes: [[1, 8, 8, 8], [1, 8, 8, 8]], maxBinding: 1024, outChunks: 1, f16: true, op: (rt, [a, b]) => add(rt, a!, b!) },
  { name: 'upsampling f32 chunks into f16 chunks', shapes: [[1, 8, 4, 4]], maxBinding: 256, outChunks: 4, f16: true, op: (rt, [x]) => upsampleNearest2x(rt, x!) },
  { name: 'tanh', shapes: [[1, 8, 8, 8]], maxBinding: 1024, outChunks: 2, op: (rt, [x]) => unary(rt, x!, 'tanh') },
  { name: 'scale and shift', shapes: [[1, 8, 8, 8]], maxBinding: 1024, outChunks: 2, op: (rt, [x]) => scale(rt, x!, 0.5, 0.25) },
];

describe('ops on activations split over several bindings equal the unsplit op', () => {
  cases.forEach((c, i) => {
    it(c.name, async () => {
      const { whole, split } = await runtimes(c.maxBinding);
      const data = c.shapes.map((s, j) => randomUniform(s.reduce((a, b) => a * b, 1), 900 + 10 * i + j));
      const run = async (rt: GpuRuntime): Promise<{ values: Float32Array; chunks: number }> => {
        const owner = (j: number): GpuRuntime => (c.weights?.includes(j) ? whole : rt);
        const inputs = c.shapes.map((s, j) => owner(j).upload(data[j]!, s));
        const out = c.f16 && rt === split ? rt.withActivations('f16', () => c.op(rt, inputs)) : c.op(rt, inputs);
        const values = await rt.read(out);
        const chunks = out.chunks.length;
        inputs.forEach((t, j) => owner(j).release(t));
        rt.release(out);
        return { values, chunks };
      };
      const want = await run(whole);
      const got = await run(split);
      expect(want.chunks).toBe(1);
      expect(got.chunks).toBe(c.outChunks);
      // Split reductions add the same products in another grouping: f32 rounding only (and one
      // f16 rounding of the output when it is stored as f16).
      const bound = c.f16 ? 2 ** -10 * Math.max(...Array.from(want.values, Math.abs)) : 1e-5;
      expect(errorStats(got.values, want.values).maxAbs).toBeLessThanOrEqual(bound);
    });
  });

  it('GroupNorm refuses a chunk that would split a group, naming the channels', async () => {
    const { split } = await runtimes(3 * 256);
    // 12 channels of 256-byte planes: runs of 2 channels split groups of 3.
    const x = split.upload(randomUniform(12 * 64, 1), [1, 12, 8, 8]);
    const g = split.upload(new Float32Array(12).fill(1), [12]);
    expect(() => groupNorm(split, x, g, g, { groups: 4, eps: 1e-6 })).toThrow(/splits a group of 3 channels/);
  });
});
