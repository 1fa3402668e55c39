import { describe, expect, it } from 'vitest';
import type { AllocationRecord } from '../../../../src/webgpu/buffer-pool.js';
import { decodeHalf, encodeHalf } from '../../../../src/webgpu/half.js';
import { GpuRuntime } from '../../../../src/webgpu/runtime.js';
import type { GpuTensor } from '../../../../src/webgpu/tensor.js';
import { attention, attentionTiling, attentionWorkgroupBytes, type AttentionTiling } from '../../../../src/webgpu/kernels/attention.js';
import { CpuOps } from '../../../helpers/cpu-ops.js';
import { errorStats, randomUniform } from '../../../helpers/rng.js';
import { f16Layouts, gpuContext, gpuRuntime } from '../../helpers/device.js';

const cpu = new CpuOps();
const EPS32 = 2 ** -23;

type DType = 'f32' | 'f16';

interface AttentionCase {
  name: string;
  batch: number;
  heads: number;
  headSize: number;
  lq: number;
  lk: number;
  causal?: boolean;
  scale?: number;
  /** Storage of q, k, v. */
  dtypes?: readonly [DType, DType, DType];
  /** Inputs are uniform in [-range, range). */
  range?: number;
  tiling?: AttentionTiling;
}

const F16: readonly [DType, DType, DType] = ['f16', 'f16', 'f16'];

const cases: AttentionCase[] = [
  { name: 'one query, one key, D 8', batch: 1, heads: 1, headSize: 8, lq: 1, lk: 1 },
  { name: 'D 8, 7 tokens, 2 heads, causal', batch: 1, heads: 2, headSize: 8, lq: 7, lk: 7, causal: true },
  { name: 'D 40 (SD1.5), 33 tokens, batch 2, 8 heads', batch: 2, heads: 8, headSize: 40, lq: 33, lk: 33 },
  { name: 'D 64 (CLIP), 77 tokens, causal, 2 heads', batch: 1, heads: 2, headSize: 64, lq: 77, lk: 77, causal: true },
  { name: 'D 80, cross 33 → 77, batch 2, 2 heads', batch: 2, heads: 2, headSize: 80, lq: 33, lk: 77 },
  { name: 'D 160, cross 7 → 77', batch: 1, heads: 1, headSize: 160, lq: 7, lk: 77 },
  { name: 'D 160, 65 queries × 100 keys (past whole tiles), 2 heads', batch: 1, heads: 2, headSize: 160, lq: 65, lk: 100 },
  { name: 'D 40, 100 queries × 37 keys, 3 heads, scale 0.3', batch: 1, heads: 3, headSize: 40, lq: 100, lk: 37, scale: 0.3 },
  { name: 'D 64, 1 query × 77 keys, batch 3, 5 heads', batch: 3, heads: 5, headSize: 64, lq: 1, lk: 77 },
  { name: 'D 10 (ragged last vec4), 19 tokens, causal, 4 heads', batch: 2, heads: 4, headSize: 10, lq: 19, lk: 19, causal: true },
  { name: 'D 40, 2 lanes per query, 8-key tiles, causal', batch: 1, heads: 2, headSize: 40, lq: 33, lk: 33, causal: true, tiling: { blockQ: 8, lanes: 2, blockK: 8 } },
  { name: 'D 40, 4 lanes per query (padding lanes), 4-key tiles', batch: 2, heads: 1, headSize: 40, lq: 21, lk: 13, tiling: { blockQ: 16, lanes: 4, blockK: 4 } },
  { name: 'D 8, 8 lanes per query (lanes past the head)', batch: 1, heads: 3, headSize: 8, lq: 9, lk: 30, tiling: { blockQ: 8, lanes: 8, blockK: 16 } },
  { name: 'large scores (inputs ±30): f32 softmax stays finite', batch: 1, heads: 2, headSize: 64, lq: 17, lk: 40, range: 30 },
  { name: 'f16 q, k, v, D 40, cross 33 → 77', batch: 2, heads: 2, headSize: 40, lq: 33, lk: 77, dtypes: F16 },
  { name: 'f16 q, k, v, D 80, causal', batch: 1, heads: 2, headSize: 80, lq: 21, lk: 21, causal: true, dtypes: F16 },
  { name: 'f32 q with f16 k, v, D 160', batch: 1, heads: 1, headSize: 160, lq: 9, lk: 33, dtypes: ['f32', 'f16', 'f16'] },
  { name: 'f16 q, k, v, odd D 10', batch: 1, heads: 3, headSize: 10, lq: 7, lk: 9, dtypes: F16 },
  // q·k reaches 64·200² = 2.6e6, past f16's 65504: an f16 score would be inf and the softmax NaN.
  { name: 'f16 inputs ±200 whose scores overflow f16', batch: 1, heads: 1, headSize: 64, lq: 9, lk: 20, dtypes: F16, range: 200 },
  // Heads past 64: K and V take turns in one tile (the default tiling under the default limits).
  { name: 'D 256, 67 queries × 131 keys, 2 heads', batch: 1, heads: 2, headSize: 256, lq: 67, lk: 131 },
  { name: 'D 512 (VAE), 67 queries × 131 keys', batch: 1, heads: 1, headSize: 512, lq: 67, lk: 131 },
  { name: 'D 512, 70 tokens, causal, batch 2', batch: 2, heads: 1, headSize: 512, lq: 70, lk: 70, causal: true },
  { name: 'D 500 (vec4s past the head), 45 queries × 83 keys', batch: 1, heads: 1, headSize: 500, lq: 45, lk: 83 },
  { name: 'D 510 (ragged last vec4), 33 queries × 61 keys, 2 heads', batch: 1, heads: 2, headSize: 510, lq: 33, lk: 61 },
  { name: 'D 512, large scores (inputs ±30)', batch: 1, heads: 1, headSize: 512, lq: 33, lk: 40, range: 30 },
  { name: 'D 40, shared tile, 1 lane, 6-key tiles, causal', batch: 1, heads: 2, headSize: 40, lq: 33, lk: 33, causal: true, tiling: { blockQ: 16, lanes: 1, blockK: 6, sharedTile: true } },
  { name: 'D 80, shared tile, 2 lanes, 5-key tiles', batch: 2, heads: 1, headSize: 80, lq: 21, lk: 23, tiling: { blockQ: 8, lanes: 2, blockK: 5, sharedTile: true } },
  { name: 'D 160, shared tile, 8 lanes over 3-key tiles (idle summing lanes)', batch: 1, heads: 2, headSize: 160, lq: 19, lk: 29, tiling: { blockQ: 8, lanes: 8, blockK: 3, sharedTile: true } },
  { name: 'f32 q with f16 k, v, D 256, 29 tokens, causal', batch: 1, heads: 1, headSize: 256, lq: 29, lk: 29, causal: true, dtypes: ['f32', 'f16', 'f16'] },
];

