import type { DiffusersRepo, JsonObject } from '../io/diffusers-repo.js';
import { DiffusersRepoError } from '../io/errors.js';
import type { ModelSource } from '../io/sources/model-source.js';
import { checkTokenizerFitsTextEncoder, type CLIPTextConfig } from '../models/clip/config.js';
import { ModelConfigError } from '../models/errors.js';
import { COMPONENTS } from '../models/registry.js';
import type { CLIPTokenizer } from '../models/tokenizer/clip-tokenizer.js';
import { loadCLIPTokenizer } from '../models/tokenizer/load.js';
import type { UNetConfig } from '../models/unet/config.js';

/** One (tokenizer, text encoder config) pair of a repo. */
export interface TextPair {
  readonly tokenizer: CLIPTokenizer;
  readonly json: JsonObject;
  readonly config: CLIPTextConfig;
}

/** A model's text side, read and checked against its UNet before any weight is. */
export interface TextSide {
  readonly first: TextPair;
  /** SDXL's `tokenizer_2` / `text_encoder_2`; null for one text encoder. */
  readonly second: TextPair | null;
  /** `model_index.json`'s `force_zeros_for_empty_prompt` (diffusers' SDXL default: true). */
  readonly forceZerosForEmptyPrompt: boolean;
}

async function readPair(repo: DiffusersRepo, source: ModelSource, tokenizerFolder: string, encoderFolder: string, signal: AbortSignal | undefined): Promise<TextPair> {
  const tokenizer = await loadCLIPTokenizer(source, tokenizerFolder, signal ? { signal } : {});
  const json = await repo.readConfig(encoderFolder);
  const configFile = `${source.id}/${encoderFolder}/config.json`;
  const config = COMPONENTS.text_encoder.parseConfig(json, configFile);
  checkTokenizerFitsTextEncoder(tokenizer.modelMaxLength, `${source.id}/${tokenizerFolder}/tokenizer_config.json`, config, configFile);
  return { tokenizer, json, config };
}

/**
 * Reads the tokenizers and text-encoder configs the UNet needs: `tokenizer/` and
 * `text_encoder/`, and for a UNet with SDXL's `text_time` embedding also `tokenizer_2/` and
 * `text_encoder_2/` (a `CLIPTextModelWithProjection`). A pair that cannot feed the UNet (its
 * widths, a missing second encoder) fails with `ModelConfigError` or `DiffusersRepoError`
 * naming the file and field, before any download of weights.
 */
export async function readTextSide(repo: DiffusersRepo, source: ModelSource, unet: UNetConfig, signal?: AbortSignal): Promise<TextSide> {
  const first = await readPair(repo, source, 'tokenizer', 'text_encoder', signal);
  const unetFile = `${source.id}/unet/config.json`;
  const added = unet.additionEmbed;
  if (!added) {
    if (unet.crossAttentionDim !== first.config.hiddenSize) {
      throw new ModelConfigError(unetFile, 'cross_attention_dim', unet.crossAttentionDim, `the text encoder's hidden_size (${first.config.hiddenSize}, ${source.id}/text_encoder/config.json)`);
    }
    return { first, second: null, forceZerosForEmptyPrompt: false };
  }
  if (!repo.hasComponent('text_encoder_2') || !repo.hasComponent('tokenizer_2')) {
    throw new DiffusersRepoError(
      'model_index.json',
      `${source.id}/unet/config.json has addition_embed_type "text_time" (SDXL), whose pooled text embedding comes from text_encoder_2/ and tokenizer_2/, which ${source.id}/model_index.json does not list.`,
    );
  }
  const second = await readPair(repo, source, 'tokenizer_2', 'text_encoder_2', signal);
  const secondFile = `${source.id}/text_encoder_2/config.json`;
  if (!second.config.withProjection) {
    throw new ModelConfigError(secondFile, 'architectures', second.json.architectures ?? null, '["CLIPTextModelWithProjection"]: SDXL takes its pooled embedding from text_encoder_2\'s projection');
  }
  const width = first.config.hiddenSize + second.config.hiddenSize;
  if (unet.crossAttentionDim !== width) {
    throw new ModelConfigError(unetFile, 'cross_attention_dim', unet.crossAttentionDim, `the two text encoders' hidden sizes together (${first.config.hiddenSize} + ${second.config.hiddenSize})`);
  }
  if (added.pooledDim !== second.config.projectionDim) {
    throw new ModelConfigError(unetFile, 'projection_class_embeddings_input_dim', added.pooledDim + 6 * added.timeEmbedDim, `text_encoder_2's projection_dim (${second.config.projectionDim}) plus 6 × addition_time_embed_dim (${added.timeEmbedDim})`);
  }
  const force = repo.modelIndex.raw.force_zeros_for_empty_prompt;
  return { first, second, forceZerosForEmptyPrompt: typeof force === 'boolean' ? force : true };
}
