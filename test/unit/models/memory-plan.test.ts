import { describe, expect, it } from 'vitest';
import { StateDict } from '../../../src/io/state-dict.js';
import { GpuRuntime } from '../../../src/webgpu/runtime.js';
import { GpuOps } from '../../../src/webgpu/kernels/gpu-ops.js';
import { CLIPTextModel } from '../../../src/models/clip/clip-text-model.js';
import { parseCLIPTextConfig } from '../../../src/models/clip/config.js';
import { parseUNetConfig } from '../../../src/models/unet/config.js';
import { UNet2DConditionModel } from '../../../src/models/unet/unet-2d-condition.js';
import { AutoencoderKLDecoder } from '../../../src/models/vae/autoencoder-kl-decoder.js';
import type { DecoderMemory } from '../../../src/models/vae/decoder-resnet.js';
import { parseAutoencoderKLConfig } from '../../../src/models/vae/config.js';

/**
 * A checkpoint that has every weight a model asks for, as zeros of the asked shape. Plan mode
 * only counts bytes, so the full-size models can be built without their real weights.
 */
class AnyWeights extends StateDict {
  constructor() {
    super([], 'planned.safetensors');
  }

  override takeFloat32(_key: string, shape?: readonly number[]): Float32Array {
    return new Float32Array((shape ?? []).reduce((n, d) => n * d, 1));
  }
}

const MB = 1 << 20;

// The published SD 1.5 / SD 2.1-base configs (../shared/notes/model-configs.md).
const sd15 = {
  block_out_channels: [320, 640, 1280, 1280],
  down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
  up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
  layers_per_block: 2,
  attention_head_dim: 8,
  cross_attention_dim: 768,
  norm_num_groups: 32,
  in_channels: 4,
  out_channels: 4,
};
const sd21 = { ...sd15, attention_head_dim: [5, 10, 20, 20], cross_attention_dim: 1024, use_linear_projection: true };

/** Peak bytes of device memory a call holds beyond the model's weights. */
function activationPeak(rt: GpuRuntime, call: () => void): number {
  const weights = rt.pool.stats.liveBytes;
  rt.resetPeak();
  call();
  return rt.pool.stats.peakBytes - weights;
}

describe('device memory of the full-size models (plan mode)', () => {
  it.each([
    ['SD 1.5', sd15],
    ['SD 2.1', sd21],
  ])('the %s UNet at 512x512, batch 2, peaks under 400 MB of activations', (name, json) => {
    const rt = GpuRuntime.plan({ limits: { maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 1 << 30 } });
    const ops = new GpuOps(rt);
    const unet = UNet2DConditionModel.load(ops, parseUNetConfig(json, `${name} unet/config.json`), new AnyWeights(), { dtype: 'f16' });
    const peak = activationPeak(rt, () => {
      const sample = ops.upload(new Float32Array(2 * 4 * 64 * 64), [2, 4, 64, 64]);
      const context = ops.upload(new Float32Array(2 * 77 * json.cross_attention_dim), [2, 77, json.cross_attention_dim]);
      const out = unet.forward(sample, [999, 999], context);
      for (const t of [out, sample, context]) ops.release(t);
    });
    console.log(`${name} UNet 512x512 batch 2: weights ${(rt.pool.stats.liveBytes / MB).toFixed(0)} MB (f16), activation peak ${(peak / MB).toFixed(1)} MB`);
    expect(peak).toBeLessThan(400 * MB);
    unet.release();
    expect(rt.pool.stats.liveBytes).toBe(0);
  }, 120_000);

  it('the SD VAE decoder and the CLIP text encoder release everything they allocate', () => {
    // The VAE's single attention head is 512 wide: the attention kernel stages it in more
    // workgroup memory than the WebGPU default (16 KiB), which desktop GPUs exceed.
    const rt = GpuRuntime.plan({ limits: { maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 1 << 30, maxComputeWorkgroupStorageSize: 32_768 } });
    const ops = new GpuOps(rt);
    const vae = AutoencoderKLDecoder.load(
      ops,
      parseAutoencoderKLConfig({ block_out_channels: [128, 256, 512, 512], layers_per_block: 2, norm_num_groups: 32, latent_channels: 4, up_block_types: Array(4).fill('UpDecoderBlock2D') }, 'vae/config.json'),
      new AnyWeights(),
      { dtype: 'f16' },
    );
    const vaePeak = activationPeak(rt, () => {
      const latents = ops.upload(new Float32Array(4 * 64 * 64), [1, 4, 64, 64]);
      ops.release(vae.decode(latents));
      ops.release(latents);
    });
    const clip = CLIPTextModel.load(
      ops,
      parseCLIPTextConfig({ hidden_size: 768, intermediate_size: 3072, num_hidden_layers: 12, num_attention_heads: 12, hidden_act: 'quick_gelu' }, 'text_encoder/config.json'),
      new AnyWeights(),
      { dtype: 'f16' },
    );
    const clipPeak = activationPeak(rt, () => {
      const out = clip.forward(new Int32Array(2 * 77), [2, 77]);
      ops.release(out.lastHiddenState);
      ops.release(out.poolerOutput);
    });
    console.log(`VAE decode 512x512 batch 1: activation peak ${(vaePeak / MB).toFixed(1)} MB; CLIP ViT-L batch 2: ${(clipPeak / MB).toFixed(1)} MB`);
    // At 512² every norm and conv covers all channels at once: the peak of whole tensors.
    expect(vaePeak).toBeLessThanOrEqual(641 * MB);
    vae.release();
    clip.release();
    expect(rt.pool.stats.liveBytes).toBe(0);
  }, 120_000);

  describe('the SDXL VAE decoder at 1024², batch 1, in f32 (force_upcast), default limits', () => {
    const sdxlVae = { block_out_channels: [128, 256, 512, 512], layers_per_block: 2, norm_num_groups: 32, latent_channels: 4, scaling_factor: 0.13025, force_upcast: true, up_block_types: Array(4).fill('UpDecoderBlock2D') };

    function decodePeak(memory?: DecoderMemory): { peak: number; dispatches: number } {
      // WebGPU's default limits: activations over 128 MiB are split into chunks.
      const rt = GpuRuntime.plan({});
      const ops = new GpuOps(rt);
      const vae = AutoencoderKLDecoder.load(ops, parseAutoencoderKLConfig(sdxlVae, 'vae/config.json'), new AnyWeights(), { dtype: 'f32' });
      const before = rt.stats.dispatches;
      const peak = activationPeak(rt, () => {
        const latents = ops.upload(new Float32Array(4 * 128 * 128), [1, 4, 128, 128]);
        ops.release(vae.decode(latents, memory));
        ops.release(latents);
      });
      const dispatches = rt.stats.dispatches - before;
      vae.release();
      expect(rt.pool.stats.liveBytes).toBe(0);
      return { peak, dispatches };
    }

    it('stays under 1.5 GB of activations by running its 1024² layers over channel ranges', () => {
      const ranged = decodePeak();
      // Every layer over all channels at once (an unbounded working set) needs the whole 1 GiB
      // upsampled input and its outputs together.
      const whole = decodePeak({ workingSetElements: Infinity });
      console.log(`SDXL VAE decode 1024² f32: activation peak ${(ranged.peak / 1e9).toFixed(3)} GB in ${ranged.dispatches} dispatches; all channels at once ${(whole.peak / 1e9).toFixed(3)} GB in ${whole.dispatches}`);
      expect(ranged.peak).toBeLessThan(1.5e9);
      expect(whole.peak).toBeGreaterThan(2e9);
    }, 120_000);
  });
});
