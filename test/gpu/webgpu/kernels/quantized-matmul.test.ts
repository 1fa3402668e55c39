import { afterAll, describe, expect, it } from 'vitest';
import { dequantize, quantizeRows } from '../../../../src/quant/quantize.js';
import type { QuantBits } from '../../../../src/quant/scheme.js';
import { TensorShapeError } from '../../../../src/webgpu/errors.js';
import { decodeHalf, encodeHalf } from '../../../../src/webgpu/half.js';
import { add } from '../../../../src/webgpu/kernels/elementwise.js';
import { linear, matmul } from '../../../../src/webgpu/kernels/matmul.js';
import { softmax } from '../../../../src/webgpu/kernels/softmax.js';
import type { Activation } from '../../../../src/webgpu/kernels/ops.js';
import { emptyQuantized, uploadQuantized } from '../../../../src/webgpu/quantized-weights.js';
import type { GpuRuntime } from '../../../../src/webgpu/runtime.js';
import { activate } from '../../../helpers/cpu-ops.js';
import { randomUniform } from '../../../helpers/rng.js';
import { gpuRuntime, gpuRuntimeWithoutF16 } from '../../helpers/device.js';

/**
 * Linear layers over int8/int4 weights (`QuantScheme`), dequantized inside the matmul kernel.
 * The reference is the float64 product with the weights the scheme stands for (`dequantize`):
 * an f16 scale times a small integer is exact in f32, so the kernel's only error is the f32
 * rounding of the sum, bounded per output by (K + 2)·2⁻²³·Σ|a·w| (plus the f16 rounding of an
 * f16 output, and a little for exp/erf in the epilogue).
 */
const EPS32 = 2 ** -23;

/** Devices the quantized kernel runs on: scales read as array<f16>, or packed two per u32 without shader-f16. */
const layouts = [
  { name: 'shader-f16 (SCALE_F16)', runtime: gpuRuntime },
  { name: 'no shader-f16 (SCALE_F16_PACKED)', runtime: gpuRuntimeWithoutF16 },
] as const;

interface QuantCase {
  name: string;
  /** x's shape; its last dim is K. */
  xShape: number[];
  N: number;
  bits: QuantBits;
  groupSize: number;
  bias?: boolean;
  act?: Activation;
  /** Through `matmul(x, w, { transB: true, alpha })` rather than `linear`. */
  alpha?: number;
  /** f16 activations in and out (only on a device with shader-f16). */
  f16?: boolean;
  /** Zero every weight of these rows' first group: scale 0, q 0. */
  zeroGroupRows?: number[];
}

const cases: QuantCase[] = [
  { name: 'K = 8, one group', xShape: [5, 8], N: 37, bits: 8, groupSize: 8, bias: true },
  { name: 'K = 8, int4', xShape: [5, 8], N: 37, bits: 4, groupSize: 8 },
  { name: 'K = 40, groups of 8 (odd groups per row: padded scale rows)', xShape: [2, 7, 40], N: 77, bits: 8, groupSize: 8, bias: true },
  { name: 'K = 40, groups of 32 (short last group), int4, gelu', xShape: [2, 7, 40], N: 77, bits: 4, groupSize: 32, bias: true, act: 'gelu' },
  { name: 'K = 40, per channel (group = K)', xShape: [13, 40], N: 9, bits: 8, groupSize: 40, bias: true },
  { name: 'K = 40, per channel (group > K), int4', xShape: [13, 40], N: 9, bits: 4, groupSize: 256 },
  { name: 'K = 1280, groups of 128, silu', xShape: [33, 1280], N: 77, bits: 8, groupSize: 128, bias: true, act: 'silu' },
  { name: 'K = 1280, groups of 64, int4', xShape: [33, 1280], N: 77, bits: 4, groupSize: 64, bias: true },
  { name: 'K = 1280, groups of 96 (short last group), int4, quick_gelu', xShape: [3, 11, 1280], N: 45, bits: 4, groupSize: 96, bias: true, act: 'quick_gelu' },
  { name: 'K = 1280, per channel', xShape: [6, 1280], N: 33, bits: 8, groupSize: 1280 },
  { name: 'K = 64, zero groups, relu', xShape: [9, 64], N: 19, bits: 8, groupSize: 16, bias: true, act: 'relu', zeroGroupRows: [0, 5, 18] },
  { name: 'K = 64, zero groups, int4', xShape: [9, 64], N: 19, bits: 4, groupSize: 16, zeroGroupRows: [1, 2, 17] },
  { name: 'matmul transB, 3-D a, alpha, bias', xShape: [3, 10, 72], N: 21, bits: 8, groupSize: 32, bias: true, alpha: -0.5 },
  { name: 'matmul transB, alpha, int4', xShape: [3, 10, 72], N: 21, bits: 4, groupSize: 8, alpha: 0.125 },
  { name: 'f16 activations, K = 1280, groups of 128', xShape: [33, 1280], N: 77, bits: 8, groupSize: 128, bias: true, f16: true },
  { name: 'f16 activations, K = 40, groups of 32, int4, gelu', xShape: [2, 7, 40], N: 37, bits: 4, groupSize: 32, bias: true, act: 'gelu', f16: true },
];

