import { readFileSync } from 'node:fs';
import { GpuContext } from '../src/webgpu/device.js';
import { GpuOps } from '../src/webgpu/kernels/gpu-ops.js';
import { RecipeSafetensorsFile } from '../src/io/synthetic/recipe-file.js';
import type { RecipeTensorSpec } from '../src/io/synthetic/recipe.js';
import { streamStateDictToDevice } from '../src/models/device-state-dict.js';
import { parseUNetConfig, TIME_IDS_PER_ROW } from '../src/models/unet/config.js';
import { UNet2DConditionModel } from '../src/models/unet/unet-2d-condition.js';
import { maxBindingBytes } from '../src/plan/binding-limit.js';
import { planModel } from '../src/plan/plan-model.js';
import { lcgNoise } from './lcg-noise.js';

/** The published SDXL base 1.0 UNet config (SDXL-Turbo's has the same values). */
export const SDXL_UNET_CONFIG = new URL('configs/sdxl-base/unet/config.json', import.meta.url).pathname;
/** Recipe seed of the synthetic SDXL UNet weights (any unsigned 32-bit integer; 21 for the issue). */
export const SDXL_UNET_SEED = 21;

/** Options of {@link runSdxlUNet}. */
export interface SdxlUNetOptions {
  /** Image sizes in pixels (latents are size/8), each run once at batch 1, in this order. */
  sizes: readonly number[];
  /** Weight storage on the device (default f16, as a checkpoint is loaded on shader-f16 devices). */
  dtype?: 'f16' | 'f32';
  /** Activation storage (`auto`: f16 with shader-f16 and f16 weights, as the pipeline does). */
  activations?: 'auto' | 'f16' | 'f32';
  /** Recipe seed (default {@link SDXL_UNET_SEED}). */
  seed?: number;
  /** `unet/config.json` to build (default {@link SDXL_UNET_CONFIG}). */
  configPath?: string;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

/** Streaming the weights and building the model. */
export interface SdxlUNetLoad {
  parameters: number;
  /** Bytes of the virtual f32 safetensors file streamed (header included). */
  fileBytes: number;
  loadMs: number;
  /** Pool bytes of the weights once loaded. */
  weightsBytes: number;
  /**
   * The most host memory seen beyond the device pool while the weights streamed: current RSS
   * minus the pool's reserved bytes, sampled at every upload. On lavapipe the pool is host
   * memory, so this is what the streaming itself costs the host (a bounded amount, not the file).
   */
  maxHostOverheadBytes: number;
  /** Peak RSS of the process (VmHWM) once loaded. */
  peakRssBytes: number;
}

/** One UNet call at one size. */
export interface SdxlUNetRun {
  size: number;
  /** The output's shape: [1, 4, size/8, size/8]. */
  shape: number[];
  /** GPU-complete time of the call, the read-back of the 4-channel output included. */
  runMs: number;
  dispatches: number;
  /** Pool peak during the call (weights included) and bytes reserved after it. */
  poolPeakBytes: number;
  reservedBytes: number;
  /** Peak RSS of the process so far. */
  peakRssBytes: number;
  /** Output values that are NaN or infinite. */
  nonFinite: number;
  /** Mean |x| and standard deviation of the output: a dead network gives 0. */
  meanAbs: number;
  std: number;
  activations: 'f16' | 'f32';
}

/**
 * The state dict of the UNet `config` implies, in diffusers' key names, in the order the model
 * takes it: the plan's generated-weight list (`planModel`, no device), which matches a real
 * checkpoint's keys and shapes (test/unit/plan/synthetic-weights.test.ts), as `F32` recipe tensors.
 */
export function unetTensorList(config: unknown): RecipeTensorSpec[] {
  const report = planModel({ unet: config }, { width: 64, height: 64, batch: 1, dtype: 'f16', unetCalls: 1 });
  const unet = report.components.find((c) => c.name === 'unet')!;
  return unet.weights.map((w) => ({ name: w.key, shape: [...w.shape], dtype: 'F32' }));
}


/** VmHWM (Linux) or the process-wide maximum. */
const peakRss = (): number => {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // Not Linux.
  }
  return process.resourceUsage().maxRSS * 1024;
};

/**
 * The full-size SDXL UNet (2.567 G parameters) on Node/Dawn at WebGPU's default limits, with
 * `omni-synthetic-v1` recipe weights generated chunk by chunk and streamed to the device as a
 * checkpoint would be (host memory holds one 4 MiB chunk of the 10.3 GB f32 file at a time),
 * then one call per size at batch 1 with SDXL's added conditions (pooled text embedding and
 * six time ids). Every call's output is read back and checked for non-finite values.
 */
