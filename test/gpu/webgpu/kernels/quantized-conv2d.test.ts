import { afterAll, describe, expect, it } from 'vitest';
import { dequantize, quantizeRows } from '../../../../src/quant/quantize.js';
import type { QuantBits } from '../../../../src/quant/scheme.js';
import { decodeHalf, encodeHalf } from '../../../../src/webgpu/half.js';
import { conv2d } from '../../../../src/webgpu/kernels/conv2d.js';
import type { Activation } from '../../../../src/webgpu/kernels/ops.js';
import { uploadQuantized } from '../../../../src/webgpu/quantized-weights.js';
import { GpuRuntime } from '../../../../src/webgpu/runtime.js';
import { CpuOps, CpuTensor } from '../../../helpers/cpu-ops.js';
import { randomUniform } from '../../../helpers/rng.js';
import { gpuContext, gpuRuntime, gpuRuntimeWithoutF16 } from '../../helpers/device.js';

/**
 * Convolutions over int8/int4 weights (`QuantScheme`, rows = output channels, K = Cin·k²),
 * dequantized inside the conv kernel. The reference is the float64 convolution with the weights
 * the scheme stands for (`dequantize`); an f16 scale times a small integer is exact in f32, so
 * the kernel's only error is the f32 rounding of the sum, bounded per output by
 * (Cin·k² + 3)·2⁻²³·Σ|x·w| (the Σ is the convolution of |x| with |w|), plus the f16 rounding of an
 * f16 output and a little for exp/erf in the epilogue.
 */
const EPS32 = 2 ** -23;
const cpu = new CpuOps();

const layouts = [
  { name: 'shader-f16 (SCALE_F16)', runtime: gpuRuntime },
  { name: 'no shader-f16 (SCALE_F16_PACKED)', runtime: gpuRuntimeWithoutF16 },
] as const;

interface QuantConvCase {
  name: string;
  B: number;
  Cin: number;
  Cout: number;
  H: number;
  W: number;
  k: 1 | 3;
  bits: QuantBits;
  groupSize: number;
  stride?: 1 | 2;
  padding?: 0 | 1;
  padEnd?: 0 | 1;
  bias?: boolean;
  act?: Activation;
  residual?: boolean;
  /** f16 activations in and out (only on a device with shader-f16). */
  f16?: boolean;
}

const cases: QuantConvCase[] = [
  { name: '3×3 s1 p1, Cin 12 (K = 108), Cout 13, groups of 32 (short last), batch 2', B: 2, Cin: 12, Cout: 13, H: 7, W: 9, k: 3, bits: 8, groupSize: 32, bias: true },
  { name: '3×3 s2 p1, Cin 8 (K = 72), groups of 16 (short last), int4', B: 1, Cin: 8, Cout: 13, H: 9, W: 7, k: 3, bits: 4, groupSize: 16, stride: 2, bias: true },
  { name: '3×3 s1 p0, groups of 8 (< k²: a new group every channel), int4, silu, residual', B: 1, Cin: 16, Cout: 5, H: 6, W: 7, k: 3, bits: 4, groupSize: 8, padding: 0, bias: true, act: 'silu', residual: true },
  { name: '3×3 s2 p0 + end pad (VAE downsampler), per channel (group > K)', B: 2, Cin: 8, Cout: 8, H: 8, W: 8, k: 3, bits: 8, groupSize: 128, stride: 2, padding: 0, padEnd: 1, bias: true },
  { name: '3×3, Cin 64 (K = 576), 70 output channels (2 tiles), groups of 64, int4, gelu, residual', B: 1, Cin: 64, Cout: 70, H: 10, W: 10, k: 3, bits: 4, groupSize: 64, bias: true, act: 'gelu', residual: true },
  { name: '3×3, Cin 64, per channel (group = K)', B: 1, Cin: 64, Cout: 19, H: 6, W: 5, k: 3, bits: 8, groupSize: 576 },
  { name: '1×1 s1 (vec4 input), Cin 12, Cout 13, groups of 8, residual', B: 2, Cin: 12, Cout: 13, H: 4, W: 4, k: 1, bits: 8, groupSize: 8, bias: true, residual: true },
  { name: '1×1 s1, odd 5×3, Cin 40, per channel, int4', B: 1, Cin: 40, Cout: 11, H: 5, W: 3, k: 1, bits: 4, groupSize: 40, bias: true },
  { name: '1×1 s2, odd 7×7, Cin 24, groups of 16 (short last), int4', B: 1, Cin: 24, Cout: 9, H: 7, W: 7, k: 1, bits: 4, groupSize: 16, stride: 2 },
  { name: '1×1 s1 p1, relu', B: 1, Cin: 8, Cout: 3, H: 3, W: 2, k: 1, bits: 8, groupSize: 8, padding: 1, bias: true, act: 'relu' },
  { name: 'f16 activations, 3×3, Cin 12, groups of 32, residual', B: 1, Cin: 12, Cout: 13, H: 7, W: 9, k: 3, bits: 8, groupSize: 32, bias: true, residual: true, f16: true },
  { name: 'f16 activations, 1×1, Cin 16, groups of 8, int4', B: 2, Cin: 16, Cout: 7, H: 4, W: 4, k: 1, bits: 4, groupSize: 8, bias: true, f16: true },
];