/**
 * Error bound of one output row, from f32 rounding: each score sums D products, so it is off by
 * δ ≤ (D + 2)·eps·scale·Σ|q_d·k_d| (the +2: the scale and log2(e) folded into q); the softmax at
 * most doubles that into the weights, exp2 adds a few ulp, and the weighted sum of Lk values adds
 * Lk·eps, all times max|v|. When the top score leads by far more than δ (huge inputs) the row is
 * v of that key up to the other keys' weights, which bounds it tighter.
 */
function rowTolerance(scores: Float64Array, bounds: Float64Array, keys: number, headSize: number, maxV: number): number {
  let delta = 0;
  let top = -Infinity;
  let second = -Infinity;
  for (let j = 0; j < keys; j++) {
    delta = Math.max(delta, (headSize + 2) * EPS32 * bounds[j]!);
    if (scores[j]! > top) [top, second] = [scores[j]!, top];
    else if (scores[j]! > second) second = scores[j]!;
  }
  const rounding = (keys + 8) * EPS32;
  const general = maxV * (2 * delta + rounding);
  const margin = top - second - 2 * delta;
  return margin > 1 ? Math.min(general, maxV * (2 * (keys - 1) * Math.exp(-margin) + rounding)) : general;
}

/** Largest `rowTolerance` over every (batch, head, query) of a case, with its float64 scores. */
function tolerance(c: AttentionCase, q: Float32Array, k: Float32Array, v: Float32Array): number {
  const D = c.headSize;
  const width = c.heads * D;
  const scale = c.scale ?? 1 / Math.sqrt(D);
  let maxV = 0;
  for (const x of v) maxV = Math.max(maxV, Math.abs(x));
  const scores = new Float64Array(c.lk);
  const bounds = new Float64Array(c.lk);
  let tol = 0;
  for (let b = 0; b < c.batch; b++) {
    for (let h = 0; h < c.heads; h++) {
      for (let i = 0; i < c.lq; i++) {
        const keys = c.causal ? i + 1 : c.lk;
        for (let j = 0; j < keys; j++) {
          let dot = 0;
          let abs = 0;
          for (let d = 0; d < D; d++) {
            const prod = q[(b * c.lq + i) * width + h * D + d]! * k[(b * c.lk + j) * width + h * D + d]!;
            dot += prod;
            abs += Math.abs(prod);
          }
          scores[j] = dot * scale;
          bounds[j] = abs * Math.abs(scale);
        }
        tol = Math.max(tol, rowTolerance(scores, bounds, keys, D, maxV));
      }
    }
  }
  return tol;
}

