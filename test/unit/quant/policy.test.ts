import { describe, expect, it } from 'vitest';
import { defaultQuantPolicy, QUANTIZED_DTYPES } from '../../../src/quant/policy.js';
import { storedWeightBytes } from '../../../src/quant/stored-bytes.js';

const int8 = defaultQuantPolicy(QUANTIZED_DTYPES.int8);
const int4 = defaultQuantPolicy(QUANTIZED_DTYPES.int4);

describe('defaultQuantPolicy: which weights are quantized', () => {
  it.each([
    ['down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight', [320, 320], true],
    ['down_blocks.0.attentions.0.transformer_blocks.0.ff.net.0.proj.weight', [2560, 320], true],
    ['down_blocks.0.resnets.0.conv1.weight', [320, 320, 3, 3], true],
    ['down_blocks.1.resnets.0.conv_shortcut.weight', [640, 320, 1, 1], true],
    ['down_blocks.0.resnets.0.time_emb_proj.weight', [320, 1280], true],
    ['up_blocks.0.upsamplers.0.conv.weight', [1280, 1280, 3, 3], true],
    ['text_model.encoder.layers.0.mlp.fc1.weight', [3072, 768], true],
    ['decoder.mid_block.attentions.0.to_q.weight', [512, 512], true],
    // Kept: first and last convs, embeddings, the time embedding MLP, the VAE's latent 1×1 convs, biases and norms.
    ['conv_in.weight', [320, 4, 3, 3], false],
    ['conv_out.weight', [4, 320, 3, 3], false],
    ['decoder.conv_in.weight', [512, 4, 3, 3], false],
    ['text_model.embeddings.token_embedding.weight', [49408, 768], false],
    ['text_model.embeddings.position_embedding.weight', [77, 768], false],
    ['time_embedding.linear_1.weight', [1280, 320], false],
    ['post_quant_conv.weight', [4, 4, 1, 1], false],
    ['down_blocks.0.resnets.0.conv1.bias', [320], false],
    ['down_blocks.0.resnets.0.norm1.weight', [320], false],
    ['text_projection.weight', [1024, 1024], false],
  ] as const)('%s %j → %s', (key, shape, quantized) => {
    expect(int8.select(key, shape)).toBe(quantized);
    expect(int4.select(key, shape)).toBe(quantized);
    expect(int8.fallback(key, shape)).toBeNull();
  });

  it('leaves a weight whose rows the scheme cannot pack as f16, and says why (the logged fallback)', () => {
    // Cin 12 × 3 × 3 = 108 values a row: whole int8 words (108 % 4 == 0), not int4 ones (108 % 8 != 0).
    const key = 'down_blocks.0.resnets.0.conv1.weight';
    expect(int8.select(key, [16, 12, 3, 3])).toBe(true);
    expect(int4.select(key, [16, 12, 3, 3])).toBe(false);
    expect(int4.fallback(key, [16, 12, 3, 3])).toMatch(/108 values do not fill whole 4-bit words/);
    // Not a candidate at all: no fallback to report.
    expect(int4.fallback('conv_in.weight', [16, 3, 3, 3])).toBeNull();
  });
});

describe('storedWeightBytes', () => {
  it('counts packed values and f16 scales for a quantized weight, dtype elements for the rest', () => {
    const key = 'down_blocks.0.resnets.0.conv1.weight';
    // 320 rows of 2880: int8 one byte each plus ceil(2880 / 128) = 23 scales a row; int4 half a byte plus 2880 / 32 = 90.
    expect(QUANTIZED_DTYPES.int4.groupSize).toBe(32);
    expect(storedWeightBytes(key, [320, 320, 3, 3], 'f16', int8)).toBe(320 * 2880 + 320 * 23 * 2);
    expect(storedWeightBytes(key, [320, 320, 3, 3], 'f16', int4)).toBe(320 * 1440 + 320 * 90 * 2);
    expect(storedWeightBytes(key, [320, 320, 3, 3], 'f16', null)).toBe(320 * 2880 * 2);
    expect(storedWeightBytes('conv_in.weight', [320, 4, 3, 3], 'f16', int4)).toBe(320 * 36 * 2);
    expect(storedWeightBytes('conv_in.weight', [320, 4, 3, 3], 'f32', null)).toBe(320 * 36 * 4);
  });
});
