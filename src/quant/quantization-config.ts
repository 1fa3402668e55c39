import { ModelConfigError } from '../models/errors.js';
import type { KeyRename } from '../io/state-dict.js';
import { safeSnippet } from '../io/snippet.js';
import type { QuantPolicy } from './policy.js';
import { unquantizableReason, type QuantScheme } from './scheme.js';

/** `quant_method` of the checkpoints `omni-diffusion quantize` writes. */
export const QUANT_METHOD = 'omni-diffusion';
/** The layout version this library reads and writes (see README, "Quantized models"). */
export const QUANT_FORMAT_VERSION = 1;

/** A component's `quantization_config`, checked: its scheme and the weights it quantizes. */
export interface ParsedQuantizationConfig {
  readonly scheme: QuantScheme;
  /** Each quantized weight by its checkpoint key, with its logical shape, in the config's order. */
  readonly modules: ReadonlyMap<string, readonly number[]>;
}

/** The `quantization_config` object a component's `config.json` gets (`omni-diffusion quantize`). */
export interface QuantizationConfigJson {
  quant_method: typeof QUANT_METHOD;
  format_version: typeof QUANT_FORMAT_VERSION;
  bits: 8 | 4;
  group_size: number;
  scheme: 'symmetric';
  scale_dtype: 'float16';
  modules: Record<string, number[]>;
}

const FIELD = 'quantization_config';

/**
 * The `quantization_config` of a component's parsed `config.json` (`file` names it in errors),
 * checked; null when the config has none (the component is not pre-quantized).
 */
export function readQuantizationConfig(config: Readonly<Record<string, unknown>>, file: string): ParsedQuantizationConfig | null {
  if (!Object.hasOwn(config, FIELD)) return null;
  return parseQuantizationConfig(config[FIELD], file);
}

/**
 * Checks a `quantization_config` value: every fault is a `ModelConfigError` naming `file` and the
 * field (`quantization_config.bits`, `quantization_config.modules["K"]`, ...), so a repo this
 * library cannot load fails before any weight is read.
 */
export function parseQuantizationConfig(value: unknown, file: string): ParsedQuantizationConfig {
  if (!isObject(value)) throw new ModelConfigError(file, FIELD, value, 'an object (the quantization_config `omni-diffusion quantize` writes)');
  const field = (name: string): string => `${FIELD}.${name}`;
  if (value.quant_method !== QUANT_METHOD) {
    throw new ModelConfigError(file, field('quant_method'), value.quant_method, `"${QUANT_METHOD}": omni-diffusion reads only the weights its own \`quantize\` command writes`);
  }
  if (value.format_version !== QUANT_FORMAT_VERSION) {
    throw new ModelConfigError(file, field('format_version'), value.format_version, `${QUANT_FORMAT_VERSION}, the layout this version of omni-diffusion reads`);
  }
  const bits = value.bits;
  if (bits !== 8 && bits !== 4) throw new ModelConfigError(file, field('bits'), bits, '8 or 4');
  const groupSize = value.group_size;
  if (typeof groupSize !== 'number' || !Number.isSafeInteger(groupSize) || groupSize < 8 || groupSize % 8 !== 0) {
    throw new ModelConfigError(file, field('group_size'), groupSize, 'a positive multiple of 8');
  }
  if (value.scheme !== 'symmetric') throw new ModelConfigError(file, field('scheme'), value.scheme, '"symmetric" (one f16 scale per group, no zero point)');
  if (value.scale_dtype !== 'float16') throw new ModelConfigError(file, field('scale_dtype'), value.scale_dtype, '"float16"');
  const scheme: QuantScheme = { bits, groupSize };
  const modules = value.modules;
  if (!isObject(modules)) throw new ModelConfigError(file, field('modules'), modules, 'an object mapping each quantized weight to its shape');
  const parsed = new Map<string, readonly number[]>();
  for (const [key, shape] of Object.entries(modules)) {
    const name = field(`modules[${JSON.stringify(safeSnippet(key, 200))}]`);
    if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d > 0)) {
      throw new ModelConfigError(file, name, shape, 'the weight\'s shape, a list of positive integers');
    }
    const dims = shape as number[];
    const why = unquantizableReason(dims, scheme);
    if (why) throw new ModelConfigError(file, name, `[${dims.join(', ')}]`, `a shape the ${bits}-bit scheme can pack, but ${why}`);
    parsed.set(key, Object.freeze([...dims]));
  }
  return { scheme, modules: parsed };
}

/** The `quantization_config` describing `modules` (checkpoint key → logical shape) quantized under `scheme`. */
export function quantizationConfigJson(scheme: QuantScheme, modules: Iterable<readonly [string, readonly number[]]>): QuantizationConfigJson {
  const out: Record<string, number[]> = {};
  for (const [key, shape] of modules) out[key] = [...shape];
  return { quant_method: QUANT_METHOD, format_version: QUANT_FORMAT_VERSION, bits: scheme.bits, group_size: scheme.groupSize, scheme: 'symmetric', scale_dtype: 'float16', modules: out };
}

/**
 * The policy that selects exactly the config's modules, under its scheme: what a plan, a dry run
 * and the upload total of a pre-quantized component use. Models ask by their own key, which a
 * component's `rename` (e.g. CLIP's `text_model.` prefix dropped) may have changed from the
 * checkpoint's: both are selected.
 */
export function prequantizedPolicy(config: ParsedQuantizationConfig, rename: KeyRename | null = null): QuantPolicy {
  const keys = new Set<string>();
  for (const [key, shape] of config.modules) {
    keys.add(key);
    if (rename) {
      const out = rename(key, shape);
      keys.add(typeof out === 'string' ? out : out.key);
    }
  }
  // Nothing falls back: the config lists only weights the scheme packs (checked when parsed).
  return { scheme: config.scheme, select: (key) => keys.has(key), fallback: () => null };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