/** The values a tensor of `dtype` really holds: the reference sees the f16-rounded inputs. */
function stored(data: Float32Array, dtype: DType): Float32Array {
  return dtype === 'f16' ? decodeHalf(encodeHalf(data)) : data;
}

/** Rows `rows` of a [L, width] matrix, in order. */
function gatherRows(data: Float32Array, rows: readonly number[], width: number): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(data.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

async function runCase(rt: GpuRuntime, c: AttentionCase, seed: number): Promise<void> {
  const width = c.heads * c.headSize;
  const dtypes = c.dtypes ?? ['f32', 'f32', 'f32'];
  const range = c.range ?? 1;
  const qShape = [c.batch, c.lq, width];
  const kvShape = [c.batch, c.lk, width];
  const qData = stored(randomUniform(c.batch * c.lq * width, seed, -range, range), dtypes[0]);
  const kData = stored(randomUniform(c.batch * c.lk * width, seed + 1, -range, range), dtypes[1]);
  const vData = stored(randomUniform(c.batch * c.lk * width, seed + 2), dtypes[2]);
  const options = { heads: c.heads, causal: c.causal, scale: c.scale };
  const ref = cpu.attention(cpu.upload(qData, qShape), cpu.upload(kData, kvShape), cpu.upload(vData, kvShape), options);

  const q = rt.upload(qData, qShape, dtypes[0]);
  const k = rt.upload(kData, kvShape, dtypes[1]);
  const v = rt.upload(vData, kvShape, dtypes[2]);
  const out = attention(rt, q, k, v, { ...options, tiling: c.tiling });
  expect(out.shape).toEqual(qShape);
  expect(out.dtype).toBe('f32');
  const got = await rt.read(out);
  const want = await cpu.read(ref);
  const { maxAbs } = errorStats(got, want);
  const tol = tolerance(c, qData, kData, vData);
  expect(maxAbs).toBeLessThanOrEqual(tol);
  for (const t of [q, k, v, out]) rt.release(t);
}

describe('attention matches the float64 reference', () => {
  cases.forEach((c, i) => {
    if (c.dtypes?.includes('f16')) {
      for (const layout of f16Layouts) it(`${c.name} (${layout.name})`, async () => runCase(await layout.runtime(), c, 400 + 10 * i));
    } else {
      it(c.name, async () => runCase(await gpuRuntime(), c, 400 + 10 * i));
    }
  });
});

describe('attention at sequence length 4096', () => {
  it('allocates no score matrix: no buffer beyond q/k/v/output size, and sampled rows match the reference', async () => {
    const rt = await gpuRuntime();
    const [L, D] = [4096, 8];
    const shape = [1, L, D];
    const qData = randomUniform(L * D, 501);
    const kData = randomUniform(L * D, 502);
    const vData = randomUniform(L * D, 503);
    const allocations: AllocationRecord[] = [];
    rt.pool.onAllocate((r) => allocations.push(r));
    try {
      rt.pool.trim();
      const q = rt.upload(qData, shape);
      const k = rt.upload(kData, shape);
      const v = rt.upload(vData, shape);
      const out = attention(rt, q, k, v, { heads: 1 });
      const got = await rt.read(out);
      for (const t of [q, k, v, out]) rt.release(t);

      // Four fresh buffers (trim emptied the pool): q, k, v and the output; nothing for scores.
      const tensorBytes = L * D * 4;
      expect(allocations).toHaveLength(4);
      for (const r of allocations) {
        expect(r.size).toBeLessThan(L * L * 4);
        expect(r.size).toBeLessThanOrEqual(tensorBytes);
      }
      expect(attentionWorkgroupBytes(attentionTiling(D, L, rt.limits), D)).toBeLessThanOrEqual(rt.limits.maxComputeWorkgroupStorageSize);

      const rows = [0, 1, 63, 64, 2047, 4031, 4095];
      const gather = (data: Float32Array): Float32Array => gatherRows(data, rows, D);
      const ref = cpu.attention(cpu.upload(gather(qData), [1, rows.length, D]), cpu.upload(kData, shape), cpu.upload(vData, shape), { heads: 1 });
      const { maxAbs } = errorStats(gather(got), await cpu.read(ref));
      const c: AttentionCase = { name: '4096 sampled', batch: 1, heads: 1, headSize: D, lq: rows.length, lk: L };
      expect(maxAbs).toBeLessThanOrEqual(tolerance(c, gather(qData), kData, vData));
    } finally {
      rt.pool.onAllocate(null);
    }
  });

  it('plans SD1.5 self-attention (2 × 8 heads of 40 over 4096 tokens) with no binding past the activations', () => {
    const rt = GpuRuntime.plan();
    const shape = [2, 4096, 320];
    const sizes: number[] = [];
    rt.pool.onAllocate((r) => sizes.push(r.size));
    const q = rt.empty(shape);
    const out = attention(rt, q, rt.empty(shape), rt.empty(shape), { heads: 8 });
    expect(out.shape).toEqual(shape);
    expect(rt.stats.dispatches).toBe(1);
    expect(Math.max(...sizes)).toBe(q.chunks[0]!.byteSize);
    expect(rt.stats.largestBindingBytes).toBe(2 * 4096 * 320 * 4);
  });
});

describe('attention at the VAE mid-block shape under the default limits', () => {
  it('one head of 512 over 4096 tokens: 64 sampled query rows match the reference within 1e-4 relative', async () => {
    const rt = await gpuRuntime();
    // The test device asks for no limits: this is WebGPU's default 16 KiB of workgroup memory.
    expect(rt.limits.maxComputeWorkgroupStorageSize).toBe(16384);
    const [L, D] = [4096, 512];
    const shape = [1, L, D];
    // q and k in ±2 give scores of standard deviation ~1.3: a softmax that is neither flat nor one-hot.
    const qData = randomUniform(L * D, 701, -2, 2);
    const kData = randomUniform(L * D, 702, -2, 2);
    const vData = randomUniform(L * D, 703);
    const q = rt.upload(qData, shape);
    const k = rt.upload(kData, shape);
    const v = rt.upload(vData, shape);
    const out = attention(rt, q, k, v, { heads: 1 });
    const got = await rt.read(out);
    for (const t of [q, k, v, out]) rt.release(t);

    const rows = Array.from({ length: 64 }, (_, i) => i * 65); // 0, 65, …, 4095
    const qRows = gatherRows(qData, rows, D);
    const ref = cpu.attention(cpu.upload(qRows, [1, rows.length, D]), cpu.upload(kData, shape), cpu.upload(vData, shape), { heads: 1 });
    const want = await cpu.read(ref);
    const { maxAbs } = errorStats(gatherRows(got, rows, D), want);
    const largest = want.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    expect(maxAbs).toBeLessThanOrEqual(1e-4 * largest);
    const c: AttentionCase = { name: 'VAE sampled', batch: 1, heads: 1, headSize: D, lq: rows.length, lk: L };
    expect(maxAbs).toBeLessThanOrEqual(tolerance(c, qRows, kData, vData));
  });
});

describe('attention dispatch and pipelines', () => {
  it('folds a grid past maxComputeWorkgroupsPerDimension and still covers every (batch, head, query block)', async () => {
    const ctx = await gpuContext();
    const caps = ctx.capabilities;
    const rt = new GpuRuntime(ctx.device, { ...caps, limits: { ...caps.limits, maxComputeWorkgroupsPerDimension: 7 } });
    // 37 query blocks of 8 fold into a 7×6 grid whose last 5 workgroups have nothing to do.
    await runCase(rt, { name: 'folded', batch: 1, heads: 1, headSize: 8, lq: 293, lk: 5, tiling: { blockQ: 8, lanes: 1, blockK: 16 } }, 600);
  });

  it('one pipeline serves every batch, head count and sequence length of a head size (shapes travel in uniforms)', async () => {
    const rt = await gpuRuntime();
    const run = async (batch: number, heads: number, lq: number, lk: number): Promise<void> => {
      const shape = (l: number): number[] => [batch, l, heads * 40];
      const size = (l: number): number => batch * l * heads * 40;
      const out = attention(rt, rt.upload(randomUniform(size(lq), 1), shape(lq)), rt.upload(randomUniform(size(lk), 2), shape(lk)), rt.upload(randomUniform(size(lk), 3), shape(lk)), { heads });
      await rt.read(out);
    };
    await run(1, 2, 64, 77);
    const compiled = rt.stats.pipelinesCompiled;
    await run(2, 3, 100, 40);
    await run(1, 1, 70, 33);
    expect(rt.stats.pipelinesCompiled).toBe(compiled);
  });

  it('default tilings fit the WebGPU default limits for every head size from 8 to 512, with no degenerate tile', () => {
    const limits = GpuRuntime.plan().limits;
    for (let d = 8; d <= 512; d++) {
      for (const lq of [1, 77, 4096]) {
        const t = attentionTiling(d, lq, limits);
        expect(attentionWorkgroupBytes(t, d)).toBeLessThanOrEqual(limits.maxComputeWorkgroupStorageSize);
        expect(t.blockQ * t.lanes).toBeLessThanOrEqual(limits.maxComputeInvocationsPerWorkgroup);
        expect(Math.ceil(Math.ceil(d / 4) / t.lanes)).toBeLessThanOrEqual(16);
        expect(t.blockK).toBeGreaterThanOrEqual(4);
        expect(t.blockQ).toBeGreaterThanOrEqual(8);
        if (lq === 4096) expect(t.blockQ * t.lanes).toBeGreaterThanOrEqual(64);
      }
    }
  });

  it('keeps K and V side by side for heads up to 64 and has them take turns in one tile past that (default limits, 4096 queries)', () => {
    const limits = GpuRuntime.plan().limits;
    const tiling = (d: number): AttentionTiling => attentionTiling(d, 4096, limits);
    expect(tiling(40)).toEqual({ blockQ: 64, lanes: 1, blockK: 32 });
    expect(tiling(64)).toEqual({ blockQ: 64, lanes: 1, blockK: 16 });
    expect(tiling(80)).toEqual({ blockQ: 64, lanes: 2, blockK: 16, sharedTile: true });
    expect(tiling(160)).toEqual({ blockQ: 64, lanes: 4, blockK: 8, sharedTile: true });
    expect(tiling(256)).toEqual({ blockQ: 64, lanes: 4, blockK: 8, sharedTile: true });
    expect(tiling(512)).toEqual({ blockQ: 32, lanes: 8, blockK: 4, sharedTile: true });
    expect(attentionWorkgroupBytes(tiling(512), 512)).toBe(4 * 512 * 4 + 32 * 4 * 8 * 4);
  });

  it('refuses a default tiling below 8 queries × 4 keys, naming the workgroup memory that needs', () => {
    const limits = { ...GpuRuntime.plan().limits, maxComputeWorkgroupStorageSize: 8192 };
    // 8 queries × 8 lanes × 4 keys of partial sums, plus 4 keys of 512 floats.
    expect(() => attentionTiling(512, 4096, limits)).toThrow('attention: head size 512 needs 9216 bytes of workgroup memory, more than maxComputeWorkgroupStorageSize = 8192');
    expect(attentionTiling(160, 4096, limits)).toEqual({ blockQ: 64, lanes: 4, blockK: 4, sharedTile: true });
  });

  it('rejects mismatched shapes, naming them', () => {
    const rt = GpuRuntime.plan();
    expect(() => attention(rt, rt.empty([1, 4, 16]), rt.empty([1, 5, 16]), rt.empty([1, 6, 16]), { heads: 2 })).toThrow(/k \[1,5,16\] and v \[1,6,16\]/);
    expect(() => attention(rt, rt.empty([1, 4, 16]), rt.empty([1, 4, 16]), rt.empty([1, 4, 16]), { heads: 3 })).toThrow(/heads = 3/);
    expect(() => attention(rt, rt.empty([1, 4, 16]), rt.empty([1, 5, 16]), rt.empty([1, 5, 16]), { heads: 2, causal: true })).toThrow(/causal mask needs Lq == Lk/);
  });

  it('rejects an explicit tiling the device cannot run, naming the limit', () => {
    const rt = GpuRuntime.plan();
    const x = (): GpuTensor => rt.empty([1, 8, 160]);
    expect(() => attention(rt, x(), x(), x(), { heads: 1, tiling: { blockQ: 64, lanes: 4, blockK: 32 } })).toThrow(/maxComputeWorkgroupStorageSize = 16384/);
    expect(() => attention(rt, x(), x(), x(), { heads: 1, tiling: { blockQ: 128, lanes: 4, blockK: 4 } })).toThrow(/512 threads per workgroup/);
    expect(() => attention(rt, x(), x(), x(), { heads: 1, tiling: { blockQ: 8, lanes: 1, blockK: 4 } })).toThrow(/40 vec4s per thread/);
    const wide = (): GpuTensor => rt.empty([1, 8, 512]);
    expect(() => attention(rt, wide(), wide(), wide(), { heads: 1, tiling: { blockQ: 32, lanes: 8, blockK: 8, sharedTile: true } })).toThrow(/24576 bytes of workgroup memory/);
  });
});
