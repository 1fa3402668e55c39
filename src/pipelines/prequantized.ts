import type { JsonObject } from '../io/diffusers-repo.js';
import { legacyVaeAttentionRename, stripPrefix } from '../io/state-dict-renames.js';
import type { KeyRename } from '../io/state-dict.js';
import type { CheckpointQuantPolicies, QuantizedCheckpoint } from '../quant/checkpoint-policies.js';
import { prequantizedPolicy, readQuantizationConfig, type ParsedQuantizationConfig } from '../quant/quantization-config.js';

/** The `quantization_config` of each pre-quantized component of a repo; a component left out is not pre-quantized. */
export type PrequantizedConfigs = Readonly<Partial<Record<QuantizedCheckpoint, ParsedQuantizationConfig>>>;

/**
 * The renames the models apply to their checkpoints' keys (`CLIPTextModel.load`,
 * `AutoencoderKL*.load`), so that a plan, which asks by the model's key, finds the modules the
 * config names by the checkpoint's.
 */
const MODEL_KEY_RENAMES: Readonly<Record<QuantizedCheckpoint, KeyRename | null>> = {
  text_encoder: stripPrefix('text_model.'),
  text_encoder_2: stripPrefix('text_model.'),
  unet: null,
  vae: legacyVaeAttentionRename,
};

/**
 * Reads the `quantization_config` of each component config given (`configs`: parsed
 * `config.json` files, null for a component the repo lacks); each is checked
 * (`ModelConfigError` naming `<source>/<component>/config.json` and the field).
 */
export function readPrequantizedConfigs(configs: Readonly<Partial<Record<QuantizedCheckpoint, JsonObject | null>>>, source: string): PrequantizedConfigs {
  const out: Partial<Record<QuantizedCheckpoint, ParsedQuantizationConfig>> = {};
  for (const [name, json] of Object.entries(configs) as Array<[QuantizedCheckpoint, JsonObject | null]>) {
    const parsed = json && readQuantizationConfig(json, `${source}/${name}/config.json`);
    if (parsed) out[name] = parsed;
  }
  return out;
}

/** Whether any component of the repo is pre-quantized. */
export function isPrequantized(configs: PrequantizedConfigs | undefined): boolean {
  return configs !== undefined && Object.keys(configs).length > 0;
}

/** The policies that select exactly each pre-quantized component's modules (see `prequantizedPolicy`), for plans and dry runs. */
export function prequantizedPolicies(configs: PrequantizedConfigs | undefined): CheckpointQuantPolicies {
  const out: Partial<Record<QuantizedCheckpoint, ReturnType<typeof prequantizedPolicy>>> = {};
  for (const [name, config] of Object.entries(configs ?? {}) as Array<[QuantizedCheckpoint, ParsedQuantizationConfig]>) {
    out[name] = prequantizedPolicy(config, MODEL_KEY_RENAMES[name]);
  }
  return out;
}
