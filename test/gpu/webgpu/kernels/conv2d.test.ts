import { describe, expect, it } from 'vitest';
import { decodeHalf, encodeHalf } from '../../../../src/webgpu/half.js';
import { GpuRuntime } from '../../../../src/webgpu/runtime.js';
import { conv2d } from '../../../../src/webgpu/kernels/conv2d.js';
import type { Activation } from '../../../../src/webgpu/kernels/ops.js';
import { CpuOps } from '../../../helpers/cpu-ops.js';
import { errorStats, randomUniform } from '../../../helpers/rng.js';
import { f16Layouts, gpuContext, gpuRuntime } from '../../helpers/device.js';

const cpu = new CpuOps();

interface ConvCase {
  name: string;
  B: number;
  Cin: number;
  Cout: number;
  H: number;
  W: number;
  k: 1 | 3;
  stride?: 1 | 2;
  padding?: 0 | 1;
  padEnd?: 0 | 1;
  bias?: boolean;
  act?: Activation;
  residual?: boolean;
  dtype?: 'f32' | 'f16';
}

const cases: ConvCase[] = [
  { name: '3×3 s1 p1, odd 7×9, batch 2', B: 2, Cin: 3, Cout: 5, H: 7, W: 9, k: 3, bias: true },
  { name: '3×3 s2 p1, odd 9×7', B: 1, Cin: 4, Cout: 8, H: 9, W: 7, k: 3, stride: 2, bias: true },
  { name: '3×3 s1 p0, 5×6', B: 1, Cin: 2, Cout: 3, H: 5, W: 6, k: 3, padding: 0 },
  { name: '3×3 s2 p0, 11×8, batch 2', B: 2, Cin: 5, Cout: 7, H: 11, W: 8, k: 3, stride: 2, padding: 0, bias: true },
  { name: '3×3 s2 p1 on an even 8×8 (downsampler)', B: 1, Cin: 8, Cout: 8, H: 8, W: 8, k: 3, stride: 2, bias: true },
  { name: '3×3 s2 p0 + end pad on an even 8×8 (VAE encoder downsampler)', B: 2, Cin: 8, Cout: 8, H: 8, W: 8, k: 3, stride: 2, padding: 0, padEnd: 1, bias: true },
  { name: '3×3 s2 p0 + end pad, odd 9×6', B: 1, Cin: 3, Cout: 5, H: 9, W: 6, k: 3, stride: 2, padding: 0, padEnd: 1 },
  { name: '1×1 s1 (vec4 input), residual', B: 2, Cin: 8, Cout: 12, H: 4, W: 4, k: 1, bias: true, residual: true },
  { name: '1×1 s1, odd 5×3', B: 1, Cin: 6, Cout: 5, H: 5, W: 3, k: 1, bias: true },
  { name: '1×1 s2, odd 7×7', B: 1, Cin: 3, Cout: 4, H: 7, W: 7, k: 1, stride: 2 },
  { name: '1×1 s1 p1', B: 1, Cin: 2, Cout: 3, H: 3, W: 2, k: 1, padding: 1, bias: true },
  { name: '3×3, 33 output channels (edge tile), silu, residual', B: 1, Cin: 5, Cout: 33, H: 11, W: 11, k: 3, bias: true, act: 'silu', residual: true },
  { name: '3×3, 40 channels over 64 ch, 16×16, residual', B: 1, Cin: 64, Cout: 40, H: 16, W: 16, k: 3, bias: true, residual: true },
  { name: '3×3, long reduction (Cin 128), 6×5', B: 1, Cin: 128, Cout: 8, H: 6, W: 5, k: 3, bias: true },
  ...(['gelu', 'quick_gelu', 'relu'] as const).map((act) => ({ name: `3×3 + bias + ${act}`, B: 1, Cin: 4, Cout: 6, H: 5, W: 5, k: 3 as const, bias: true, act })),
  { name: 'f16 weight and bias, 3×3 s1', B: 2, Cin: 3, Cout: 9, H: 6, W: 7, k: 3, bias: true, dtype: 'f16' },
  { name: 'f16 weight, 1×1, residual', B: 1, Cin: 5, Cout: 7, H: 4, W: 4, k: 1, bias: true, residual: true, dtype: 'f16' },
];

