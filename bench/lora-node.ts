import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GpuContext } from '../src/webgpu/device.js';
import { GpuOps } from '../src/webgpu/kernels/gpu-ops.js';
import type { GpuTensor } from '../src/webgpu/tensor.js';
import { RecipeSafetensorsFile } from '../src/io/synthetic/recipe-file.js';
import { readSafetensors } from '../src/io/safetensors.js';
import { StateDict } from '../src/io/state-dict.js';
import { streamStateDictToDevice } from '../src/models/device-state-dict.js';
import { parseUNetConfig } from '../src/models/unet/config.js';
import { UNet2DConditionModel } from '../src/models/unet/unet-2d-condition.js';
import { bindLora, type BoundLora } from '../src/models/lora/bind.js';
import { readLoraFile, type LoraFile, type LoraModule } from '../src/models/lora/lora-file.js';
import { maxBindingBytes } from '../src/plan/binding-limit.js';
import { unetTensorList } from './full-size-sdxl-node.js';
import { lcgNoise } from './lcg-noise.js';

/** One model's LoRA costs, all GPU-complete milliseconds. */
export interface LoraCosts {
  model: string;
  /** Latent side, batch (2 = guidance), modules adapted and their rank. */
  latent: number;
  batch: number;
  modules: number;
  rank: number;
  /** A UNet call on the base weights, and with the LoRA attached unfused. */
  baseCallMs: number;
  unfusedCallMs: number;
  /** First use: reading the file, matching it and uploading its low-rank weights. */
  firstLoadMs: number;
  /** Switching to a LoRA already uploaded (attaching its adapters): host work only. */
  switchMs: number;
  /** The merged alternative's switch: every W' = W + scale·(alpha/r)·up·down computed on the GPU. */
  mergeMs: number;
  dispatchesBase: number;
  dispatchesUnfused: number;
}

/** The modules the fixture's LoRA adapts (README "Modules adapted"), by diffusers path. */
const ADAPTED = /(attentions\.\d+\.(proj_in|proj_out|transformer_blocks\.\d+\.(attn[12]\.(to_q|to_k|to_v|to_out\.0)|ff\.net\.(0\.proj|2)))|resnets\.\d+\.(conv1|conv2|time_emb_proj|conv_shortcut)|(down|up)samplers\.0\.conv)$/;

/** A kohya-style LoRA of rank `rank` over every adapted module of `unet`, values from an LCG. */
function syntheticLora(unet: UNet2DConditionModel<GpuTensor>, rank: number): LoraFile {
  const modules: LoraModule[] = [];
  let seed = 1;
  for (const [path, target] of unet.loraTargets) {
    if (!ADAPTED.test(path)) continue;
    const [out, cin, kh = 1, kw = 1] = target.weight.shape as number[];
    const downShape = target.kind === 'linear' ? [rank, cin!] : [rank, cin!, kh, kw];
    const upShape = target.kind === 'linear' ? [out!, rank] : [out!, rank, 1, 1];
    const n = (s: number[]) => s.reduce((a, b) => a * b, 1);
    modules.push({
      component: 'unet',
      name: path,
      naming: 'dotted',
      down: { shape: downShape, data: lcgNoise(n(downShape), seed++).map((v) => v * 0.05) },
      up: { shape: upShape, data: lcgNoise(n(upShape), seed++).map((v) => v * 0.05) },
      alpha: rank,
      key: `unet.${path}`,
    });
  }
  return { file: `synthetic rank-${rank} LoRA`, format: 'diffusers', modules };
}

async function timed(rt: GpuOps['runtime'], work: () => void | Promise<void>): Promise<number> {
  await rt.sync();
  const t0 = performance.now();
  await work();
  await rt.sync();
  return performance.now() - t0;
}

