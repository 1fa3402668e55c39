import { describe, expect, it } from 'vitest';
import { loadFixture, type ComponentFixture } from '../../../../tools/verify/fixture/fixture.js';
import { parseAutoencoderTinyConfig } from '../../../../src/models/taesd/config.js';
import { fixturePath } from '../../../helpers/fixtures.js';

const taesd = ((await loadFixture(fixturePath('taesd-decoder'))) as ComponentFixture).config;

describe('parseAutoencoderTinyConfig', () => {
  it('takes the decoder widths and block counts from the config', () => {
    expect(parseAutoencoderTinyConfig({ ...taesd, decoder_block_out_channels: [32, 32], num_decoder_blocks: [2, 1] }, 'c.json')).toEqual({
      latentChannels: 4,
      outChannels: 3,
      decoderBlockOutChannels: [32, 32],
      numDecoderBlocks: [2, 1],
      scalingFactor: 1,
    });
  });

  it('rejects another activation and mismatched block lists, naming the field', () => {
    expect(() => parseAutoencoderTinyConfig({ ...taesd, act_fn: 'silu' }, 'taesd/config.json')).toThrow(/taesd\/config\.json: act_fn = "silu"/);
    expect(() => parseAutoencoderTinyConfig({ ...taesd, num_decoder_blocks: [3, 3] }, 'taesd/config.json')).toThrow(/num_decoder_blocks/);
  });
});
