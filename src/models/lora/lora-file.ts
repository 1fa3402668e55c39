import type { ByteSource } from '../../io/byte-source.js';
import { SafetensorsError } from '../../io/errors.js';
import { streamSafetensors, type SafetensorsTensor } from '../../io/safetensors.js';
import { LoraFileError } from './errors.js';

/** The model a LoRA module adapts: the UNet, or (SDXL's two) text encoders. */
export type LoraComponent = 'unet' | 'text_encoder' | 'text_encoder_2';

/** A LoRA weight, widened to float32. */
export interface LoraTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** One adapted module: its low-rank pair and alpha, under the file's own module naming. */
export interface LoraModule {
  readonly component: LoraComponent;
  /**
   * kohya: the module path with `.` made `_` (`down_blocks_0_attentions_0_proj_in`, text-encoder
   * paths without `text_model_`); diffusers/PEFT: the dotted path (`down_blocks.0.attentions.0.proj_in`).
   */
  readonly name: string;
  readonly naming: 'underscore' | 'dotted';
  /** [r, in] or [r, in, k, k]. */
  readonly down: LoraTensor;
  /** [out, r] or [out, r, 1, 1]. */
  readonly up: LoraTensor;
  /** kohya's `alpha` (the update is scaled by alpha / r); null when the file has none (alpha = r, or folded into `up`). */
  readonly alpha: number | null;
  /** The file's key of the module, for errors. */
  readonly key: string;
}

/** A parsed LoRA file. */
export interface LoraFile {
  readonly file: string;
  readonly format: 'kohya' | 'diffusers';
  readonly modules: readonly LoraModule[];
}

/** The largest LoRA file read (SDXL LoRAs of rank 128 are about 900 MB in float32). */
const MAX_LORA_BYTES = 2 ** 31;

const KOHYA = /^(lora_unet|lora_te1|lora_te2|lora_te)_(.+)\.(lora_down\.weight|lora_up\.weight|alpha)$/;
const DIFFUSERS = /^(unet|text_encoder|text_encoder_2)\.(.+)\.(lora_A\.weight|lora_B\.weight|alpha)$/;
const KOHYA_COMPONENT: Record<string, LoraComponent> = { lora_unet: 'unet', lora_te: 'text_encoder', lora_te1: 'text_encoder', lora_te2: 'text_encoder_2' };
/** Other adapter kinds kohya-style files carry (LyCORIS, DoRA), which this reader does not apply. */
const UNSUPPORTED = /\.(hada_w[12]_[ab]|hada_t[12]|lokr_w[12](_[ab])?|lokr_t2|dora_scale|diff|diff_b|oft_blocks|b_norm|w_norm)$|\.lora\.(down|up)\.weight$|_lora\.(down|up)\.weight$/;
const PICKLE_NAME = /\.(ckpt|pt|pth|bin|pkl)$/i;

/**
 * Reads a LoRA in kohya-ss / AUTOMATIC1111 form (`lora_unet_…`/`lora_te_…` with `lora_down`,
 * `lora_up`, `alpha`) or diffusers/PEFT form (`unet.….lora_A.weight` / `lora_B`, text-encoder
 * paths with or without `text_model.`). Pickles are refused unread, and any key that is not a
 * LoRA weight of those forms fails the whole file: a LoRA never half-applies.
 */
export async function readLoraFile(source: ByteSource, file: string): Promise<LoraFile> {
  if (PICKLE_NAME.test(file)) {
    throw new LoraFileError(file, null, 'is a pickle (torch.save) file, which can run arbitrary code when loaded, so it is not read. Convert it to .safetensors (e.g. `safetensors.torch.save_file(torch.load(path, weights_only=True), "lora.safetensors")`) and load that.');
  }
  const tensors = new Map<string, SafetensorsTensor>();
  try {
    await streamSafetensors(source, { file, maxDataBytes: MAX_LORA_BYTES, onTensor: (t) => void tensors.set(t.name, t) });
  } catch (err) {
    if (err instanceof SafetensorsError) {
      throw new LoraFileError(file, err.tensor, `is not a readable safetensors file (${err.message}). A LoRA must be .safetensors; a .ckpt/.pt pickle must be converted first.`, { cause: err });
    }
    throw err;
  }
  return parseLoraTensors(file, tensors);
}

