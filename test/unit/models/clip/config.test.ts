import { describe, expect, it } from 'vitest';
import { loadFixture, type ComponentFixture } from '../../../../tools/verify/fixture/fixture.js';
import { parseCLIPTextConfig } from '../../../../src/models/clip/config.js';
import { ModelConfigError } from '../../../../src/models/errors.js';
import { fixturePath } from '../../../helpers/fixtures.js';

const gelu = ((await loadFixture(fixturePath('text-encoder-clip-gelu-tiny'))) as ComponentFixture).config;

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
    });
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
