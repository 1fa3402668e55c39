import { CONFIG_LIMITS, ConfigReader } from '../config-reader.js';
import { ModelConfigError } from '../errors.js';

export const CLIP_ACTIVATIONS = ['quick_gelu', 'gelu'] as const;
export type CLIPActivation = (typeof CLIP_ACTIVATIONS)[number];

/** The fields of a transformers `CLIPTextModel` config that shape the math, validated. */
export interface CLIPTextConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  hiddenAct: CLIPActivation;
  layerNormEps: number;
  maxPositionEmbeddings: number;
  /**
   * Selects the pooled position: 2 (the legacy value of SD 1.x/2.x configs) means the argmax of
   * the ids (the EOS token has the highest id), anything else the first occurrence of this id.
   */
  eosTokenId: number;
  bosTokenId: number;
  padTokenId: number;
}

/** Validates a `CLIPTextModel` config.json (transformers 4 or 5). */
export function parseCLIPTextConfig(json: unknown, fileName: string): CLIPTextConfig {
  const r = new ConfigReader(json, fileName);
  const config: CLIPTextConfig = {
    vocabSize: r.int('vocab_size', 49408),
    hiddenSize: r.int('hidden_size', 512),
    intermediateSize: r.int('intermediate_size', 2048),
    numHiddenLayers: r.int('num_hidden_layers', 12, { max: CONFIG_LIMITS.maxLayers }),
    numAttentionHeads: r.int('num_attention_heads', 8, { max: CONFIG_LIMITS.maxHeads }),
    hiddenAct: r.oneOf('hidden_act', CLIP_ACTIVATIONS, 'quick_gelu'),
    layerNormEps: r.number('layer_norm_eps', 1e-5),
    maxPositionEmbeddings: r.int('max_position_embeddings', 77, { max: CONFIG_LIMITS.maxPositionEmbeddings }),
    eosTokenId: r.int('eos_token_id', 2, { min: 0 }),
    bosTokenId: r.int('bos_token_id', 0, { min: 0 }),
    padTokenId: r.int('pad_token_id', 1, { min: 0 }),
  };
  // SDXL's second text encoder adds a projection of the pooled output (`text_embeds`); it is
  // not supported yet, and loading it as a plain CLIPTextModel would fail on its extra weight.
  const architectures = r.raw('architectures');
  if (Array.isArray(architectures) && architectures.includes('CLIPTextModelWithProjection')) {
    r.fail('architectures', architectures, '["CLIPTextModel"] (CLIPTextModelWithProjection, SDXL\'s second text encoder, is not supported yet)');
  }
  if (config.hiddenSize % config.numAttentionHeads !== 0) {
    r.fail('num_attention_heads', config.numAttentionHeads, `a head count dividing hidden_size (${config.hiddenSize})`);
  }
  return config;
}

/**
 * Checks that the tokenizer's rows fit the text encoder: `model_max_length` (read from
 * `tokenizerFile`) must not exceed the `max_position_embeddings` of `config` (read from
 * `configFile`), or the encoder would fail on the first prompt instead of at load time.
 */
export function checkTokenizerFitsTextEncoder(modelMaxLength: number, tokenizerFile: string, config: CLIPTextConfig, configFile: string): void {
  if (modelMaxLength > config.maxPositionEmbeddings) {
    throw new ModelConfigError(
      tokenizerFile,
      'model_max_length',
      modelMaxLength,
      `at most the text encoder's max_position_embeddings (${config.maxPositionEmbeddings}, ${configFile}); the tokenizer and text encoder do not belong together`,
    );
  }
}
