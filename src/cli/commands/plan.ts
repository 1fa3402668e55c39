import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseLenientJson } from '../../io/json.js';
import type { GpuLimits } from '../../webgpu/limits.js';
import { PlanError } from '../../plan/errors.js';
import { formatPlanReport } from '../../plan/format-report.js';
import { planModel, type PlanConfigs } from '../../plan/plan-model.js';
import { defaultQuantPolicy, QUANTIZED_DTYPES } from '../../quant/policy.js';
import { CliUsageError, type CommandSpec, type ParsedArgs } from '../args.js';

/**
 * `omni-diffusion plan <model-dir>`: plans a whole generation's device memory and work from the
 * model's config files alone (generated weights, no GPU) and prints `key=value` lines, per
 * component and in total; a component over the device limits gets its `error` (the tensor, its
 * bytes, the limit) and the others are still planned. See `planModel`.
 */
export const planCommand: CommandSpec = {
  name: 'plan',
  summary: 'Plan the device memory and dispatches of a whole generation from the model configs (no weights, no GPU).',
  usage: 'plan <model-dir> [--width 512] [--height 512] [--batch 2] [--images 1] [--dtype f16] [--activations f32|f16] [--img2img]',
  options: [
    { name: 'width', type: 'number', description: 'image width in pixels (default 512)' },
    { name: 'height', type: 'number', description: 'image height in pixels (default 512)' },
    { name: 'batch', type: 'number', description: 'UNet and text-encoder batch, 2 for classifier-free guidance (default 2)' },
    { name: 'images', type: 'number', description: 'images the VAE decodes at once: a request decodes all of its images together (default 1)' },
    { name: 'dtype', type: 'string', description: 'weight storage: f16, f32, int8 or int4 (default f16; int8/int4 quantize the matmul and conv weights, the rest f16)' },
    { name: 'img2img', type: 'boolean', description: 'also plan the VAE encoder that image-to-image loads' },
    { name: 'activations', type: 'string', description: 'activation storage: f32 (default) or f16, as the pipeline runs f16 weights on a shader-f16 device (a force_upcast VAE stays f32)' },
    { name: 'packed-f16', type: 'boolean', description: 'plan for a device without shader-f16 (f16 packed in u32 words)' },
    { name: 'max-storage-binding', type: 'number', description: 'maxStorageBufferBindingSize in bytes (default: the WebGPU default, 128 MiB)' },
    { name: 'max-buffer', type: 'number', description: 'maxBufferSize in bytes (default 256 MiB)' },
    { name: 'max-workgroup-storage', type: 'number', description: 'maxComputeWorkgroupStorageSize in bytes (default 16384)' },
  ],
  async run(args, io) {
    const [dir] = args.positionals;
    if (!dir || args.positionals.length > 1) throw new CliUsageError('expects exactly one model folder');
    const dtype = args.options.dtype ?? 'f16';
    if (dtype !== 'f16' && dtype !== 'f32' && dtype !== 'int8' && dtype !== 'int4') throw new CliUsageError(`option --dtype expects f16, f32, int8 or int4, got "${String(dtype)}"`);
    const quantize = dtype === 'int8' || dtype === 'int4' ? defaultQuantPolicy(QUANTIZED_DTYPES[dtype]) : null;
    const activations = args.options.activations ?? 'f32';
    if (activations !== 'f32' && activations !== 'f16') throw new CliUsageError(`option --activations expects f32 or f16, got "${String(activations)}"`);
    if (activations === 'f16' && args.options['packed-f16'] === true) throw new CliUsageError('option --activations f16 needs shader-f16: it does not go with --packed-f16');
    const configs = await readConfigs(resolve(dir));
    const report = planModel(configs, {
      width: positiveInt(args, 'width', 512),
      height: positiveInt(args, 'height', 512),
      batch: positiveInt(args, 'batch', 2),
      images: positiveInt(args, 'images', 1),
      dtype: dtype === 'f32' ? 'f32' : 'f16',
      activations,
      quantize,
      shaderF16: args.options['packed-f16'] !== true,
      img2img: args.options['img2img'] === true,
      limits: limitsFrom(args),
    });
    for (const line of formatPlanReport(report)) io.out(`${line}\n`);
    return 0;
  },
};


function positiveInt(args: ParsedArgs, name: string, fallback: number): number {
  const v = args.options[name] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new CliUsageError(`option --${name} expects a positive integer, got ${String(v)}`);
  return v;
}

function limitsFrom(args: ParsedArgs): Partial<GpuLimits> {
  const limits: { -readonly [K in keyof GpuLimits]?: number } = {};
  const fields = [
    ['max-storage-binding', 'maxStorageBufferBindingSize'],
    ['max-buffer', 'maxBufferSize'],
    ['max-workgroup-storage', 'maxComputeWorkgroupStorageSize'],
  ] as const;
  for (const [option, field] of fields) {
    if (args.options[option] !== undefined) limits[field] = positiveInt(args, option, 0);
  }
  return limits;
}

/** The configs of a diffusers folder (or a folder of just its config files): unet required, vae, text_encoder and text_encoder_2 when present. */
async function readConfigs(dir: string): Promise<PlanConfigs> {
  const unet = await readConfig(dir, 'unet');
  if (unet === undefined) {
    throw new PlanError(`${join(dir, 'unet', 'config.json')} not found: plan needs a diffusers model folder, or a folder with at least unet/config.json (and optionally vae/ and text_encoder/config.json).`);
  }
  const vae = await readConfig(dir, 'vae');
  const textEncoder = await readConfig(dir, 'text_encoder');
  const textEncoder2 = await readConfig(dir, 'text_encoder_2');
  return {
    unet,
    source: dir,
    ...(vae === undefined ? {} : { vae }),
    ...(textEncoder === undefined ? {} : { textEncoder }),
    ...(textEncoder2 === undefined ? {} : { textEncoder2 }),
  };
}

async function readConfig(dir: string, component: string): Promise<unknown> {
  const path = join(dir, component, 'config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
  return parseLenientJson(text, path);
}
