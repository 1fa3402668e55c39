/**
 * The original Stable Diffusion (LDM) VAE's key names (`first_stage_model.` stripped) →
 * diffusers' `AutoencoderKL` names, as diffusers' `convert_ldm_vae_checkpoint` maps them. The
 * decoder's up blocks are numbered in reverse (`decoder.up.{N-1-i}` is diffusers' `up_blocks.i`),
 * and the mid-block attention's projections are 1x1 convolutions [C, C, 1, 1] where diffusers has
 * Linear [C, C]: their shape is returned with the key.
 */

/** A mapped key, with the shape diffusers stores it in. */
export interface MappedKey {
  key: string;
  shape: number[];
}

const ATTENTION_PARTS: Record<string, string> = { norm: 'group_norm', q: 'to_q', k: 'to_k', v: 'to_v', proj_out: 'to_out.0' };

/** The diffusers key and shape of an LDM VAE key (without `first_stage_model.`), or null when it maps to none. `numUpBlocks`: the decoder's. */
export function ldmVaeKey(key: string, shape: readonly number[], numUpBlocks: number): MappedKey | null {
  const same = { shape: [...shape] };
  const top = /^(encoder|decoder)\.(conv_in|conv_out|norm_out)\.(weight|bias)$/.exec(key) ?? /^(quant_conv|post_quant_conv)\.(weight|bias)$/.exec(key);
  if (top) return { key: key.replace('norm_out', 'conv_norm_out'), ...same };
  const resnet = (rest: string): string | null => {
    const m = /^(norm1|conv1|norm2|conv2|nin_shortcut)\.(weight|bias)$/.exec(rest);
    return m ? `${m[1] === 'nin_shortcut' ? 'conv_shortcut' : m[1]}.${m[2]}` : null;
  };
  const down = /^encoder\.down\.(\d+)\.(?:block\.(\d+)\.(.+)|downsample\.conv\.(weight|bias))$/.exec(key);
  if (down) {
    if (down[4]) return { key: `encoder.down_blocks.${down[1]}.downsamplers.0.conv.${down[4]}`, ...same };
    const inner = resnet(down[3]!);
    return inner === null ? null : { key: `encoder.down_blocks.${down[1]}.resnets.${down[2]}.${inner}`, ...same };
  }
  const up = /^decoder\.up\.(\d+)\.(?:block\.(\d+)\.(.+)|upsample\.conv\.(weight|bias))$/.exec(key);
  if (up) {
    const i = numUpBlocks - 1 - Number(up[1]);
    if (i < 0) return null;
    if (up[4]) return { key: `decoder.up_blocks.${i}.upsamplers.0.conv.${up[4]}`, ...same };
    const inner = resnet(up[3]!);
    return inner === null ? null : { key: `decoder.up_blocks.${i}.resnets.${up[2]}.${inner}`, ...same };
  }
  const mid = /^(encoder|decoder)\.mid\.(?:block_([12])\.(.+)|attn_1\.(norm|q|k|v|proj_out)\.(weight|bias))$/.exec(key);
  if (!mid) return null;
  if (mid[2]) {
    const inner = resnet(mid[3]!);
    return inner === null ? null : { key: `${mid[1]}.mid_block.resnets.${Number(mid[2]) - 1}.${inner}`, ...same };
  }
  const name = `${mid[1]}.mid_block.attentions.0.${ATTENTION_PARTS[mid[4]!]}.${mid[5]}`;
  // A projection weight stored as a 1x1 conv: diffusers' Linear takes the same values as [C, C].
  const conv = mid[4] !== 'norm' && mid[5] === 'weight' && shape.length === 4 && shape[2] === 1 && shape[3] === 1;
  return { key: name, shape: conv ? [shape[0]!, shape[1]!] : [...shape] };
}
