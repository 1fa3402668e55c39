import { StateDictError, StateDictMismatchError } from '../errors.js';
import type { SafetensorsEntry } from '../safetensors-header.js';
import { safeSnippet } from '../snippet.js';
import { LDM_PREFIXES, OPEN_CLIP_PREFIX, SDXL_TEXT_PREFIXES, type CheckpointArchitecture } from './architecture.js';
import { ldmUnetKey } from './ldm-unet-keys.js';
import { ldmVaeKey } from './ldm-vae-keys.js';
import { openClipKeys, type OpenClipKey } from './open-clip-keys.js';

/** The components a single-file checkpoint holds, by their diffusers folder names. */
export type CheckpointComponent = 'text_encoder' | 'text_encoder_2' | 'unet' | 'vae';

/** The components of a checkpoint of each architecture: SDXL's second text encoder is its own. */
export const CHECKPOINT_COMPONENTS: Record<CheckpointArchitecture, readonly CheckpointComponent[]> = {
  sd1: ['text_encoder', 'unet', 'vae'],
  sd2: ['text_encoder', 'unet', 'vae'],
  sdxl: ['text_encoder', 'text_encoder_2', 'unet', 'vae'],
};

/** The key prefix of a component's weights in a checkpoint of an architecture. */
function componentPrefix(architecture: CheckpointArchitecture, component: CheckpointComponent): string {
  if (component === 'unet' || component === 'vae') return LDM_PREFIXES[component];
  if (architecture === 'sdxl') return SDXL_TEXT_PREFIXES[component];
  return architecture === 'sd2' ? OPEN_CLIP_PREFIX : LDM_PREFIXES.text_encoder;
}

/** One tensor of a component: where its bytes are in the checkpoint, and its diffusers name and shape. */
export interface MappedTensor {
  /** The checkpoint's entry (name, dtype, shape, data offsets). */
  source: SafetensorsEntry;
  key: string;
  shape: number[];
  /** Data offsets of its bytes, the entry's own or a contiguous part of them (q, k or v of an OpenCLIP `in_proj`). */
  begin: number;
  end: number;
  /** The 2-D entry is written transposed (SDXL's OpenCLIP `text_projection`); `shape` is the transposed one. */
  transpose?: true;
}

/** What the key mapping needs of the components' configs. */
export interface LayoutConfigs {
  /** `unet/config.json` `layers_per_block`. */
  unetLayersPerBlock: number;
  /** The VAE decoder's up blocks: `vae/config.json` `up_block_types` (or `block_out_channels`) length. */
  vaeUpBlocks: number;
  /** `text_encoder/config.json` `num_hidden_layers`: an OpenCLIP tower's blocks past it are dropped (SD 2.x uses the penultimate layer). */
  textEncoderLayers: number;
  /** SDXL's `text_encoder_2/config.json` `num_hidden_layers` (its OpenCLIP tower keeps them all); null for one text encoder. */
  textEncoder2Layers: number | null;
  /** `unet/config.json` `addition_embed_type` is `text_time` (SDXL): `label_emb.0.*` is its `add_embedding`. */
  unetTextTimeEmbedding: boolean;
}

/** Timestep-schedule buffers and other state LDM checkpoints carry beside the weights; never a model weight. */
const NON_WEIGHT_KEYS = new Set([
  'alphas_cumprod',
  'alphas_cumprod_prev',
  'betas',
  'log_one_minus_alphas_cumprod',
  'logvar',
  'lvlb_weights',
  'posterior_log_variance_clipped',
  'posterior_mean_coef1',
  'posterior_mean_coef2',
  'posterior_variance',
  'sqrt_alphas_cumprod',
  'sqrt_one_minus_alphas_cumprod',
  'sqrt_recip_alphas_cumprod',
  'sqrt_recipm1_alphas_cumprod',
]);

/**
 * Whether a checkpoint key is skipped rather than mapped: the schedule buffers above, the EMA copy
 * of the UNet (`model_ema.*`; the main weights are what diffusers loads), CLIP's `position_ids`
 * (a constant 0..76, stored as float16 in `--half` files), and the VAE's training loss (`loss.*`).
 */
export function isNonWeightKey(key: string): boolean {
  return NON_WEIGHT_KEYS.has(key) || key.startsWith('model_ema.') || key.endsWith('.position_ids') || key.startsWith(`${LDM_PREFIXES.vae}loss.`);
}

/**
 * Splits a checkpoint's entries into the components of its architecture under diffusers' names
 * (see `ldmUnetKey`, `ldmVaeKey`; a CLIP ViT-L text encoder keeps its Hugging Face names, prefix
 * dropped; an OpenCLIP one, SD 2.x's or SDXL's second, is converted by `openClipKeys`).
 * Keys that map to nothing, and a component with no keys, fail with `StateDictMismatchError`
 * naming the counts and the first few keys, before any weight is read.
 */
