import { CONFIG_LIMITS, ConfigReader } from '../config-reader.js';
import { ModelConfigError } from '../errors.js';

export const CLIP_ACTIVATIONS = ['quick_gelu', 'gelu'] as const;
export type CLIPActivation = (typeof CLIP_ACTIVATIONS)[number];

/** The fields of a transformers `CLIPTextModel` (or `CLIPTextModelWithProjection`) config that shape the math, validated. */
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
  /**
   * `architectures` names `CLIPTextModelWithProjection` (SDXL's text_encoder_2): the model also
   * loads `text_projection.weight` and returns `text_embeds`.
   */
  withProjection: boolean;
  /** `projection_dim`: the width of `text_embeds` (only used with the projection; 1280 in SDXL). */
  projectionDim: number;
}

/** The `architectures` entries this library builds; absent or null means `CLIPTextModel`. */
export const CLIP_TEXT_ARCHITECTURES = ['CLIPTextModel', 'CLIPTextModelWithProjection'] as const;

/** Validates a `CLIPTextModel` or `CLIPTextModelWithProjection` config.json (transformers 4 or 5). */
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
    withProjection: readWithProjection(r),
    // transformers' default, for configs that leave it out.
    projectionDim: r.int('projection_dim', 512),
  };
  if (config.hiddenSize % config.numAttentionHeads !== 0) {
    r.fail('num_attention_heads', config.numAttentionHeads, `a head count dividing hidden_size (${config.hiddenSize})`);
  }
  return config;
}

/**
 * Whether `architectures` asks for `CLIPTextModelWithProjection`. Any other class named there
 * (a T5 encoder, a vision tower) would otherwise fail later on its weights' names, so it is
 * refused here, naming the field.
 */
function readWithProjection(r: ConfigReader): boolean {
  const architectures = r.raw('architectures');
  if (architectures === undefined || architectures === null) return false;
  const known = (a: unknown): a is (typeof CLIP_TEXT_ARCHITECTURES)[number] => (CLIP_TEXT_ARCHITECTURES as readonly unknown[]).includes(a);
  if (!Array.isArray(architectures) || !architectures.every(known)) {
    r.fail('architectures', architectures, `a list of ${CLIP_TEXT_ARCHITECTURES.map((a) => `"${a}"`).join(' or ')}`);
  }
  return architectures.includes('CLIPTextModelWithProjection');
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