/** Largest error seen per case and layout, and its share of the bound (printed with QUANT_REPORT=1). */
const measured: { case: string; layout: string; maxAbs: number; maxRel: number; ofBound: number }[] = [];

afterAll(() => {
  if (process.env.QUANT_REPORT) console.table(measured);
});

function halfRounded(data: Float32Array): Float32Array {
  return decodeHalf(encodeHalf(data));
}

async function runCase(rt: GpuRuntime, c: QuantCase, layout: string, seed: number): Promise<void> {
  const K = c.xShape[c.xShape.length - 1]!;
  const M = c.xShape.reduce((a, b) => a * b, 1) / K;
  const scheme = { bits: c.bits, groupSize: c.groupSize };
  const xData = randomUniform(M * K, seed);
  const xHeld = c.f16 ? halfRounded(xData) : xData;
  const wData = randomUniform(c.N * K, seed + 1, -0.2, 0.2);
  for (const r of c.zeroGroupRows ?? []) wData.fill(0, r * K, r * K + Math.min(K, c.groupSize));
  const biasData = randomUniform(c.N, seed + 2);
  const wRef = dequantize(quantizeRows(wData, K, scheme), [c.N, K], scheme);

  const x = rt.upload(xData, c.xShape, c.f16 ? 'f16' : 'f32');
  const w = uploadQuantized(rt, wData, [c.N, K], scheme);
  expect(w.dtype).toBe(c.bits === 8 ? 'q8' : 'q4');
  const bias = c.bias ? rt.upload(biasData, [c.N]) : undefined;
  const run = (): ReturnType<typeof linear> =>
    c.alpha === undefined ? linear(rt, x, w, bias, { act: c.act }) : matmul(rt, x, w, { transB: true, alpha: c.alpha, bias, act: c.act });
  const out = c.f16 ? rt.withActivations('f16', run) : run();
  expect(out.shape).toEqual([...c.xShape.slice(0, -1), c.N]);
  expect(out.dtype).toBe(c.f16 ? 'f16' : 'f32');
  const got = await rt.read(out);

  const alpha = c.alpha ?? 1;
  let maxAbs = 0;
  let maxRel = 0;
  let ofBound = 0;
  for (let m = 0; m < M; m++) {
    for (let n = 0; n < c.N; n++) {
      let sum = 0;
      let magnitude = 0;
      for (let k = 0; k < K; k++) {
        const p = xHeld[m * K + k]! * wRef[n * K + k]!;
        sum += p;
        magnitude += Math.abs(p);
      }
      const b = c.bias ? biasData[n]! : 0;
      const pre = alpha * sum + b;
      const want = activate(pre, c.act);
      // f32 sum (K fma roundings), alpha and bias (2 more); activations are at most 1.2-Lipschitz.
      let bound = (K + 2) * EPS32 * (Math.abs(alpha) * magnitude + Math.abs(b)) * (c.act ? 1.2 : 1);
      // exp() and erf_approx (1.2e-7 absolute) in the epilogue.
      if (c.act && c.act !== 'relu') bound += 4e-7 * Math.max(1, Math.abs(pre));
      if (c.f16) bound += 2 ** -11 * Math.abs(want);
      const err = Math.abs(got[m * c.N + n]! - want);
      expect(err, `out[${m}, ${n}] = ${got[m * c.N + n]} vs ${want}`).toBeLessThanOrEqual(bound);
      maxAbs = Math.max(maxAbs, err);
      maxRel = Math.max(maxRel, err / Math.max(magnitude, 1e-30));
      ofBound = Math.max(ofBound, bound > 0 ? err / bound : 0);
    }
  }
  measured.push({ case: c.name, layout, maxAbs, maxRel, ofBound });
  for (const t of [x, w, out, ...(bias ? [bias] : [])]) rt.release(t);
}

