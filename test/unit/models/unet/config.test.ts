import { describe, expect, it } from 'vitest';
import { loadFixture, type ComponentFixture } from '../../../../tools/verify/fixture/fixture.js';
import { ModelConfigError } from '../../../../src/models/errors.js';
import { parseUNetConfig } from '../../../../src/models/unet/config.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { SDXL_BASE_UNET_CONFIG as sdxlBase } from '../../../helpers/sdxl-unet-config.js';

const sd21 = ((await loadFixture(fixturePath('unet-sd21-tiny'))) as ComponentFixture).config;
const lcm = ((await loadFixture(fixturePath('unet-lcm-tiny'))) as ComponentFixture).config;
const sdxlTiny = ((await loadFixture(fixturePath('unet-sdxl-tiny'))) as ComponentFixture).config;

// SDXL-Turbo's file has the keys later diffusers versions add.
const sdxlTurbo = { ...sdxlBase, _diffusers_version: '0.24.0.dev0', attention_type: 'default', dropout: 0.0, reverse_transformer_layers_per_block: null };

function rejection(json: unknown): ModelConfigError {
  try {
    parseUNetConfig(json, 'unet/config.json');
  } catch (err) {
    if (err instanceof ModelConfigError) return err;
    throw err;
  }
  throw new Error('the config was accepted');
}