/** Largest error seen per case and layout, and its share of the bound (printed with QUANT_REPORT=1). */
const measured: { case: string; layout: string; maxAbs: number; maxRel: number; ofBound: number }[] = [];

afterAll(() => {
  if (process.env.QUANT_REPORT) console.table(measured);
});

const halfRounded = (data: Float32Array): Float32Array => decodeHalf(encodeHalf(data));
const abs = (t: CpuTensor): CpuTensor => new CpuTensor(t.shape, t.data.map(Math.abs));

/**
 * Runs `c` with its weight uploaded on `weightRt` and everything else on `rt` (a runtime that
 * may split activations into chunks), and checks every output against the bound above.
 */
async function runCase(rt: GpuRuntime, c: QuantConvCase, layout: string, seed: number, weightRt = rt): Promise<{ outChunks: number; dispatches: number }> {
  const scheme = { bits: c.bits, groupSize: c.groupSize };
  const K = c.Cin * c.k * c.k;
  const xShape = [c.B, c.Cin, c.H, c.W];
  const wShape = [c.Cout, c.Cin, c.k, c.k];
  const xData = randomUniform(xShape.reduce((a, b) => a * b), seed);
  const wData = randomUniform(c.Cout * K, seed + 1, -0.3, 0.3);
  const biasData = randomUniform(c.Cout, seed + 2);
  const opts = { stride: c.stride, padding: c.padding, padEnd: c.padEnd, act: c.act };

  const xRef = cpu.upload(c.f16 ? halfRounded(xData) : xData, xShape);
  const wRef = new CpuTensor(wShape, dequantize(quantizeRows(wData, K, scheme), wShape, scheme));
  const magnitude = cpu.conv2d(abs(xRef), abs(wRef), undefined, { ...opts, act: undefined });
  const resData = randomUniform(magnitude.data.length, seed + 3);
  const resHeld = c.f16 ? halfRounded(resData) : resData;
  const ref = cpu.conv2d(xRef, wRef, c.bias ? cpu.upload(biasData, [c.Cout]) : undefined, { ...opts, residual: c.residual ? cpu.upload(resHeld, magnitude.shape) : undefined });

  const actDtype = c.f16 ? 'f16' : 'f32';
  const x = rt.upload(xData, xShape, actDtype);
  const w = uploadQuantized(weightRt, wData, wShape, scheme);
  const bias = c.bias ? weightRt.upload(biasData, [c.Cout]) : undefined;
  const residual = c.residual ? rt.upload(resData, magnitude.shape, actDtype) : undefined;
  const before = rt.stats.dispatches;
  const run = (): ReturnType<typeof conv2d> => conv2d(rt, x, w, bias, { ...opts, residual });
  const out = c.f16 ? rt.withActivations('f16', run) : run();
  const dispatches = rt.stats.dispatches - before;
  expect(out.shape).toEqual(ref.shape);
  expect(out.dtype).toBe(actDtype);
  const got = await rt.read(out);

  let maxAbs = 0;
  let maxRel = 0;
  let ofBound = 0;
  const P = ref.shape[2]! * ref.shape[3]!;
  for (let i = 0; i < got.length; i++) {
    const co = Math.floor(i / P) % c.Cout;
    const want = ref.data[i]!;
    const b = c.bias ? Math.abs(biasData[co]!) : 0;
    // f32 sum (K fma roundings), bias, activation (≤ 1.2-Lipschitz) and residual.
    let bound = (K + 3) * EPS32 * (magnitude.data[i]! + b) * (c.act ? 1.2 : 1) + (c.residual ? EPS32 * Math.abs(want) : 0);
    // exp() and erf_approx (1.2e-7 absolute) in the epilogue.
    if (c.act && c.act !== 'relu') bound += 4e-7 * Math.max(1, magnitude.data[i]! + b);
    if (c.f16) bound += 2 ** -11 * Math.abs(want);
    const err = Math.abs(got[i]! - want);
    expect(err, `out[${i}] = ${got[i]} vs ${want}`).toBeLessThanOrEqual(bound);
    maxAbs = Math.max(maxAbs, err);
    maxRel = Math.max(maxRel, err / Math.max(magnitude.data[i]!, 1e-30));
    ofBound = Math.max(ofBound, bound > 0 ? err / bound : 0);
  }
  measured.push({ case: c.name, layout, maxAbs, maxRel, ofBound });
  const outChunks = out.chunks.length;
  for (const t of [x, out, ...(residual ? [residual] : [])]) rt.release(t);
  for (const t of [w, ...(bias ? [bias] : [])]) weightRt.release(t);
  return { outChunks, dispatches };
}

