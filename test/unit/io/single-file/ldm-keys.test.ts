import { describe, expect, it } from 'vitest';
import { ldmUnetKey } from '../../../../src/io/single-file/ldm-unet-keys.js';
import { ldmVaeKey } from '../../../../src/io/single-file/ldm-vae-keys.js';
import { isNonWeightKey } from '../../../../src/io/single-file/checkpoint-layout.js';

describe('ldmUnetKey: the LDM UNet numbering, from layers_per_block', () => {
  it('maps the README table for SD 1.x (L = 2)', () => {
    const L = 2;
    expect(ldmUnetKey('time_embed.0.weight', L)).toBe('time_embedding.linear_1.weight');
    expect(ldmUnetKey('time_embed.2.bias', L)).toBe('time_embedding.linear_2.bias');
    expect(ldmUnetKey('input_blocks.0.0.weight', L)).toBe('conv_in.weight');
    expect(ldmUnetKey('out.0.weight', L)).toBe('conv_norm_out.weight');
    expect(ldmUnetKey('out.2.bias', L)).toBe('conv_out.bias');
    // input_blocks.{3i+j+1}: down block i = 1, j = 1 → 5.
    expect(ldmUnetKey('input_blocks.5.0.in_layers.2.weight', L)).toBe('down_blocks.1.resnets.1.conv1.weight');
    expect(ldmUnetKey('input_blocks.5.1.transformer_blocks.0.attn2.to_k.weight', L)).toBe('down_blocks.1.attentions.1.transformer_blocks.0.attn2.to_k.weight');
    expect(ldmUnetKey('input_blocks.4.0.skip_connection.weight', L)).toBe('down_blocks.1.resnets.0.conv_shortcut.weight');
    expect(ldmUnetKey('input_blocks.6.0.op.weight', L)).toBe('down_blocks.1.downsamplers.0.conv.weight');
    expect(ldmUnetKey('middle_block.0.emb_layers.1.weight', L)).toBe('mid_block.resnets.0.time_emb_proj.weight');
    expect(ldmUnetKey('middle_block.1.proj_in.weight', L)).toBe('mid_block.attentions.0.proj_in.weight');
    expect(ldmUnetKey('middle_block.2.out_layers.3.bias', L)).toBe('mid_block.resnets.1.conv2.bias');
    expect(ldmUnetKey('output_blocks.2.1.conv.weight', L)).toBe('up_blocks.0.upsamplers.0.conv.weight');
    expect(ldmUnetKey('output_blocks.5.2.conv.bias', L)).toBe('up_blocks.1.upsamplers.0.conv.bias');
    expect(ldmUnetKey('output_blocks.5.1.norm.weight', L)).toBe('up_blocks.1.attentions.2.norm.weight');
    expect(ldmUnetKey('output_blocks.7.0.out_layers.0.weight', L)).toBe('up_blocks.2.resnets.1.norm2.weight');
  });

  it('follows layers_per_block, not SD 1.x constants', () => {
    // L = 1: input_blocks.{2i+j+1}, downsampler at 2(i+1); output_blocks.{2i+j}.
    expect(ldmUnetKey('input_blocks.3.0.in_layers.0.weight', 1)).toBe('down_blocks.1.resnets.0.norm1.weight');
    expect(ldmUnetKey('input_blocks.4.0.op.weight', 1)).toBe('down_blocks.1.downsamplers.0.conv.weight');
    expect(ldmUnetKey('output_blocks.3.1.conv.weight', 1)).toBe('up_blocks.1.upsamplers.0.conv.weight');
    // L = 3: input_blocks.{4i+j+1}.
    expect(ldmUnetKey('input_blocks.7.1.proj_out.weight', 3)).toBe('down_blocks.1.attentions.2.proj_out.weight');
    expect(ldmUnetKey('input_blocks.8.0.op.bias', 3)).toBe('down_blocks.1.downsamplers.0.conv.bias');
    expect(ldmUnetKey('output_blocks.7.0.emb_layers.1.bias', 3)).toBe('up_blocks.1.resnets.3.time_emb_proj.bias');
  });

  it('maps nothing it does not know', () => {
    for (const key of ['label_emb.0.0.weight', 'input_blocks.1.0.in_layers.1.weight', 'input_blocks.3.1.op.weight', 'output_blocks.0.3.conv.weight', 'middle_block.3.norm.weight', 'input_blocks.1.2.norm.weight']) {
      expect(ldmUnetKey(key, 2), key).toBeNull();
    }
  });
});

