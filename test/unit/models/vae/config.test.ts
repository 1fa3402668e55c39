import { describe, expect, it } from 'vitest';
import { loadFixture, type ComponentFixture } from '../../../../tools/verify/fixture/fixture.js';
import { ModelConfigError } from '../../../../src/models/errors.js';
import { parseAutoencoderKLConfig } from '../../../../src/models/vae/config.js';
import { fixturePath } from '../../../helpers/fixtures.js';

const vae = ((await loadFixture(fixturePath('vae-decoder-tiny'))) as ComponentFixture).config;

describe('parseAutoencoderKLConfig', () => {
  it('reads the decoder fields', () => {
    const c = parseAutoencoderKLConfig(vae, 'config.json');
    expect(c).toMatchObject({ blockOutChannels: [16, 32, 32, 32], layersPerBlock: 2, latentChannels: 4, normNumGroups: 8, scalingFactor: 0.18215, outChannels: 3 });
  });

  it('rejects an unsupported up block type, naming the field', () => {
    const err = (() => {
      try {
        parseAutoencoderKLConfig({ ...vae, up_block_types: ['UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlock2D', 'UpDecoderBlockCausal3D'] }, 'vae/config.json');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ModelConfigError);
    expect((err as ModelConfigError).field).toBe('up_block_types[3]');
  });

  it('reads the encoder fields', () => {
    const c = parseAutoencoderKLConfig(vae, 'config.json');
    expect(c).toMatchObject({ inChannels: 3, useQuantConv: true, shiftFactor: 0 });
    expect(parseAutoencoderKLConfig({ ...vae, down_block_types: undefined, use_quant_conv: false }, 'config.json')).toMatchObject({ useQuantConv: false });
  });

  it('rejects an unsupported down block type or count, naming the field', () => {
    expect(() => parseAutoencoderKLConfig({ ...vae, down_block_types: ['DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownEncoderBlock2D', 'DownBlock2D'] }, 'vae/config.json')).toThrow(
      /down_block_types\[3\] = "DownBlock2D"/,
    );
    expect(() => parseAutoencoderKLConfig({ ...vae, down_block_types: ['DownEncoderBlock2D'] }, 'vae/config.json')).toThrow(/down_block_types = array\(1\).*4 entries/);
  });

  it('rejects another activation', () => {
    expect(() => parseAutoencoderKLConfig({ ...vae, act_fn: 'gelu' }, 'vae/config.json')).toThrow(/vae\/config\.json: act_fn = "gelu"/);
  });
});
