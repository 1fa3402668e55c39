import { describe, expect, it } from 'vitest';
import { loadFixture, type ComponentFixture } from '../../../../src/io/fixture.js';
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

  it('rejects another activation', () => {
    expect(() => parseAutoencoderKLConfig({ ...vae, act_fn: 'gelu' }, 'vae/config.json')).toThrow(/vae\/config\.json: act_fn = "gelu"/);
  });
});