describe('parseUNetConfig', () => {
  it('reads the SD 2.x fields: per-block head counts from attention_head_dim, linear projections', () => {
    const c = parseUNetConfig(sd21, 'config.json');
    expect(c.headsPerBlock).toEqual([2, 2, 4, 4]);
    expect(c.useLinearProjection).toBe(true);
    expect(c.blockOutChannels).toEqual([16, 32, 32, 32]);
    expect(c.timeCondProjDim).toBeNull();
    expect(c.additionEmbed).toBeNull();
    expect(c.transformerLayersPerBlock).toEqual([1, 1, 1, 1]);
  });

  it.each([
    ['SDXL base 1.0', sdxlBase],
    ['SDXL-Turbo', sdxlTurbo],
  ])('accepts the published %s config: text_time embedding, per-block transformer layers, DownBlock2D first', (_, json) => {
    const c = parseUNetConfig(json, 'config.json');
    // pooled = 2816 − 6 × 256: text_encoder_2's projection_dim.
    expect(c.additionEmbed).toEqual({ timeEmbedDim: 256, pooledDim: 1280 });
    expect(c.transformerLayersPerBlock).toEqual([1, 2, 10]);
    expect(c.headsPerBlock).toEqual([5, 10, 20]);
    expect(c.downBlockTypes).toEqual(['DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D']);
    expect(c.upBlockTypes).toEqual(['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D']);
    expect(c.crossAttentionDim).toBe(2048);
    expect(c.useLinearProjection).toBe(true);
    expect(c.upcastAttention).toBe(false);
    expect(c.sampleSize).toBe(128);
  });

  it('reads the tiny SDXL fixture config: pooled width from projection_class_embeddings_input_dim', () => {
    const c = parseUNetConfig(sdxlTiny, 'config.json');
    expect(c.additionEmbed).toEqual({ timeEmbedDim: 8, pooledDim: 58 - 6 * 8 });
    expect(c.transformerLayersPerBlock).toEqual([1, 2, 3]);
  });

  it('repeats a single transformer_layers_per_block over the blocks', () => {
    expect(parseUNetConfig({ ...sd21, transformer_layers_per_block: 2 }, 'config.json').transformerLayersPerBlock).toEqual([2, 2, 2, 2]);
    expect(parseUNetConfig({ ...sd21, transformer_layers_per_block: null }, 'config.json').transformerLayersPerBlock).toEqual([1, 1, 1, 1]);
  });

  it.each([
    [0, 'transformer_layers_per_block'],
    [-1, 'transformer_layers_per_block'],
    [11, 'transformer_layers_per_block'],
    [1.5, 'transformer_layers_per_block'],
    ['2', 'transformer_layers_per_block'],
    [[1, 2, 3], 'transformer_layers_per_block'],
    [[1, 2, 0, 1], 'transformer_layers_per_block[2]'],
    [[1, 11, 1, 1], 'transformer_layers_per_block[1]'],
    [[[1, 1], [2, 2], [1, 1], [1, 1]], 'transformer_layers_per_block[0]'],
  ])('rejects transformer_layers_per_block = %j, naming %s', (value, field) => {
    const err = rejection({ ...sd21, transformer_layers_per_block: value });
    expect(err.field).toBe(field);
    expect(err.message).toContain('unet/config.json: transformer_layers_per_block');
  });

  it('rejects reverse_transformer_layers_per_block unless null', () => {
    expect(rejection({ ...sdxlTurbo, reverse_transformer_layers_per_block: [[10, 10, 10], [2, 2, 2], [1, 1, 1]] }).field).toBe('reverse_transformer_layers_per_block');
  });

  it.each(['text', 'text_image', 'image', 'image_hint'])('rejects addition_embed_type = %j (only SDXL\'s "text_time" is implemented)', (type) => {
    const err = rejection({ ...sdxlBase, addition_embed_type: type });
    expect(err.field).toBe('addition_embed_type');
    expect(err.message).toContain('null or "text_time"');
  });

  it('rejects a text_time config without addition_time_embed_dim', () => {
    const { addition_time_embed_dim: _, ...rest } = sdxlBase;
    expect(rejection(rest).field).toBe('addition_time_embed_dim');
  });

  it.each([1536, 1000])('rejects projection_class_embeddings_input_dim = %i, which leaves no pooled text_embeds width', (dim) => {
    const err = rejection({ ...sdxlBase, projection_class_embeddings_input_dim: dim });
    expect(err.field).toBe('projection_class_embeddings_input_dim');
    expect(err.message).toContain('more than 6 × addition_time_embed_dim (1536)');
  });

  it('rejects a text_time config without projection_class_embeddings_input_dim', () => {
    const { projection_class_embeddings_input_dim: _, ...rest } = sdxlBase;
    expect(rejection(rest).field).toBe('projection_class_embeddings_input_dim');
  });

  it('repeats a single attention_head_dim over the blocks and reads time_cond_proj_dim', () => {
    const c = parseUNetConfig(lcm, 'config.json');
    expect(c.headsPerBlock).toEqual([8, 8, 8, 8]);
    expect(c.timeCondProjDim).toBe(32);
  });

  it('rejects a time_cond_proj_dim too small for the guidance embedding (sin and cos over at least 2 frequencies)', () => {
    const err = rejection({ ...lcm, time_cond_proj_dim: 3 });
    expect(err).toMatchObject({ name: 'ModelConfigError', code: 'MODEL_CONFIG_INVALID', field: 'time_cond_proj_dim', value: 3 });
    expect(err.message).toContain('an integer from 4 to');
  });

  it('prefers num_attention_heads over attention_head_dim when it is set', () => {
    expect(parseUNetConfig({ ...sd21, num_attention_heads: [1, 2, 4, 8] }, 'config.json').headsPerBlock).toEqual([1, 2, 4, 8]);
  });

  it('rejects an unsupported block type with an error naming the file and the field', () => {
    const err = rejection({ ...sd21, down_block_types: ['CrossAttnDownBlock3D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'] });
    expect(err.name).toBe('ModelConfigError');
    expect(err.file).toBe('unet/config.json');
    expect(err.field).toBe('down_block_types[0]');
    expect(err.message).toMatch(/unet\/config\.json: down_block_types\[0\] = "CrossAttnDownBlock3D" is not supported: expected one of "CrossAttnDownBlock2D", "DownBlock2D"/);
  });

  it.each([
    ['act_fn', 'gelu'],
    ['class_embed_type', 'timestep'],
    ['addition_embed_type', 'text_image'],
    ['resnet_time_scale_shift', 'scale_shift'],
    ['mid_block_type', 'UNetMidBlock2DSimpleCrossAttn'],
    ['layers_per_block', [2, 2, 2, 2]],
  ])('rejects %s = %j, which changes the math', (field, value) => {
    expect(rejection({ ...sd21, [field]: value }).field).toBe(field);
  });

  it('rejects a per-block head list whose length is not the block count', () => {
    expect(rejection({ ...sd21, attention_head_dim: [2, 2, 4] }).field).toBe('attention_head_dim');
  });

  it('rejects widths that the group norm cannot split', () => {
    expect(rejection({ ...sd21, block_out_channels: [16, 32, 36, 32] }).field).toBe('block_out_channels[2]');
  });

  it('names a missing required field', () => {
    const { block_out_channels: _, ...rest } = sd21;
    expect(rejection(rest).message).toBe('unet/config.json: block_out_channels is missing: expected a value (the field has no default).');
  });

  it('rejects up and down block lists of different lengths', () => {
    expect(rejection({ ...sd21, up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D'] }).field).toBe('up_block_types');
  });
});