export async function runSdxlUNet(options: SdxlUNetOptions): Promise<{ adapter: string; load: SdxlUNetLoad; runs: SdxlUNetRun[] }> {
  const log = options.log ?? (() => {});
  const dtype = options.dtype ?? 'f16';
  const configPath = options.configPath ?? SDXL_UNET_CONFIG;
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as unknown;
  const specs = unetTensorList(config);
  const file = new RecipeSafetensorsFile(specs, options.seed ?? SDXL_UNET_SEED);
  const parameters = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);

  const ctx = await GpuContext.create({});
  const rt = ctx.runtime;
  const ops = new GpuOps(rt);
  const info = ctx.adapter.info;
  const act = options.activations === undefined || options.activations === 'auto' ? (dtype === 'f16' && rt.shaderF16 ? 'f16' : 'f32') : options.activations;
  try {
    const started = performance.now();
    let maxHostOverheadBytes = 0;
    let uploaded = 0;
    let nextLog = 0;
    const dict = await streamStateDictToDevice(ops, file.open(), {
      file: `${configPath} (recipe omni-synthetic-v1)`,
      dtype,
      onUpload: (bytes) => {
        uploaded += bytes;
        maxHostOverheadBytes = Math.max(maxHostOverheadBytes, process.memoryUsage.rss() - rt.pool.stats.reservedBytes);
        if (uploaded >= nextLog) {
          log(`streamed ${(uploaded / 1e9).toFixed(2)} GB to the device, ${((performance.now() - started) / 1000).toFixed(0)} s`);
          nextLog += 1e9;
        }
      },
    });
    const cfg = parseUNetConfig(config, configPath);
    const unet = UNet2DConditionModel.load(ops, cfg, dict, { dtype, maxBindingBytes: maxBindingBytes(rt.limits) });
    dict.releaseUntaken();
    await rt.sync();
    const load: SdxlUNetLoad = {
      parameters,
      fileBytes: file.size,
      loadMs: performance.now() - started,
      weightsBytes: rt.pool.stats.liveBytes,
      maxHostOverheadBytes,
      peakRssBytes: peakRss(),
    };
    log(`loaded in ${(load.loadMs / 1000).toFixed(1)} s`);

    const runs: SdxlUNetRun[] = [];
    try {
      for (const size of options.sizes) {
        const l = size / 8;
        const pooled = cfg.additionEmbed!.pooledDim;
        const sample = ops.upload(lcgNoise(4 * l * l, 1), [1, 4, l, l]);
        const context = ops.upload(lcgNoise(77 * cfg.crossAttentionDim, 2), [1, 77, cfg.crossAttentionDim]);
        const textEmbeds = ops.upload(lcgNoise(pooled, 3), [1, pooled]);
        // original size, crop top-left, target size (TIME_IDS_PER_ROW values), as the pipeline passes them.
        const timeIds = [size, size, 0, 0, size, size].slice(0, TIME_IDS_PER_ROW);
        rt.resetPeak();
        const before = rt.stats.dispatches;
        const t0 = performance.now();
        const out = rt.withActivations(act, () => unet.forward(sample, [999], context, undefined, { textEmbeds, timeIds }));
        const values = await ops.read(out);
        const runMs = performance.now() - t0;
        const dispatches = rt.stats.dispatches - before;
        const shape = [...out.shape];
        for (const t of [out, sample, context, textEmbeds]) ops.release(t);
        const stats = rt.pool.stats;
        let nonFinite = 0;
        let sum = 0;
        let sumAbs = 0;
        let sumSq = 0;
        for (const v of values) {
          if (!Number.isFinite(v)) nonFinite++;
          else {
            sum += v;
            sumAbs += Math.abs(v);
            sumSq += v * v;
          }
        }
        const n = values.length - nonFinite;
        const mean = n > 0 ? sum / n : 0;
        runs.push({
          size,
          shape,
          runMs,
          dispatches,
          poolPeakBytes: stats.peakBytes,
          reservedBytes: stats.reservedBytes,
          peakRssBytes: peakRss(),
          nonFinite,
          meanAbs: n > 0 ? sumAbs / n : 0,
          std: n > 0 ? Math.sqrt(Math.max(0, sumSq / n - mean * mean)) : 0,
          activations: act,
        });
        log(`${size}x${size}: ${(runMs / 1000).toFixed(1)} s, ${dispatches} dispatches`);
        rt.releaseIdle();
      }
    } finally {
      unet.release();
    }
    return { adapter: [info.vendor, info.architecture, info.description].filter(Boolean).join(' '), load, runs };
  } finally {
    ctx.destroy();
  }
}
