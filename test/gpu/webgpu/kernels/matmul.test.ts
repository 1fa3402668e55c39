import { describe, expect, it } from 'vitest';
import { decodeHalf, encodeHalf } from '../../../../src/webgpu/half.js';
import { GpuRuntime } from '../../../../src/webgpu/runtime.js';
import type { GpuTensor } from '../../../../src/webgpu/tensor.js';
import { linear, matmul } from '../../../../src/webgpu/kernels/matmul.js';
import type { Activation } from '../../../../src/webgpu/kernels/ops.js';
import { CpuOps, type CpuTensor } from '../../../helpers/cpu-ops.js';
import { errorStats, randomUniform } from '../../../helpers/rng.js';
import { f16Layouts, gpuContext, gpuRuntime } from '../../helpers/device.js';

const cpu = new CpuOps();
const EPS32 = 2 ** -23;

/**
 * f32 accumulation of K products rounds at most K times, each by eps·|partial sum|, so the
 * error grows like K·eps·|values|; the 1e-5 floor covers exp() and erf() in the epilogue.
 */
function tolerance(K: number, ref: Float32Array): number {
  let max = 0;
  for (const v of ref) max = Math.max(max, Math.abs(v));
  return K * EPS32 * Math.max(max, 1) + 1e-5;
}

/** The values a tensor of `dtype` really holds: f16 weights are compared with f16-rounded reference inputs. */
function stored(data: Float32Array, dtype: 'f32' | 'f16'): Float32Array {
  return dtype === 'f16' ? decodeHalf(encodeHalf(data)) : data;
}

async function expectClose(rt: GpuRuntime, got: GpuTensor, ref: CpuTensor, K: number): Promise<void> {
  expect(got.shape).toEqual(ref.shape);
  const want = await cpu.read(ref);
  const { maxAbs } = errorStats(await rt.read(got), want);
  expect(maxAbs).toBeLessThanOrEqual(tolerance(K, want));
}

interface MatmulCase {
  name: string;
  /** Batch, or 0 for 2-D operands. */
  batch: number;
  M: number;
  N: number;
  K: number;
  transB?: boolean;
  /** b is 2-D while a is 3-D. */
  bShared?: boolean;
  bias?: boolean;
  act?: Activation;
  alpha?: number;
  bDtype?: 'f32' | 'f16';
}

const matmulCases: MatmulCase[] = [
  { name: '1×1×1', batch: 0, M: 1, N: 1, K: 1 },
  { name: 'odd sizes 7×33×77 (scalar paths)', batch: 0, M: 7, N: 33, K: 77 },
  { name: 'odd sizes 33×77×7, transB', batch: 0, M: 33, N: 77, K: 7, transB: true },
  { name: 'batch 3, multiples of 4 (vec4 paths)', batch: 3, M: 17, N: 12, K: 16 },
  { name: 'batch 3, multiples of 4, transB', batch: 3, M: 17, N: 12, K: 16, transB: true },
  { name: 'long K = 1027, batch 2, transB', batch: 2, M: 5, N: 9, K: 1027, transB: true },
  { name: 'long K = 1024, tiles past the edge', batch: 0, M: 33, N: 36, K: 1024 },
  { name: 'alpha and no bias (attention scores)', batch: 2, M: 9, N: 11, K: 8, transB: true, alpha: 0.125 },
  { name: 'alpha, bias, silu', batch: 0, M: 10, N: 20, K: 12, bias: true, alpha: -0.5, act: 'silu' },
  { name: '2-D b shared by every batch', batch: 3, M: 6, N: 10, K: 5, bShared: true, bias: true },
  { name: 'N = 1', batch: 0, M: 77, N: 1, K: 33, bias: true },
  { name: 'f16 b, vec4', batch: 2, M: 9, N: 16, K: 12, bDtype: 'f16', bias: true },
  { name: 'f16 b, odd, transB', batch: 0, M: 7, N: 13, K: 21, bDtype: 'f16', transB: true },
  ...(['silu', 'gelu', 'quick_gelu', 'relu'] as const).map((act) => ({ name: `bias + ${act}`, batch: 0, M: 20, N: 36, K: 40, bias: true, act })),
];

