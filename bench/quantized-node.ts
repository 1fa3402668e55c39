import { loadFixture, type ComponentFixture } from '../tools/verify/fixture/fixture.js';
import { streamStateDictToDevice } from '../src/models/device-state-dict.js';
import { parseUNetConfig } from '../src/models/unet/config.js';
import { UNet2DConditionModel } from '../src/models/unet/unet-2d-condition.js';
import { maxBindingBytes } from '../src/plan/binding-limit.js';
import { defaultQuantPolicy, QUANTIZED_DTYPES } from '../src/quant/policy.js';
import { GpuContext } from '../src/webgpu/device.js';
import { GpuOps } from '../src/webgpu/kernels/gpu-ops.js';
import type { GpuTensor } from '../src/webgpu/tensor.js';

/** The weight storages compared; f16 is the baseline of every ratio. */
export const STORAGES = ['f16', 'int8', 'int4'] as const;
export type Storage = (typeof STORAGES)[number];

export interface KernelRow {
  op: string;
  storage: Storage;
  ms: number;
  gflops: number;
}

export interface UNetRow {
  storage: Storage;
  loadS: number;
  stepS: number;
  /** Pool bytes of the UNet's weights. */
  weightBytes: number;
  dispatches: number;
}

function fill(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 0.2;
  }
  return out;
}

/** A weight of `shape` stored as `storage` (int8/int4 with the engine's schemes). */
function weight(ops: GpuOps, data: Float32Array, shape: number[], storage: Storage): GpuTensor {
  return storage === 'f16' ? ops.upload(data, shape, 'f16') : ops.uploadQuantized(data, shape, QUANTIZED_DTYPES[storage]);
}

/**
 * SD-size linears and a 3×3 conv with f16, int8 and int4 weights, f32 activations: median
 * GPU-complete time of `reps` runs after a warm-up. The M = 2 linear (a text-encoder-like
 * batch) is bound by weight bandwidth on a GPU; the others by arithmetic.
 */
export async function kernels(reps: number): Promise<{ adapter: string; rows: KernelRow[] }> {
  const ctx = await GpuContext.create();
  const ops = new GpuOps(ctx.runtime);
  const rt = ctx.runtime;
  const rows: KernelRow[] = [];
  const cases = [
    { op: 'linear 2x1280x5120', flops: 2 * 2 * 1280 * 5120, M: 2, K: 1280, N: 5120 },
    { op: 'linear 1024x640x2560', flops: 2 * 1024 * 640 * 2560, M: 1024, K: 640, N: 2560 },
    { op: 'linear 4096x320x320', flops: 2 * 4096 * 320 * 320, M: 4096, K: 320, N: 320 },
  ];
  try {
    for (const c of cases) {
      const x = ops.upload(fill(c.M * c.K, 1), [c.M, c.K]);
      const data = fill(c.N * c.K, 2);
      for (const storage of STORAGES) {
        const w = weight(ops, data, [c.N, c.K], storage);
        rows.push({ op: c.op, storage, ...(await time(reps, c.flops, () => ops.linear(x, w), rt, ops)) });
        ops.release(w);
      }
      ops.release(x);
    }
    const C = 1280;
    const H = 16;
    const x = ops.upload(fill(C * H * H, 3), [1, C, H, H]);
    const data = fill(C * C * 9, 4);
    for (const storage of STORAGES) {
      const w = weight(ops, data, [C, C, 3, 3], storage);
      rows.push({ op: `conv3x3 ${C}->${C} @${H}x${H}`, storage, ...(await time(reps, 2 * C * C * 9 * H * H, () => ops.conv2d(x, w, undefined, { padding: 1 }), rt, ops)) });
      ops.release(w);
    }
    ops.release(x);
    return { adapter: adapterName(ctx), rows };
  } finally {
    ctx.destroy();
  }
}

async function time(reps: number, flops: number, run: () => GpuTensor, rt: GpuContext['runtime'], ops: GpuOps): Promise<{ ms: number; gflops: number }> {
  ops.release(run());
  await rt.sync();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const out = run();
    await rt.sync();
    times.push(performance.now() - t0);
    ops.release(out);
  }
  times.sort((a, b) => a - b);
  const ms = times[Math.floor(times.length / 2)]!;
  return { ms, gflops: flops / ms / 1e6 };
}

/**
 * The full-size UNet fixture (`unetDir`, synthetic recipe weights streamed and, for int8/int4,
 * quantized as they stream) at batch 1 and `size`²: load time, one GPU-complete step after a
 * warm-up call at 64² (which compiles the kernels), weight bytes and dispatches, per storage.
 */
export async function unetStep(unetDir: string, size: number): Promise<{ adapter: string; rows: UNetRow[] }> {
  const fx = (await loadFixture(unetDir)) as ComponentFixture;
  const ctx = await GpuContext.create();
  const rt = ctx.runtime;
  const ops = new GpuOps(rt);
  const rows: UNetRow[] = [];
  try {
    for (const storage of STORAGES) {
      const started = performance.now();
      const quantize = storage === 'f16' ? null : defaultQuantPolicy(QUANTIZED_DTYPES[storage]);
      const dict = await streamStateDictToDevice(ops, await fx.source.fetchFile(fx.weights), { file: `${fx.source.id}/${fx.weights}`, dtype: 'f16', quantize });
      const config = parseUNetConfig(fx.config, fx.file);
      const unet = UNet2DConditionModel.load(ops, config, dict, { dtype: 'f16', maxBindingBytes: maxBindingBytes(rt.limits) });
      dict.releaseUntaken();
      await rt.sync();
      const loadS = (performance.now() - started) / 1000;
      const weightBytes = rt.pool.stats.liveBytes;
      const ehs = ops.upload(fill(77 * config.crossAttentionDim, 5), [1, 77, config.crossAttentionDim]);
      const call = (side: number): GpuTensor => {
        const sample = ops.upload(fill(4 * side * side, 6), [1, config.inChannels, side, side]);
        const out = rt.withActivations(rt.shaderF16 ? 'f16' : 'f32', () => unet.forward(sample, [999], ehs));
        ops.release(sample);
        return out;
      };
      ops.release(call(8));
      await rt.sync();
      const before = rt.stats.dispatches;
      const t0 = performance.now();
      const out = call(size / 8);
      await rt.sync();
      const stepS = (performance.now() - t0) / 1000;
      rows.push({ storage, loadS, stepS, weightBytes, dispatches: rt.stats.dispatches - before });
      console.error(`UNet ${storage}: load ${loadS.toFixed(1)} s, step ${stepS.toFixed(1)} s, weights ${(weightBytes / 1e6).toFixed(0)} MB`);
      ops.release(out);
      ops.release(ehs);
      unet.release();
      rt.releaseIdle();
    }
    return { adapter: adapterName(ctx), rows };
  } finally {
    ctx.destroy();
  }
}

function adapterName(ctx: GpuContext): string {
  const info = ctx.adapter.info;
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown adapter';
}