/** Sorts a file's tensors into modules (see `readLoraFile`). */
export function parseLoraTensors(file: string, tensors: ReadonlyMap<string, SafetensorsTensor>): LoraFile {
  if (tensors.size === 0) throw new LoraFileError(file, null, 'holds no tensors');
  const parts = new Map<string, { component: LoraComponent; name: string; naming: 'underscore' | 'dotted'; down?: LoraTensor; up?: LoraTensor; alpha?: number }>();
  let format: 'kohya' | 'diffusers' | null = null;
  for (const [key, t] of tensors) {
    if (UNSUPPORTED.test(key)) throw new LoraFileError(file, key, 'is a LyCORIS/DoRA or old-diffusers adapter weight; only LoRA (kohya lora_down/lora_up/alpha, or PEFT lora_A/lora_B) is supported');
    const k = KOHYA.exec(key);
    const d = k ? null : DIFFUSERS.exec(key);
    const m = k ?? d;
    if (!m) throw new LoraFileError(file, key, 'is not a LoRA key: expected lora_unet_/lora_te_<module>.lora_down.weight|lora_up.weight|alpha (kohya) or unet./text_encoder.<module>.lora_A.weight|lora_B.weight (diffusers/PEFT)');
    const keyFormat = k ? 'kohya' : 'diffusers';
    if (format !== null && format !== keyFormat) throw new LoraFileError(file, key, `mixes the kohya and diffusers key forms`);
    format = keyFormat;
    const component = k ? KOHYA_COMPONENT[m[1]!]! : (m[1] as LoraComponent);
    // Text-encoder modules are named from the encoder's own root, with or without `text_model`.
    const name = component === 'unet' ? m[2]! : k ? m[2]!.replace(/^text_model_/, '') : m[2]!.replace(/^text_model\./, '');
    const id = `${component}:${name}`;
    const entry = parts.get(id) ?? { component, name, naming: k ? ('underscore' as const) : ('dotted' as const) };
    parts.set(id, entry);
    const role = m[3]!;
    if (role === 'alpha') entry.alpha = scalar(file, key, t);
    else if (role === 'lora_down.weight' || role === 'lora_A.weight') entry.down = values(file, key, t);
    else entry.up = values(file, key, t);
  }
  const modules: LoraModule[] = [];
  for (const e of parts.values()) {
    const prefix = format === 'kohya' ? `${e.component === 'unet' ? 'lora_unet' : e.component === 'text_encoder' ? 'lora_te' : 'lora_te2'}_${e.name}` : `${e.component}.${e.name}`;
    if (!e.down || !e.up) throw new LoraFileError(file, prefix, `has ${e.down ? 'no up' : 'no down'} weight (${format === 'kohya' ? 'lora_up/lora_down' : 'lora_B/lora_A'}): a module needs both`);
    const r = e.down.shape[0]!;
    const convUp = e.up.shape.length === 4 && e.up.shape[2] === 1 && e.up.shape[3] === 1;
    if (!(e.down.shape.length === 2 || e.down.shape.length === 4) || !(e.up.shape.length === 2 || convUp) || e.up.shape[1] !== r || r < 1) {
      throw new LoraFileError(file, prefix, `has down [${e.down.shape}] and up [${e.up.shape}]: expected down [r, in] or [r, in, k, k] and up [out, r] or [out, r, 1, 1] with the same rank r`);
    }
    modules.push({ component: e.component, name: e.name, naming: e.naming, down: e.down, up: e.up, alpha: e.alpha ?? null, key: prefix });
  }
  return { file, format: format!, modules };
}

function values(file: string, key: string, t: SafetensorsTensor): LoraTensor {
  if (!(t.data instanceof Float32Array)) throw new LoraFileError(file, key, `has dtype ${t.dtype}; LoRA weights must be F32, F16 or BF16`);
  for (const v of t.data) if (!Number.isFinite(v)) throw new LoraFileError(file, key, `holds ${v}: every LoRA weight must be finite`);
  return { shape: t.shape, data: t.data };
}

function scalar(file: string, key: string, t: SafetensorsTensor): number {
  const v = values(file, key, t);
  if (v.data.length !== 1) throw new LoraFileError(file, key, `is an alpha of shape [${t.shape}]: expected one value`);
  return v.data[0]!;
}
