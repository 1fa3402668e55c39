/**
 * The original Stable Diffusion (LDM) UNet's key names (`model.diffusion_model.` stripped) →
 * diffusers' `UNet2DConditionModel` names, as diffusers' `convert_ldm_unet_checkpoint` maps
 * them. The LDM UNet numbers its blocks flat: `input_blocks` holds `conv_in`, then per down block
 * `layers_per_block` (ResNet, attention) pairs and a downsampler; `output_blocks` holds per up
 * block `layers_per_block + 1` pairs, the last also carrying the upsampler. The block numbering
 * follows from `layers_per_block` alone: the number of blocks and which have attentions are
 * whatever the checkpoint holds, checked by the model against its config when it takes the weights.
 */

/** Inside a ResNet: LDM's sequential indices → diffusers' names. */
const RESNET_PARTS: Record<string, string> = {
  'in_layers.0': 'norm1',
  'in_layers.2': 'conv1',
  'emb_layers.1': 'time_emb_proj',
  'out_layers.0': 'norm2',
  'out_layers.3': 'conv2',
  skip_connection: 'conv_shortcut',
};

const TOP_LEVEL: Record<string, string> = {
  'time_embed.0': 'time_embedding.linear_1',
  'time_embed.2': 'time_embedding.linear_2',
  'input_blocks.0.0': 'conv_in',
  'out.0': 'conv_norm_out',
  'out.2': 'conv_out',
};

/** SDXL's added (pooled text + size) embedding, under diffusers' `addition_embed_type: "text_time"`. */
const TEXT_TIME: Record<string, string> = {
  'label_emb.0.0': 'add_embedding.linear_1',
  'label_emb.0.2': 'add_embedding.linear_2',
};

const MIDDLE = ['mid_block.resnets.0', 'mid_block.attentions.0', 'mid_block.resnets.1'];

/** A ResNet's inner name (`in_layers.2.weight` → `conv1.weight`), or null when it is not one of a ResNet's. */
function resnetInner(rest: string): string | null {
  for (const [ldm, diffusers] of Object.entries(RESNET_PARTS)) {
    if (rest.startsWith(`${ldm}.`)) return diffusers + rest.slice(ldm.length);
  }
  return null;
}

/**
 * The diffusers key of an LDM UNet key (without its `model.diffusion_model.` prefix), or null when
 * it maps to none. `textTimeEmbedding` (SDXL): `label_emb.0.*` is the `add_embedding`, as
 * diffusers maps it when the config's `addition_embed_type` is `text_time`.
 */
export function ldmUnetKey(key: string, layersPerBlock: number, textTimeEmbedding = false): string | null {
  const top = /^(time_embed\.[02]|input_blocks\.0\.0|out\.[02])\.(weight|bias)$/.exec(key);
  if (top) return `${TOP_LEVEL[top[1]!]}.${top[2]}`;
  const added = /^(label_emb\.0\.[02])\.(weight|bias)$/.exec(key);
  if (added) return textTimeEmbedding ? `${TEXT_TIME[added[1]!]}.${added[2]}` : null;
  const mid = /^middle_block\.([012])\.(.+)$/.exec(key);
  if (mid) {
    const index = Number(mid[1]);
    const inner = index === 1 ? mid[2]! : resnetInner(mid[2]!);
    return inner === null ? null : `${MIDDLE[index]}.${inner}`;
  }
  const block = /^(input|output)_blocks\.(\d+)\.(\d+)\.(.+)$/.exec(key);
  if (!block) return null;
  const [, side, n, k, rest] = block as unknown as [string, 'input' | 'output', string, string, string];
  const per = layersPerBlock + 1;
  if (side === 'input') {
    const flat = Number(n) - 1;
    if (flat < 0) return null;
    const [i, j] = [Math.floor(flat / per), flat % per];
    // The last slot of a down block holds only its downsampler, a conv named `op`.
    if (j === layersPerBlock) return k === '0' && rest.startsWith('op.') ? `down_blocks.${i}.downsamplers.0.conv${rest.slice(2)}` : null;
    return subModule(`down_blocks.${i}`, j, k, rest);
  }
  const [i, j] = [Math.floor(Number(n) / per), Number(n) % per];
  // The upsampler follows the last ResNet (and attention, if any) of an up block: `<n>.1.conv` or `<n>.2.conv`.
  if (k !== '0' && j === layersPerBlock && rest.startsWith('conv.')) return `up_blocks.${i}.upsamplers.0.${rest}`;
  return subModule(`up_blocks.${i}`, j, k, rest);
}

/** `<block>.resnets.<j>` (k = 0) or `<block>.attentions.<j>` (k = 1), the attention's inner names being diffusers' already. */
function subModule(block: string, j: number, k: string, rest: string): string | null {
  if (k === '0') {
    const inner = resnetInner(rest);
    return inner === null ? null : `${block}.resnets.${j}.${inner}`;
  }
  return k === '1' ? `${block}.attentions.${j}.${rest}` : null;
}