describe('linear over q8/q4 weights matches the float64 product with the dequantized weights', () => {
  cases.forEach((c, i) => {
    for (const layout of layouts) {
      if (c.f16 && layout.runtime === gpuRuntimeWithoutF16) continue;
      it(`${c.name} (${layout.name})`, async () => {
        const rt = await layout.runtime();
        if (c.f16 && !rt.shaderF16) return;
        await runCase(rt, c, layout.name, 1000 + 10 * i);
      });
    }
  });
});

describe('quantized weights in the matmul kernel', () => {
  it('are never dequantized into GPU memory: a linear allocates only its output', async () => {
    const rt = await gpuRuntime();
    const [M, N, K] = [4, 256, 1024];
    const w = uploadQuantized(rt, randomUniform(N * K, 7), [N, K], { bits: 4, groupSize: 64 });
    const x = rt.upload(randomUniform(M * K, 8), [M, K]);
    await rt.sync();
    const live = rt.pool.stats.liveBytes;
    rt.resetPeak();
    const out = linear(rt, x, w);
    await rt.read(out);
    // The output is 4 KiB; an f16 copy of the weight would be 512 KiB.
    expect(rt.pool.stats.peakBytes - live).toBeLessThanOrEqual(M * N * 4);
    for (const t of [w, x, out]) rt.release(t);
  });

  it('one pipeline serves every shape and group size of a bit width', async () => {
    const rt = await gpuRuntime();
    const run = async (M: number, N: number, K: number, groupSize: number): Promise<void> => {
      const w = uploadQuantized(rt, randomUniform(N * K, N), [N, K], { bits: 8, groupSize });
      const x = rt.upload(randomUniform(M * K, M), [M, K]);
      const out = linear(rt, x, w);
      await rt.read(out);
      for (const t of [w, x, out]) rt.release(t);
    };
    await run(5, 7, 16, 8);
    const compiled = rt.stats.pipelinesCompiled;
    await run(9, 13, 96, 32);
    expect(rt.stats.pipelinesCompiled).toBe(compiled);
  });

  it('a kernel that does not dequantize refuses a q8 weight (TensorShapeError)', async () => {
    const rt = await gpuRuntime();
    const w = uploadQuantized(rt, randomUniform(4 * 8, 1), [4, 8], { bits: 8, groupSize: 8 });
    // Whole (a broadcast operand of add, softmax's input) or as a chunk (same-shape add binds chunks): refused either way.
    expect(() => add(rt, rt.empty([2, 4, 8]), w)).toThrow(TensorShapeError);
    expect(() => add(rt, rt.empty([2, 4, 8]), w)).toThrow(/q8 quantized weight, which this kernel does not dequantize/);
    expect(() => add(rt, w, w)).toThrow(/quantized weight, which this kernel does not dequantize/);
    expect(() => softmax(rt, w)).toThrow(TensorShapeError);
    rt.release(w);
  });

  it('a quantized b must be a transB weight shared by every batch', async () => {
    const rt = await gpuRuntime();
    const w = uploadQuantized(rt, randomUniform(8 * 8, 1), [8, 8], { bits: 4, groupSize: 8 });
    expect(() => matmul(rt, rt.empty([3, 8]), w)).toThrow(/transB weight/);
    expect(() => linear(rt, w, rt.empty([3, 8]))).toThrow(TensorShapeError);
    expect(() => linear(rt, rt.empty([3, 8]), rt.empty([5, 8]), w)).toThrow(/bias/);
    rt.release(w);
  });

  it('a weight whose rows do not fill whole words cannot be created', async () => {
    const rt = await gpuRuntime();
    expect(() => emptyQuantized(rt, [4, 6], { bits: 8, groupSize: 8 })).toThrow(TensorShapeError);
    expect(() => emptyQuantized(rt, [4, 12], { bits: 4, groupSize: 8 })).toThrow(TensorShapeError);
  });
});