async function runMatmul(rt: GpuRuntime, c: MatmulCase, seed: number): Promise<void> {
  const bDtype = c.bDtype ?? 'f32';
  const aShape = c.batch ? [c.batch, c.M, c.K] : [c.M, c.K];
  const bMat = c.transB ? [c.N, c.K] : [c.K, c.N];
  const bShape = c.batch && !c.bShared ? [c.batch, ...bMat] : bMat;
  const aData = randomUniform(aShape.reduce((x, y) => x * y), seed);
  const bData = stored(randomUniform(bShape.reduce((x, y) => x * y), seed + 1), bDtype);
  const biasData = randomUniform(c.N, seed + 2);
  const opts = { transB: c.transB, act: c.act, alpha: c.alpha };
  const ref = cpu.matmul(cpu.upload(aData, aShape), cpu.upload(bData, bShape), { ...opts, bias: c.bias ? cpu.upload(biasData, [c.N]) : undefined });
  const a = rt.upload(aData, aShape);
  const b = rt.upload(bData, bShape, bDtype);
  const bias = c.bias ? rt.upload(biasData, [c.N]) : undefined;
  const out = matmul(rt, a, b, { ...opts, bias });
  await expectClose(rt, out, ref, c.K);
  for (const t of [a, b, out, ...(bias ? [bias] : [])]) rt.release(t);
}

describe('matmul matches the float64 reference', () => {
  matmulCases.forEach((c, i) => {
    if (c.bDtype === 'f16') {
      for (const layout of f16Layouts) it(`${c.name} (${layout.name})`, async () => runMatmul(await layout.runtime(), c, 100 + i));
    } else {
      it(c.name, async () => runMatmul(await gpuRuntime(), c, 100 + i));
    }
  });
});

interface LinearCase {
  name: string;
  xShape: number[];
  N: number;
  bias?: boolean;
  act?: Activation;
  dtype?: 'f32' | 'f16';
}

const linearCases: LinearCase[] = [
  { name: 'x [2, 7, 33] → 77, bias', xShape: [2, 7, 33], N: 77, bias: true },
  { name: 'x [77, 64] → 36, gelu', xShape: [77, 64], N: 36, act: 'gelu', bias: true },
  { name: 'x [3, 1000] → 8, silu, no bias', xShape: [3, 1000], N: 8, act: 'silu' },
  { name: 'f16 weight and bias, vec4: x [2, 5, 24] → 40', xShape: [2, 5, 24], N: 40, bias: true, dtype: 'f16' },
  { name: 'f16 weight, odd K: x [5, 31] → 13, quick_gelu', xShape: [5, 31], N: 13, bias: true, act: 'quick_gelu', dtype: 'f16' },
];

async function runLinear(rt: GpuRuntime, c: LinearCase, seed: number): Promise<void> {
  const dtype = c.dtype ?? 'f32';
  const K = c.xShape[c.xShape.length - 1]!;
  const xData = randomUniform(c.xShape.reduce((x, y) => x * y), seed);
  const wData = stored(randomUniform(c.N * K, seed + 1), dtype);
  const biasData = stored(randomUniform(c.N, seed + 2), dtype);
  const ref = cpu.linear(cpu.upload(xData, c.xShape), cpu.upload(wData, [c.N, K]), c.bias ? cpu.upload(biasData, [c.N]) : undefined, { act: c.act });
  const x = rt.upload(xData, c.xShape);
  const w = rt.upload(wData, [c.N, K], dtype);
  const bias = c.bias ? rt.upload(biasData, [c.N], dtype) : undefined;
  await expectClose(rt, linear(rt, x, w, bias, { act: c.act }), ref, K);
}

describe('linear matches the float64 reference', () => {
  linearCases.forEach((c, i) => {
    if (c.dtype === 'f16') {
      for (const layout of f16Layouts) it(`${c.name} (${layout.name})`, async () => runLinear(await layout.runtime(), c, 200 + i));
    } else {
      it(c.name, async () => runLinear(await gpuRuntime(), c, 200 + i));
    }
  });
});

/** A runtime on the shared device that believes storage bindings are only `bytes` large, so small weights take the split path. */
async function runtimeWithBindingLimit(bytes: number): Promise<GpuRuntime> {
  const ctx = await gpuContext();
  const caps = ctx.capabilities;
  return new GpuRuntime(ctx.device, { ...caps, limits: { ...caps.limits, maxStorageBufferBindingSize: bytes } });
}