export function mapCheckpoint(
  file: string,
  entries: readonly SafetensorsEntry[],
  architecture: CheckpointArchitecture,
  configs: LayoutConfigs,
): Map<CheckpointComponent, MappedTensor[]> {
  const components = CHECKPOINT_COMPONENTS[architecture];
  const out = new Map<CheckpointComponent, MappedTensor[]>(components.map((c) => [c, []]));
  const unmapped: string[] = [];
  const origin = new Map<string, string>();
  for (const entry of entries) {
    if (isNonWeightKey(entry.name)) continue;
    const mapped = mapEntry(entry, architecture, configs);
    if (!mapped) {
      unmapped.push(entry.name);
      continue;
    }
    for (const tensor of mapped.tensors) {
      const target = `${mapped.component}/${tensor.key}`;
      const clash = origin.get(target);
      if (clash !== undefined) throw new StateDictError(file, `${file}: "${safeSnippet(clash)}" and "${safeSnippet(entry.name)}" both map to ${mapped.component}'s "${safeSnippet(tensor.key)}".`);
      origin.set(target, entry.name);
      out.get(mapped.component)!.push(tensor);
    }
  }
  const empty = components.filter((c) => out.get(c)!.length === 0);
  if (unmapped.length > 0 || empty.length > 0) {
    const parts: string[] = [];
    if (empty.length > 0) parts.push(`no weights for ${empty.map((c) => `${c} (keys "${componentPrefix(architecture, c)}*")`).join(', ')}`);
    if (unmapped.length > 0) {
      const shown = unmapped.slice(0, 5).map((k) => `"${safeSnippet(k)}"`);
      parts.push(`${unmapped.length} of its ${entries.length} keys map to no diffusers weight: ${shown.join(', ')}${unmapped.length > 5 ? ', …' : ''}`);
    }
    const missing = empty.map((c) => `${componentPrefix(architecture, c)}*`);
    throw new StateDictMismatchError(file, unmapped, missing, `${file}: not an original-layout checkpoint this library can map (${parts.join('; ')}).`);
  }
  return out;
}

/** The component tensors of one checkpoint entry: one, several (a split `in_proj`), none (dropped), or null when it maps to nothing. */
function mapEntry(entry: SafetensorsEntry, architecture: CheckpointArchitecture, configs: LayoutConfigs): { component: CheckpointComponent; tensors: MappedTensor[] } | null {
  const name = entry.name;
  const whole = (key: string, shape: readonly number[]): MappedTensor => ({ source: entry, key, shape: [...shape], begin: entry.begin, end: entry.end });
  const text = componentPrefix(architecture, 'text_encoder');
  if (name.startsWith(text)) {
    if (architecture !== 'sd2') return { component: 'text_encoder', tensors: [whole(name.slice(text.length), entry.shape)] };
    return openClip(entry, 'text_encoder', openClipKeys(name.slice(text.length), entry.shape, configs.textEncoderLayers));
  }
  const layers2 = configs.textEncoder2Layers;
  if (architecture === 'sdxl' && layers2 !== null && name.startsWith(SDXL_TEXT_PREFIXES.text_encoder_2)) {
    return openClip(entry, 'text_encoder_2', openClipKeys(name.slice(SDXL_TEXT_PREFIXES.text_encoder_2.length), entry.shape, layers2, true));
  }
  if (name.startsWith(LDM_PREFIXES.unet)) {
    const key = ldmUnetKey(name.slice(LDM_PREFIXES.unet.length), configs.unetLayersPerBlock, configs.unetTextTimeEmbedding);
    return key === null ? null : { component: 'unet', tensors: [whole(key, entry.shape)] };
  }
  if (name.startsWith(LDM_PREFIXES.vae)) {
    const mapped = ldmVaeKey(name.slice(LDM_PREFIXES.vae.length), entry.shape, configs.vaeUpBlocks);
    return mapped === null ? null : { component: 'vae', tensors: [whole(mapped.key, mapped.shape)] };
  }
  return null;
}

/** An OpenCLIP entry's tensors: each a part of the entry's bytes (a split `in_proj`), the whole, or the whole transposed. */
function openClip(entry: SafetensorsEntry, component: CheckpointComponent, keys: OpenClipKey[] | null): { component: CheckpointComponent; tensors: MappedTensor[] } | null {
  if (keys === null) return null;
  const tensors = keys.map((k): MappedTensor => {
    if (!k.part) return { source: entry, key: k.key, shape: k.shape, begin: entry.begin, end: entry.end, ...(k.transpose ? { transpose: k.transpose } : {}) };
    const size = (entry.end - entry.begin) / k.part.of;
    return { source: entry, key: k.key, shape: k.shape, begin: entry.begin + k.part.index * size, end: entry.begin + (k.part.index + 1) * size };
  });
  return { component, tensors };
}
