import { GpuContext } from '../src/webgpu/device.js';
import type { GpuTensor } from '../src/webgpu/tensor.js';
import { loadFixture, type ComponentFixture } from '../tools/verify/fixture/fixture.js';
import { GpuOps } from '../src/webgpu/kernels/gpu-ops.js';
import { CLIPTextModel } from '../src/models/clip/clip-text-model.js';
import { parseCLIPTextConfig } from '../src/models/clip/config.js';
import { streamStateDictToDevice } from '../src/models/device-state-dict.js';
import { parseUNetConfig } from '../src/models/unet/config.js';
import { UNet2DConditionModel } from '../src/models/unet/unet-2d-condition.js';
import { AutoencoderKLDecoder } from '../src/models/vae/autoencoder-kl-decoder.js';
import { parseAutoencoderKLConfig } from '../src/models/vae/config.js';
import { maxBindingBytes } from '../src/plan/binding-limit.js';
import { lcgNoise } from './lcg-noise.js';

/** One full-size model: its three component fixtures (synthetic weights) and how a request runs it. */
export interface FullSizeModel {
  name: string;
  textEncoder: string;
  unet: string;
  vae: string;
  /** UNet batch: 2 with classifier-free guidance, 1 without. */
  batch: number;
  /** Denoising steps timed (each a full UNet call). */
  steps: number;
}

export interface FullSizeOptions {
  /** Folder of the full-size fixtures (`../shared/fixtures/full`). */
  fixtures: string;
  size: number;
  dtype: 'f16' | 'f32';
  /** Activation storage of the text encoder and UNet (`auto`: f16 with shader-f16 and f16 weights). */
  activations: 'auto' | 'f16' | 'f32';
}

/** One component's measurements. */
export interface ComponentRow {
  model: string;
  component: string;
  /** Streaming the synthetic weights to the device and building the model. */
  loadMs: number;
  /** GPU-complete time of each call (a sync after each). */
  runMs: number[];
  dispatches: number;
  /** The runtime pool's peak and reserved bytes after the call (weights of all loaded components included). */
  poolPeakBytes: number;
  reservedBytes: number;
  /** Peak RSS of the process so far (on lavapipe GPU memory is host memory too). */
  peakRssBytes: number;
  activations: string;
}


const peakRss = (): number => process.resourceUsage().maxRSS * 1024;

/**
 * Runs each full-size model's text encoder, UNet (for `steps` steps) and VAE decoder at
 * `size`² on Node/Dawn at WebGPU's default limits, with every component kept loaded as in a
 * pipeline, and measures each. A VAE with `force_upcast` decodes with f32 activations.
 */
export async function main(models: readonly FullSizeModel[], options: FullSizeOptions): Promise<{ adapter: string; rows: ComponentRow[] }> {
  const ctx = await GpuContext.create();
  const rt = ctx.runtime;
  const ops = new GpuOps(rt);
  const activations = options.activations === 'auto' ? (options.dtype === 'f16' && rt.shaderF16 ? 'f16' : 'f32') : options.activations;
  const rows: ComponentRow[] = [];
  const info = ctx.adapter.info;
  try {
    for (const m of models) {
      const load = async (dir: string) => {
        const fx = (await loadFixture(`${options.fixtures}/${dir}`)) as ComponentFixture;
        const started = performance.now();
        const dict = await streamStateDictToDevice(ops, await fx.source.fetchFile(fx.weights), {
          file: `${fx.source.id}/${fx.weights}`,
          dtype: options.dtype,
          ...(fx.kind === 'vae_decoder' ? { skip: (k: string) => k.startsWith('encoder.') || k.startsWith('quant_conv.') } : {}),
        });
        return { fx, dict, started };
      };
      const measure = async (component: string, loadMs: number, act: string, calls: number, call: () => GpuTensor | Promise<void>): Promise<void> => {
        const runMs: number[] = [];
        const before = rt.stats.dispatches;
        rt.resetPeak();
        for (let i = 0; i < calls; i++) {
          const t0 = performance.now();
          const out = await call();
          if (out) {
            await rt.sync();
            ops.release(out);
          }
          runMs.push(performance.now() - t0);
        }
        const stats = rt.pool.stats;
        rows.push({ model: m.name, component, loadMs, runMs, dispatches: (rt.stats.dispatches - before) / calls, poolPeakBytes: stats.peakBytes, reservedBytes: stats.reservedBytes, peakRssBytes: peakRss(), activations: act });
        console.error(`${m.name} ${component}: ${runMs.map((t) => (t / 1000).toFixed(1)).join(', ')} s`);
      };

      const te = await load(m.textEncoder);
      const clip = CLIPTextModel.load(ops, parseCLIPTextConfig(te.fx.config, te.fx.file), te.dict, { dtype: options.dtype });
      te.dict.releaseUntaken();
      const teLoadMs = performance.now() - te.started;
      const ids = Int32Array.from({ length: m.batch * 77 }, (_, i) => (i % 77 === 0 ? 49406 : i % 77 < 8 ? 320 + (i % 77) : 49407));
      let embeds: GpuTensor | null = null;
      await measure('text encoder', teLoadMs, activations, 1, () => {
        const out = rt.withActivations(activations, () => clip.forward(ids, [m.batch, 77]));
        ops.release(out.poolerOutput);
        embeds = out.lastHiddenState;
        return rt.sync();
      });

      const un = await load(m.unet);
      const unet = UNet2DConditionModel.load(ops, parseUNetConfig(un.fx.config, un.fx.file), un.dict, { dtype: options.dtype, maxBindingBytes: maxBindingBytes(rt.limits) });
      un.dict.releaseUntaken();
      const unLoadMs = performance.now() - un.started;
      const latent = options.size / 8;
      const sample = ops.upload(lcgNoise(m.batch * 4 * latent * latent, 1), [m.batch, 4, latent, latent]);
      await measure(`UNet step (batch ${m.batch})`, unLoadMs, activations, m.steps, () => rt.withActivations(activations, () => unet.forward(sample, Array<number>(m.batch).fill(999), embeds!)));
      ops.release(sample);
      if (embeds) ops.release(embeds);

      const va = await load(m.vae);
      const vaeConfig = parseAutoencoderKLConfig(va.fx.config, va.fx.file);
      const vae = AutoencoderKLDecoder.load(ops, vaeConfig, va.dict, { dtype: options.dtype });
      va.dict.releaseUntaken();
      const vaLoadMs = performance.now() - va.started;
      const vaeAct = vaeConfig.forceUpcast ? 'f32' : activations;
      const latents = ops.upload(lcgNoise(4 * latent * latent, 2), [1, 4, latent, latent]);
      await measure('VAE decode', vaLoadMs, vaeAct, 1, () => rt.withActivations(vaeAct, () => vae.decode(latents)));
      ops.release(latents);

      clip.release();
      unet.release();
      vae.release();
      rt.releaseIdle();
    }
  } finally {
    ctx.destroy();
  }
  return { adapter: [info.vendor, info.architecture, info.description].filter(Boolean).join(' '), rows };
}