/** Costs of one LoRA on one UNet: calls with and without it, first load, switch, and a full merge. */
async function measure(ops: GpuOps, model: string, unet: UNet2DConditionModel<GpuTensor>, load: () => Promise<BoundLora<GpuTensor>>, latent: number, batch: number, contextDim: number, log: (l: string) => void): Promise<LoraCosts> {
  const rt = ops.runtime;
  const sample = ops.upload(lcgNoise(batch * 4 * latent * latent, 7), [batch, 4, latent, latent]);
  const context = ops.upload(lcgNoise(batch * 77 * contextDim, 8), [batch, 77, contextDim]);
  const call = async (): Promise<number> => {
    const before = rt.stats.dispatches;
    const ms = await timed(rt, async () => {
      const out = unet.forward(sample, Array<number>(batch).fill(500), context);
      await ops.read(out);
      ops.release(out);
    });
    log(`${model}: UNet call ${ms.toFixed(0)} ms, ${rt.stats.dispatches - before} dispatches`);
    return ms;
  };
  // The first call compiles the pipelines; time the second.
  await call();
  let before = rt.stats.dispatches;
  const baseCallMs = await call();
  const dispatchesBase = rt.stats.dispatches - before;
  let lora: BoundLora<GpuTensor> | null = null;
  const firstLoadMs = await timed(rt, async () => {
    lora = await load();
  });
  const bound = lora!;
  const adapters = bound.adapters(0.8);
  const t0 = performance.now();
  for (const [target, adapter] of adapters) target.adapters = [adapter];
  const switchMs = performance.now() - t0;
  await call();
  before = rt.stats.dispatches;
  const unfusedCallMs = await call();
  const dispatchesUnfused = rt.stats.dispatches - before;
  for (const [target] of adapters) target.adapters = [];
  // The merge a fused path needs at every switch: W' = W + s·up·down for every module, into new
  // tensors (keeping W for an exact unmerge), on the GPU.
  const mergeMs = await timed(rt, () => {
    for (const [target, a] of adapters) {
      const [out, ...rest] = target.weight.shape as number[];
      const k = rest.reduce((x, y) => x * y, 1);
      const up = ops.reshape(a.up, [out!, a.up.shape[1]!]);
      const down = ops.reshape(a.down, [a.down.shape[0]!, k]);
      const delta = ops.matmul(up, down, { alpha: a.scale });
      const w = ops.reshape(target.weight as GpuTensor, [out!, k]);
      const merged = ops.add(w, delta);
      for (const t of [up, down, delta, w, merged]) ops.release(t);
    }
  });
  log(`${model}: first load ${firstLoadMs.toFixed(0)} ms, switch ${switchMs.toFixed(3)} ms, merge ${mergeMs.toFixed(0)} ms`);
  const rank = adapters[0]![1].down.shape[0]!;
  bound.release();
  ops.release(sample);
  ops.release(context);
  return { model, latent, batch, modules: adapters.length, rank, baseCallMs, unfusedCallMs, firstLoadMs, switchMs, mergeMs, dispatchesBase, dispatchesUnfused };
}

/**
 * LoRA switch and per-step costs on Node/Dawn at WebGPU's default limits: the tiny SD 1.5 UNet
 * of the `lora` fixture with its LoRA, and the full-size SD 1.5 UNet (recipe weights, f16) with a
 * synthetic rank-`rank` LoRA over the same kinds of modules.
 */
export async function runLoraBench(options: { fixtures: string; latent: number; rank: number; skipFull?: boolean; log?: (l: string) => void }): Promise<{ adapter: string; costs: LoraCosts[] }> {
  const log = options.log ?? (() => {});
  const ctx = await GpuContext.create({});
  const rt = ctx.runtime;
  const ops = new GpuOps(rt);
  const costs: LoraCosts[] = [];
  try {
    // Tiny: the fixture's base UNet (f32) and its kohya LoRA.
    const loraDir = join(options.fixtures, 'community/lora-sd15-tiny');
    const base = join(options.fixtures, 'pipeline-sd15-tiny');
    const tinyConfig = JSON.parse(readFileSync(join(base, 'unet/config.json'), 'utf8')) as Record<string, unknown>;
    const weights = join(base, 'unet/diffusion_pytorch_model.safetensors');
    const tiny = UNet2DConditionModel.load(ops, parseUNetConfig(tinyConfig, weights), new StateDict([...(await readSafetensors({ nodePath: weights })).values()], weights));
    const kohya = join(loraDir, 'lora_kohya.safetensors');
    const targets = { unet: tiny.loraTargets, text_encoder: null, text_encoder_2: null };
    const tinyLora = async () => {
      const file = await readLoraFile({ nodePath: kohya }, kohya);
      return bindLora(ops, { ...file, modules: file.modules.filter((m) => m.component === 'unet') }, targets, 'f32');
    };
    costs.push(await measure(ops, 'tiny SD 1.5 UNet (f32)', tiny, tinyLora, 8, 2, tinyConfig['cross_attention_dim'] as number, log));
    tiny.release();
    if (!options.skipFull) {
      const configPath = new URL('configs/sd15/unet/config.json', import.meta.url).pathname;
      const config = JSON.parse(readFileSync(configPath, 'utf8')) as unknown;
      const file = new RecipeSafetensorsFile(unetTensorList(config), 15);
      const dict = await streamStateDictToDevice(ops, file.open(), { file: `${configPath} (recipe)`, dtype: 'f16' });
      const unet = UNet2DConditionModel.load(ops, parseUNetConfig(config, configPath), dict, { dtype: 'f16', maxBindingBytes: maxBindingBytes(rt.limits) });
      dict.releaseUntaken();
      const full = async () => bindLora(ops, syntheticLora(unet, options.rank), { unet: unet.loraTargets, text_encoder: null, text_encoder_2: null }, 'f16');
      costs.push(await measure(ops, 'full-size SD 1.5 UNet (f16)', unet, full, options.latent, 2, 768, log));
      unet.release();
    }
    return { adapter: `${ctx.adapter.info.vendor} ${ctx.adapter.info.description || ctx.adapter.info.architecture}`, costs };
  } finally {
    ctx.destroy();
  }
}