/** Values as a tensor of `dtype` holds them, so the reference sees the same f16-rounded weights. */
function stored(data: Float32Array, dtype: 'f32' | 'f16'): Float32Array {
  return dtype === 'f16' ? decodeHalf(encodeHalf(data)) : data;
}

async function runConv(rt: GpuRuntime, c: ConvCase, seed: number): Promise<void> {
  const dtype = c.dtype ?? 'f32';
  const xShape = [c.B, c.Cin, c.H, c.W];
  const wShape = [c.Cout, c.Cin, c.k, c.k];
  const xData = randomUniform(xShape.reduce((a, b) => a * b), seed);
  const wData = stored(randomUniform(wShape.reduce((a, b) => a * b), seed + 1), dtype);
  const biasData = stored(randomUniform(c.Cout, seed + 2), dtype);
  const opts = { stride: c.stride, padding: c.padding, padEnd: c.padEnd, act: c.act };
  const noResidual = cpu.conv2d(cpu.upload(xData, xShape), cpu.upload(wData, wShape), undefined, opts);
  const resData = randomUniform(noResidual.data.length, seed + 3);
  const ref = cpu.conv2d(cpu.upload(xData, xShape), cpu.upload(wData, wShape), c.bias ? cpu.upload(biasData, [c.Cout]) : undefined, {
    ...opts,
    residual: c.residual ? cpu.upload(resData, noResidual.shape) : undefined,
  });
  const out = conv2d(rt, rt.upload(xData, xShape), rt.upload(wData, wShape, dtype), c.bias ? rt.upload(biasData, [c.Cout], dtype) : undefined, {
    ...opts,
    residual: c.residual ? rt.upload(resData, noResidual.shape) : undefined,
  });
  expect(out.shape).toEqual(ref.shape);
  const want = await cpu.read(ref);
  const { maxAbs } = errorStats(await rt.read(out), want);
  // f32 accumulation over Cin·k² products: error ~ (Cin·k²)·eps·|values|; the floor covers exp/erf in the epilogue.
  const terms = c.Cin * c.k * c.k;
  const scale = Math.max(1, ...Array.from(want, Math.abs));
  expect(maxAbs).toBeLessThanOrEqual(terms * 2 ** -23 * scale + 1e-5);
}

describe('conv2d matches the float64 reference', () => {
  cases.forEach((c, i) => {
    if (c.dtype === 'f16') {
      for (const layout of f16Layouts) it(`${c.name} (${layout.name})`, async () => runConv(await layout.runtime(), c, 500 + 10 * i));
    } else {
      it(c.name, async () => runConv(await gpuRuntime(), c, 500 + 10 * i));
    }
  });
});

describe('conv2d workgroup grid', () => {
  it('is right when its workgroups are folded into a 2-D grid that overshoots (maxComputeWorkgroupsPerDimension = 3)', async () => {
    const ctx = await gpuContext();
    const caps = ctx.capabilities;
    const rt = new GpuRuntime(ctx.device, { ...caps, limits: { ...caps.limits, maxComputeWorkgroupsPerDimension: 3 } });
    // 4 pixel tiles × 2 channel tiles × batch 2 = 16 workgroups → a 3 × 6 grid.
    await runConv(rt, { name: 'folded', B: 2, Cin: 3, Cout: 70, H: 11, W: 11, k: 3, bias: true }, 600);
  });
});

describe('conv2d shape checks', () => {
  it('rejects a weight whose input channels differ from x, naming both shapes', async () => {
    const rt = await gpuRuntime();
    expect(() => conv2d(rt, rt.empty([1, 3, 4, 4]), rt.empty([2, 4, 3, 3]))).toThrow(/x \[1,3,4,4\].*weight \[2,4,3,3\]/);
  });

  it('rejects a residual of the wrong shape', async () => {
    const rt = await gpuRuntime();
    expect(() => conv2d(rt, rt.empty([1, 3, 4, 4]), rt.empty([2, 3, 3, 3]), undefined, { residual: rt.empty([1, 2, 3, 3]) })).toThrow(/residual \[1,2,3,3\]/);
  });
});
