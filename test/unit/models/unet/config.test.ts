import { describe, expect, it } from 'vitest';
import { loadFixture, type ComponentFixture } from '../../../../tools/verify/fixture/fixture.js';
import { ModelConfigError } from '../../../../src/models/errors.js';
import { parseUNetConfig } from '../../../../src/models/unet/config.js';
import { fixturePath } from '../../../helpers/fixtures.js';

const sd21 = ((await loadFixture(fixturePath('unet-sd21-tiny'))) as ComponentFixture).config;
const lcm = ((await loadFixture(fixturePath('unet-lcm-tiny'))) as ComponentFixture).config;

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
    ['transformer_layers_per_block', 2],
    ['act_fn', 'gelu'],
    ['class_embed_type', 'timestep'],
    ['addition_embed_type', 'text_time'],
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
