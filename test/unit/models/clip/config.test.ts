import { describe, expect, it } from 'vitest';
import { loadFixture, type ComponentFixture } from '../../../../tools/verify/fixture/fixture.js';
import { parseCLIPTextConfig } from '../../../../src/models/clip/config.js';
import { ModelConfigError } from '../../../../src/models/errors.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { thrown } from '../../../helpers/thrown.js';

const gelu = ((await loadFixture(fixturePath('text-encoder-clip-gelu-tiny'))) as ComponentFixture).config;
const projection = ((await loadFixture(fixturePath('text-encoder-clip-projection-tiny'))) as ComponentFixture).config;

describe('parseCLIPTextConfig', () => {
  it('reads the fields that shape the math', () => {
    expect(parseCLIPTextConfig(gelu, 'config.json')).toEqual({
      vocabSize: 49408,
      hiddenSize: 24,
      intermediateSize: 64,
      numHiddenLayers: 2,
      numAttentionHeads: 4,
      hiddenAct: 'gelu',
      layerNormEps: 1e-5,
      maxPositionEmbeddings: 77,
      eosTokenId: 2,
      bosTokenId: 0,
      padTokenId: 1,
      withProjection: false,
      projectionDim: 24,
    });
  });

  it('reads CLIPTextModelWithProjection (SDXL text_encoder_2): withProjection and projection_dim', () => {
    const config = parseCLIPTextConfig(projection, 'text_encoder_2/config.json');
    expect(projection.architectures).toEqual(['CLIPTextModelWithProjection']);
    expect(config.withProjection).toBe(true);
    expect(config.projectionDim).toBe(10);
    expect(config.hiddenSize).toBe(12);
  });

  it('absent or null architectures mean CLIPTextModel; projection_dim defaults to 512 as in transformers', () => {
    const { architectures: _a, projection_dim: _p, ...bare } = projection;
    expect(parseCLIPTextConfig(bare, 'c.json')).toMatchObject({ withProjection: false, projectionDim: 512 });
    expect(parseCLIPTextConfig({ ...bare, architectures: null, projection_dim: null }, 'c.json')).toMatchObject({ withProjection: false, projectionDim: 512 });
  });

  it.each([
    [['T5EncoderModel']],
    [['CLIPTextModel', 'CLIPVisionModel']],
    ['CLIPTextModelWithProjection'],
  ])('refuses architectures %j, naming the file and the field', (architectures) => {
    const err = thrown(() => parseCLIPTextConfig({ ...gelu, architectures }, 'text_encoder/config.json'));
    expect(err).toBeInstanceOf(ModelConfigError);
    expect((err as ModelConfigError).field).toBe('architectures');
    expect(err.message).toContain('text_encoder/config.json: architectures');
    expect(err.message).toContain('"CLIPTextModel" or "CLIPTextModelWithProjection"');
  });

  it('refuses a projection_dim that is not a positive integer', () => {
    const err = thrown(() => parseCLIPTextConfig({ ...projection, projection_dim: 0 }, 'text_encoder_2/config.json'));
    expect(err).toBeInstanceOf(ModelConfigError);
    expect((err as ModelConfigError).field).toBe('projection_dim');
  });

  it('rejects an unsupported activation, naming the file and hidden_act', () => {
    const run = () => parseCLIPTextConfig({ ...gelu, hidden_act: 'gelu_new' }, 'text_encoder/config.json');
    expect(run).toThrow(ModelConfigError);
    expect(run).toThrow('text_encoder/config.json: hidden_act = "gelu_new" is not supported: expected one of "quick_gelu", "gelu".');
  });

  it('rejects a head count that does not divide hidden_size', () => {
    expect(() => parseCLIPTextConfig({ ...gelu, num_attention_heads: 5 }, 'c.json')).toThrow(/num_attention_heads = 5/);
  });
});
