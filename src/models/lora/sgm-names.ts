import { ldmUnetKey } from '../../io/single-file/ldm-unet-keys.js';

/**
 * kohya-ss (sd-scripts) trains SDXL LoRAs on its own copy of the original (SGM/LDM) UNet, so their
 * UNet modules carry LDM paths (`input_blocks_4_1_transformer_blocks_0_attn1_to_q`,
 * `output_blocks_2_2_conv`, `label_emb_0_0`) where SD 1.x kohya LoRAs carry diffusers' paths
 * (`down_blocks_1_…`). A module is in LDM form when its name starts with one of LDM's top-level
 * modules, none of which is a diffusers UNet module name.
 */
const SGM_NAME = /^(?:input_blocks|middle_block|output_blocks|time_embed|label_emb|out)_/;

/** LDM ResNet parts whose index follows a `_` in a kohya name (`in_layers_2` → `in_layers.2`). */
const RESNET_INDEXED = /^(in_layers|out_layers|emb_layers)_(\d+)$/;

/** Whether a kohya UNet module name (after `lora_unet_`) is an original-UNet (SGM/LDM) path. */
export function isSgmUnetModule(name: string): boolean {
  return SGM_NAME.test(name);
}

/**
 * The diffusers module path, in kohya's underscore form (`down_blocks_1_attentions_0_proj_in`), of
 * an SGM/LDM kohya UNet module name (after `lora_unet_`), as diffusers'
 * `_maybe_map_sgm_blocks_to_diffusers` and `_convert_unet_lora_key` map it; null when it names no
 * module. `layersPerBlock` is the UNet config's `layers_per_block`, which fixes LDM's flat block
 * numbering. The numbering itself is the single-file loader's (`ldmUnetKey`).
 */
export function sgmUnetModule(name: string, layersPerBlock: number): string | null {
  const ldm = ldmModulePath(name);
  if (ldm === null) return null;
  // ldmUnetKey maps parameter keys; a module's `.weight` key stands for the module. `label_emb`
  // maps to SDXL's `add_embedding`; on a model without one, the LoRA then fails to match it.
  const key = ldmUnetKey(`${ldm}.weight`, layersPerBlock, true);
  return key === null ? null : key.slice(0, -'.weight'.length).replace(/\./g, '_');
}

/**
 * The LDM path of a kohya SGM name with LDM's own indices dotted (`input_blocks.4.1.…`); the
 * attention's inner path stays in underscore form, as the LDM and diffusers attentions share it
 * and `ldmUnetKey` passes it through.
 */
function ldmModulePath(name: string): string | null {
  if (name === 'input_blocks_0_0') return 'input_blocks.0.0';
  const top = /^(time_embed|out)_(\d+)$/.exec(name);
  if (top) return `${top[1]}.${top[2]}`;
  const label = /^label_emb_0_(\d+)$/.exec(name);
  if (label) return `label_emb.0.${label[1]}`;
  const mid = /^middle_block_(\d+)_(.+)$/.exec(name);
  if (mid) return `middle_block.${mid[1]}.${inner(mid[2]!)}`;
  const block = /^(input|output)_blocks_(\d+)_(\d+)_(.+)$/.exec(name);
  if (block) return `${block[1]}_blocks.${block[2]}.${block[3]}.${inner(block[4]!)}`;
  return null;
}

function inner(rest: string): string {
  return rest.replace(RESNET_INDEXED, '$1.$2');
}