describe('conv2d over q8/q4 weights matches the float64 convolution with the dequantized weights', () => {
  cases.forEach((c, i) => {
    for (const layout of layouts) {
      if (c.f16 && layout.runtime === gpuRuntimeWithoutF16) continue;
      it(`${c.name} (${layout.name})`, async () => {
        const rt = await layout.runtime();
        if (c.f16 && !rt.shaderF16) return;
        await runCase(rt, c, layout.name, 2000 + 10 * i);
      });
    }
  });
});

/**
 * Activations over one binding are convolved chunk by chunk: each pass reads input channels
 * [ciBase, ciBase + Cin) of the weight rows (a row index with the global channel) and adds to the
 * partial sums of the pass before. The weights are uploaded under the real limits, as a model's are.
 */
describe('conv2d over q8/q4 weights on activations split into channel chunks', () => {
  const chunked: { c: QuantConvCase; maxBinding: number; outChunks: number; dispatches: number }[] = [
    // 8×8 f32 planes are 256 bytes: 1 KiB bindings hold 4 channels. 4 input × 3 output chunks.
    { c: { name: '3×3, 16 → 12 channels, groups of 32 (groups straddle input chunks), bias + silu + residual', B: 1, Cin: 16, Cout: 12, H: 8, W: 8, k: 3, bits: 8, groupSize: 32, bias: true, act: 'silu', residual: true }, maxBinding: 1024, outChunks: 3, dispatches: 12 },
    { c: { name: '3×3, 16 → 12 channels, groups of 8, int4', B: 1, Cin: 16, Cout: 12, H: 8, W: 8, k: 3, bits: 4, groupSize: 8, bias: true }, maxBinding: 1024, outChunks: 3, dispatches: 12 },
    { c: { name: '1×1 (vec4 input), 16 → 8 channels, groups of 8, int4', B: 1, Cin: 16, Cout: 8, H: 8, W: 8, k: 1, bits: 4, groupSize: 8 }, maxBinding: 1024, outChunks: 2, dispatches: 8 },
    { c: { name: 'batch 3: channel-split input into whole-sample outputs, per channel', B: 3, Cin: 16, Cout: 2, H: 8, W: 8, k: 3, bits: 8, groupSize: 144, residual: true }, maxBinding: 1024, outChunks: 2, dispatches: 12 },
  ];
  chunked.forEach(({ c, maxBinding, outChunks, dispatches }, i) => {
    it(c.name, async () => {
      const ctx = await gpuContext();
      const caps = ctx.capabilities;
      const split = new GpuRuntime(ctx.device, { ...caps, limits: { ...caps.limits, maxStorageBufferBindingSize: maxBinding } });
      const got = await runCase(split, c, 'split activations', 3000 + 10 * i, ctx.runtime);
      expect(got.outChunks).toBe(outChunks);
      expect(got.dispatches).toBe(dispatches);
    });
  });
});

describe('quantized conv weights', () => {
  it('are never dequantized into GPU memory: a conv allocates only its output', async () => {
    const rt = await gpuRuntime();
    const [Cin, Cout, H] = [64, 64, 8];
    const w = uploadQuantized(rt, randomUniform(Cout * Cin * 9, 5), [Cout, Cin, 3, 3], { bits: 8, groupSize: 64 });
    const x = rt.upload(randomUniform(Cin * H * H, 6), [1, Cin, H, H]);
    await rt.sync();
    const live = rt.pool.stats.liveBytes;
    rt.resetPeak();
    const out = conv2d(rt, x, w);
    await rt.read(out);
    // The output is 16 KiB; an f16 copy of the weight would be 72 KiB.
    expect(rt.pool.stats.peakBytes - live).toBeLessThanOrEqual(Cout * H * H * 4);
    for (const t of [w, x, out]) rt.release(t);
  });
});
