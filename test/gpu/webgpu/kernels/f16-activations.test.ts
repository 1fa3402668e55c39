import { describe, expect, it } from 'vitest';
import type { GpuRuntime } from '../../../../src/webgpu/runtime.js';
import type { GpuTensor } from '../../../../src/webgpu/tensor.js';
import { conv2d } from '../../../../src/webgpu/kernels/conv2d.js';
import { add, geglu, mul, scale, unary } from '../../../../src/webgpu/kernels/elementwise.js';
import { groupNorm } from '../../../../src/webgpu/kernels/group-norm.js';
import { layerNorm } from '../../../../src/webgpu/kernels/layer-norm.js';
import { concatChannels, embedding, transpose, upsampleNearest2x } from '../../../../src/webgpu/kernels/layout.js';
import { linear, matmul } from '../../../../src/webgpu/kernels/matmul.js';
import { softmax } from '../../../../src/webgpu/kernels/softmax.js';
import { attention } from '../../../../src/webgpu/kernels/attention.js';
import { toF16 } from '../../../../src/webgpu/kernels/convert.js';
import { errorStats, randomUniform } from '../../../helpers/rng.js';
import { gpuRuntime, gpuRuntimeWithoutF16 } from '../../helpers/device.js';

/**
 * f16 activations (`GpuRuntime.activationDtype = 'f16'`, shader-f16 devices): every kernel
 * stores its output as f16 and reads f16 activations, accumulating in f32. Each case runs the
 * op with f32 activations and again with f16 activations (its activation inputs cast to f16
 * first, as the previous op would have stored them) and bounds the difference by f16 rounding:
 * a few units of 2^-11 relative to the output's magnitude.
 */
interface Case {
  name: string;
  shapes: number[][];
  /** Inputs that are weights (kept f32), by index. */
  weights?: number[];
  op: (rt: GpuRuntime, x: GpuTensor[]) => GpuTensor;
  /** Bound on max |f16 − f32| relative to max |f32 output| (default 4 × 2^-11 ≈ 2e-3). */
  rel?: number;
}

const cases: Case[] = [
  { name: 'conv2d 3×3 + bias + silu + residual', shapes: [[1, 8, 9, 9], [6, 8, 3, 3], [6], [1, 6, 9, 9]], weights: [1, 2], op: (rt, [x, w, b, r]) => conv2d(rt, x!, w!, b, { act: 'silu', residual: r }) },
  { name: 'conv2d 1×1 (vec4 input)', shapes: [[2, 8, 4, 4], [5, 8, 1, 1]], weights: [1], op: (rt, [x, w]) => conv2d(rt, x!, w!) },
  { name: 'groupNorm + silu', shapes: [[2, 8, 5, 5], [8], [8]], weights: [1, 2], op: (rt, [x, g, b]) => groupNorm(rt, x!, g!, b!, { groups: 4, eps: 1e-5, silu: true }) },
  { name: 'layerNorm', shapes: [[3, 7, 24], [24], [24]], weights: [1, 2], op: (rt, [x, g, b]) => layerNorm(rt, x!, g!, b!, 1e-5) },
  { name: 'linear (vec4 rows) + gelu', shapes: [[2, 9, 16], [12, 16], [12]], weights: [1, 2], op: (rt, [x, w, b]) => linear(rt, x!, w!, b, { act: 'gelu' }) },
  { name: 'linear, odd K and N', shapes: [[5, 7], [3, 7]], weights: [1], op: (rt, [x, w]) => linear(rt, x!, w!) },
  { name: 'batched matmul of two activations, transB', shapes: [[2, 6, 8], [2, 5, 8]], op: (rt, [a, b]) => matmul(rt, a!, b!, { transB: true, alpha: 0.5 }) },
  { name: 'softmax', shapes: [[4, 33]], op: (rt, [x]) => softmax(rt, x!) },
  { name: 'attention, 2 heads of 40', shapes: [[2, 19, 80], [2, 23, 80], [2, 23, 80]], op: (rt, [q, k, v]) => attention(rt, q!, k!, v!, { heads: 2 }) },
  { name: 'add and mul, broadcast', shapes: [[2, 4, 3, 3], [2, 4]], op: (rt, [a, b]) => mul(rt, add(rt, a!, b!), a!) },
  { name: 'tanh, scale', shapes: [[3, 50]], op: (rt, [x]) => scale(rt, unary(rt, x!, 'tanh'), 3, 0.5) },
  { name: 'geglu', shapes: [[2, 5, 12]], op: (rt, [x]) => geglu(rt, x!) },
  { name: 'upsample, concat, transpose', shapes: [[1, 3, 4, 4], [1, 2, 8, 8]], op: (rt, [a, b]) => transpose(rt, rt.reshape(concatChannels(rt, upsampleNearest2x(rt, a!), b!), [5, 64])) },
  { name: 'embedding of an f32 table', shapes: [[10, 6]], weights: [0], op: (rt, [t]) => embedding(rt, Int32Array.from([3, 0, 9, 3]), [2, 2], t!) },
];

describe('f16 activations match f32 activations to f16 rounding', () => {
  cases.forEach((c, i) => {
    it(c.name, async () => {
      const rt = await gpuRuntime();
      const data = c.shapes.map((s, j) => randomUniform(s.reduce((a, b) => a * b, 1), 700 + 10 * i + j));
      const run = async (dtype: 'f32' | 'f16'): Promise<{ values: Float32Array; dtype: string }> => {
        const inputs = c.shapes.map((s, j) => {
          const t = rt.upload(data[j]!, s);
          if (dtype === 'f32' || c.weights?.includes(j)) return t;
          const half = toF16(rt, t);
          rt.release(t);
          return half;
        });
        const out = rt.withActivations(dtype, () => c.op(rt, inputs));
        const values = await rt.read(out);
        const outDtype = out.dtype;
        for (const t of inputs) rt.release(t);
        rt.release(out);
        return { values, dtype: outDtype };
      };
      const want = await run('f32');
      const got = await run('f16');
      expect(want.dtype).toBe('f32');
      expect(got.dtype).toBe('f16');
      const scaleOf = Math.max(...Array.from(want.values, Math.abs));
      const { maxAbs } = errorStats(got.values, want.values);
      expect(maxAbs).toBeLessThanOrEqual((c.rel ?? 4 * 2 ** -11) * scaleOf + 1e-4);
      expect(maxAbs).toBeGreaterThan(0);
    });
  });

  it('are refused on a device without shader-f16', async () => {
    const rt = await gpuRuntimeWithoutF16();
    expect(() => {
      rt.activationDtype = 'f16';
    }).toThrow(/shader-f16/);
    expect(rt.activationDtype).toBe('f32');
  });
});