describe('ldmVaeKey: reverse-numbered up blocks, 1x1-conv attention', () => {
  it('numbers the decoder up blocks in reverse of their count', () => {
    expect(ldmVaeKey('decoder.up.3.block.0.conv1.weight', [4, 4, 3, 3], 4)!.key).toBe('decoder.up_blocks.0.resnets.0.conv1.weight');
    expect(ldmVaeKey('decoder.up.0.block.2.nin_shortcut.bias', [4], 4)!.key).toBe('decoder.up_blocks.3.resnets.2.conv_shortcut.bias');
    expect(ldmVaeKey('decoder.up.1.upsample.conv.weight', [4, 4, 3, 3], 3)!.key).toBe('decoder.up_blocks.1.upsamplers.0.conv.weight');
    expect(ldmVaeKey('decoder.up.4.block.0.conv1.weight', [4, 4, 3, 3], 4)).toBeNull();
  });

  it('maps the encoder, mid blocks and top-level convs', () => {
    expect(ldmVaeKey('encoder.down.2.downsample.conv.bias', [8], 4)!.key).toBe('encoder.down_blocks.2.downsamplers.0.conv.bias');
    expect(ldmVaeKey('encoder.mid.block_2.norm1.weight', [8], 4)!.key).toBe('encoder.mid_block.resnets.1.norm1.weight');
    expect(ldmVaeKey('decoder.norm_out.bias', [8], 4)!.key).toBe('decoder.conv_norm_out.bias');
    expect(ldmVaeKey('post_quant_conv.weight', [4, 4, 1, 1], 4)).toEqual({ key: 'post_quant_conv.weight', shape: [4, 4, 1, 1] });
  });

  it('reshapes the attention projections [C, C, 1, 1] → [C, C], not the norm', () => {
    expect(ldmVaeKey('decoder.mid.attn_1.q.weight', [32, 32, 1, 1], 4)).toEqual({ key: 'decoder.mid_block.attentions.0.to_q.weight', shape: [32, 32] });
    expect(ldmVaeKey('encoder.mid.attn_1.proj_out.weight', [32, 32, 1, 1], 4)).toEqual({ key: 'encoder.mid_block.attentions.0.to_out.0.weight', shape: [32, 32] });
    expect(ldmVaeKey('decoder.mid.attn_1.k.bias', [32], 4)).toEqual({ key: 'decoder.mid_block.attentions.0.to_k.bias', shape: [32] });
    expect(ldmVaeKey('decoder.mid.attn_1.norm.weight', [32], 4)).toEqual({ key: 'decoder.mid_block.attentions.0.group_norm.weight', shape: [32] });
  });
});

describe('isNonWeightKey', () => {
  it('skips schedule buffers, EMA weights and position_ids, never a weight', () => {
    for (const key of ['alphas_cumprod', 'betas', 'model_ema.decay', 'model_ema.diffusion_modelinput_blocks00weight', 'cond_stage_model.transformer.text_model.embeddings.position_ids']) {
      expect(isNonWeightKey(key), key).toBe(true);
    }
    expect(isNonWeightKey('model.diffusion_model.out.2.weight')).toBe(false);
    expect(isNonWeightKey('first_stage_model.decoder.conv_in.weight')).toBe(false);
  });
});
