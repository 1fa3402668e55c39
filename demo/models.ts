/** One entry of the model picker. */
export interface DemoModel {
  id: string;
  label: string;
  /** Hub id, or a URL relative to the page. */
  source: string;
  description: string;
  /** Approximate download in bytes (the weights the engine fetches); 0 when bundled. */
  downloadBytes: number;
  /** Hub weights variant to fetch (`fp16` halves the download). */
  variant?: string;
  /** `int8`/`int4`: the weights are quantized as they load (same download, less GPU memory). */
  dtype?: 'int8' | 'int4';
  /** GPU memory the weights take at that dtype (`omni-diffusion plan --dtype`), when it differs from the download. */
  gpuBytes?: number;
  /**
   * What a generation at the default size needs, from `omni-diffusion plan` of the model's
   * configs (`bench/configs/`): its peak GPU memory (weights and activations) and the binding
   * limits the plan fits (WebGPU's defaults unless given). Checked before the download
   * (`fitWarning`).
   */
  needs?: { peakBytes: number; limits?: Partial<Pick<GPUSupportedLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'>> };
  /** A smaller variant in the picker to suggest when this one does not fit. */
  smaller?: string;
  bundled: boolean;
  defaults: { steps: number; guidance: number; width: number; height: number; scheduler?: string };
  examples: string[];
}

const SHAPE_PROMPTS = [
  'a red circle on a blue background',
  'a large yellow triangle against a purple background',
  'small green square, white background',
  'an orange circle on a black background',
];

const PHOTO_PROMPTS = [
  'a cinematic photo of a red fox in fresh snow, golden hour',
  'a cozy reading nook with plants, soft morning light, 35mm',
  'an isometric illustration of a tiny floating island city',
  'a bowl of ramen, studio lighting, highly detailed',
];

/**
 * The picker's models. The bundled one works offline; the Hub ones download on first use
 * and are cached (sizes: the safetensors the engine fetches for that variant).
 */
export const MODELS: DemoModel[] = [
  {
    id: 'tiny-shapes',
    label: 'Tiny shapes',
    source: './tiny-shapes/',
    description: 'Bundled 32×32 pixel-space model trained on coloured shapes. Instant and offline.',
    downloadBytes: 0,
    bundled: true,
    defaults: { steps: 20, guidance: 2, width: 32, height: 32 },
    examples: SHAPE_PROMPTS,
  },
  {
    id: 'sd-turbo',
    label: 'SD-Turbo',
    source: 'stabilityai/sd-turbo',
    description: 'One-step 512×512 images (fp16 weights).',
    downloadBytes: 2_580_000_000,
    variant: 'fp16',
    bundled: false,
    defaults: { steps: 1, guidance: 0, width: 512, height: 512 },
    examples: PHOTO_PROMPTS,
  },
  // Quantized on load (issue 20): the same fp16 download, about half (int8) or 30% (int4) of
  // the GPU memory, from `omni-diffusion plan bench/configs/sd-turbo --dtype int8|int4`.
  {
    id: 'sd-turbo-int8',
    label: 'SD-Turbo int8',
    source: 'stabilityai/sd-turbo',
    description: 'SD-Turbo with its matmul and conv weights quantized to 8 bits as it loads.',
    downloadBytes: 2_580_000_000,
    variant: 'fp16',
    dtype: 'int8',
    gpuBytes: 1_328_160_438,
    bundled: false,
    defaults: { steps: 1, guidance: 0, width: 512, height: 512 },
    examples: PHOTO_PROMPTS,
  },
  {
    id: 'sd-turbo-int4',
    label: 'SD-Turbo int4',
    source: 'stabilityai/sd-turbo',
    description: 'SD-Turbo at 4 bits (groups of 32): for GPUs with little memory.',
    downloadBytes: 2_580_000_000,
    variant: 'fp16',
    dtype: 'int4',
    gpuBytes: 783_367_094,
    bundled: false,
    defaults: { steps: 1, guidance: 0, width: 512, height: 512 },
    examples: PHOTO_PROMPTS,
  },
  // SDXL-Turbo (issue 21): the fp16 files of its four components (UNet 5.14 GB, text_encoder_2
  // 1.39 GB, text_encoder 246 MB, VAE 167 MB). `needs`: `omni-diffusion plan bench/configs/sdxl-turbo
  // --width 512 --height 512 --batch 1 [--dtype int4]`: all weights plus the largest phase, the
  // VAE decoding in f32 (its `force_upcast`); it fits WebGPU's default limits.
  {
    id: 'sdxl-turbo',
    label: 'SDXL-Turbo',
    source: 'stabilityai/sdxl-turbo',
    description: 'SDXL in one step at 512×512 (fp16 weights): two text encoders and a 2.6 B-parameter UNet.',
    downloadBytes: 6_940_000_000,
    variant: 'fp16',
    needs: { peakBytes: 7_800_000_000, limits: { maxStorageBufferBindingSize: 134_217_728, maxBufferSize: 268_435_456 } },
    smaller: 'SDXL-Turbo int4',
    bundled: false,
    defaults: { steps: 1, guidance: 0, width: 512, height: 512 },
    examples: PHOTO_PROMPTS,
  },
  {
    id: 'sdxl-turbo-int4',
    label: 'SDXL-Turbo int4',
    source: 'stabilityai/sdxl-turbo',
    description: 'SDXL-Turbo with its matmul and conv weights quantized to 4 bits as it loads: the same download, a third of the memory.',
    downloadBytes: 6_940_000_000,
    variant: 'fp16',
    dtype: 'int4',
    gpuBytes: 2_178_541_824,
    needs: { peakBytes: 2_850_000_000, limits: { maxStorageBufferBindingSize: 134_217_728, maxBufferSize: 268_435_456 } },
    bundled: false,
    defaults: { steps: 1, guidance: 0, width: 512, height: 512 },
    examples: PHOTO_PROMPTS,
  },
  {
    id: 'lcm-dreamshaper',
    label: 'LCM Dreamshaper v7',
    source: 'SimianLuo/LCM_Dreamshaper_v7',
    description: 'Latent consistency model: good images in 4 steps.',
    downloadBytes: 4_270_000_000,
    bundled: false,
    defaults: { steps: 4, guidance: 8, width: 512, height: 512, scheduler: 'lcm' },
    examples: PHOTO_PROMPTS,
  },
  {
    id: 'sd15',
    label: 'Stable Diffusion 1.5',
    source: 'stable-diffusion-v1-5/stable-diffusion-v1-5',
    description: 'The classic: 25 steps with guidance (fp16 weights).',
    downloadBytes: 2_130_000_000,
    variant: 'fp16',
    bundled: false,
    defaults: { steps: 25, guidance: 7.5, width: 512, height: 512 },
    examples: PHOTO_PROMPTS,
  },
];

/** A model given by URL or Hub id (`?model=`), with settings sized for tiny test models. */
export function customModel(source: string): DemoModel {
  return {
    id: 'custom',
    label: 'Custom model',
    source,
    description: source,
    downloadBytes: 0,
    bundled: false,
    defaults: { steps: 2, guidance: 0, width: 64, height: 64 },
    examples: PHOTO_PROMPTS,
  };
}

/** `2.6 GB`, `512 MB`, `840 kB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  return `${Math.max(0, Math.round(bytes / 1e3))} kB`;
}