describe('linear over a weight split into row chunks', () => {
  const cases = [
    // 1024 bytes hold 12 rows of 20 f32: chunks of 12, 12, 12, 1 rows at odd column offsets (scalar stores).
    { name: 'f32 [37, 20], 4 chunks at odd column offsets', N: 37, K: 20, dtype: 'f32' as const, limit: 1024, chunks: 4, rows: [2, 3] },
    // 512 bytes hold 16 rows of 16 f16: chunks of 16, 16, 8 at column offsets that keep vec4 stores.
    { name: 'f16 [40, 16], 3 chunks (vec4 stores)', N: 40, K: 16, dtype: 'f16' as const, limit: 512, chunks: 3, rows: [1, 3] },
  ];
  cases.forEach((c, i) => {
    it(`${c.name} matches the unsplit reference`, async () => {
      const rt = await runtimeWithBindingLimit(c.limit);
      // x and the output must each fit one binding of the tiny limit too.
      const xShape = [...c.rows, c.K];
      const xData = randomUniform(c.rows[0]! * c.rows[1]! * c.K, 300 + i);
      const wData = stored(randomUniform(c.N * c.K, 310 + i), c.dtype);
      const biasData = randomUniform(c.N, 320 + i);
      const w = rt.upload(wData, [c.N, c.K], c.dtype);
      expect(w.chunks.length).toBe(c.chunks);
      const before = rt.stats.dispatches;
      const out = linear(rt, rt.upload(xData, xShape), w, rt.upload(biasData, [c.N]), { act: 'relu' });
      expect(rt.stats.dispatches - before).toBe(c.chunks);
      const ref = cpu.linear(cpu.upload(xData, xShape), cpu.upload(wData, [c.N, c.K]), cpu.upload(biasData, [c.N]), { act: 'relu' });
      await expectClose(rt, out, ref, c.K);
    });
  });

  it('a 256 MiB weight runs under the default 128 MiB binding limit, one dispatch per chunk (plan mode)', () => {
    const rt = GpuRuntime.plan();
    const [N, K] = [65_536, 1024];
    const w = rt.empty([N, K]);
    expect(w.chunks.length).toBe(2);
    const out = linear(rt, rt.empty([2, 77, K]), w, rt.empty([N]));
    expect(out.shape).toEqual([2, 77, N]);
    expect(rt.stats.dispatches).toBe(2);
    expect(rt.stats.largestBindingBytes).toBeLessThanOrEqual(rt.limits.maxStorageBufferBindingSize);
  });
});

describe('matmul workgroup grid', () => {
  it('is right when its workgroups are folded into a 2-D grid that overshoots (maxComputeWorkgroupsPerDimension = 4)', async () => {
    const ctx = await gpuContext();
    const caps = ctx.capabilities;
    const rt = new GpuRuntime(ctx.device, { ...caps, limits: { ...caps.limits, maxComputeWorkgroupsPerDimension: 4 } });
    // 3 × 3 tiles × batch 2 = 18 workgroups → a 4 × 5 grid.
    await runMatmul(rt, { name: 'folded', batch: 2, M: 70, N: 70, K: 9, bias: true }, 400);
  });
});

describe('matmul pipelines', () => {
  it('one pipeline serves every shape of a specialisation (shapes travel in uniforms)', async () => {
    const rt = await gpuRuntime();
    const run = (M: number, N: number, K: number): GpuTensor => matmul(rt, rt.upload(randomUniform(M * K, M), [M, K]), rt.upload(randomUniform(K * N, N), [K, N]));
    await rt.read(run(8, 8, 8));
    const compiled = rt.stats.pipelinesCompiled;
    await rt.read(run(12, 20, 36));
    expect(rt.stats.pipelinesCompiled).toBe(compiled);
  });

  it('rejects operands whose inner dims differ, naming both shapes', async () => {
    const rt = await gpuRuntime();
    expect(() => matmul(rt, rt.empty([4, 5]), rt.empty([6, 7]))).toThrow(/a \[4,5\] · b \[6,7\]/);
  });
});
