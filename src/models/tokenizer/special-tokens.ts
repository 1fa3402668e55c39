import { describeValue } from '../../api/errors.js';
import { CONFIG_LIMITS } from '../config-reader.js';
import { TokenizerFileError } from './errors.js';

/** The special tokens and length limit of a CLIP tokenizer, as ids. */
export interface SpecialTokens {
  bosTokenId: number;
  eosTokenId: number;
  padTokenId: number;
  /** The longest `input_ids` row, specials included: `model_max_length`, 77 for CLIP. */
  modelMaxLength: number;
}

/** CLIPTokenizer's defaults, for configs that leave a token out. */
const DEFAULT_TOKENS = { bos_token: '<|startoftext|>', eos_token: '<|endoftext|>', pad_token: '<|endoftext|>' } as const;

const DEFAULT_MODEL_MAX_LENGTH = 77;

/** One of the JSON files that can name special tokens, with the name shown in errors. */
export interface SpecialTokenSource {
  json: unknown;
  file: string;
}

/**
 * Resolves `bos_token`, `eos_token` and `pad_token` to ids. `special_tokens_map.json` wins over
 * `tokenizer_config.json` where both name a token, as in transformers' loader. The pad token is
 * the one that differs between model families: `<|endoftext|>` (49407) for Stable Diffusion 1.x,
 * `!` (0) for 2.x and SD-Turbo. A token may be a string or an `AddedToken` object with `content`.
 */
export function resolveSpecialTokens(
  vocab: ReadonlyMap<string, number>,
  vocabFile: string,
  config: SpecialTokenSource | null,
  specialTokensMap: SpecialTokenSource | null,
): SpecialTokens {
  const sources = [specialTokensMap, config].filter((s): s is SpecialTokenSource => s !== null && s.json !== null && s.json !== undefined);
  for (const source of sources) {
    if (typeof source.json !== 'object' || Array.isArray(source.json)) {
      throw new TokenizerFileError(source.file, `expected a JSON object, found ${describeValue(source.json)}.`);
    }
  }
  const idOf = (field: keyof typeof DEFAULT_TOKENS): number => {
    for (const source of sources) {
      const raw = (source.json as Record<string, unknown>)[field];
      if (raw === undefined || raw === null) continue;
      const token = tokenContent(raw);
      if (token === null) throw new TokenizerFileError(source.file, `${field} is ${describeValue(raw)}; expected a string or an object with a string "content".`);
      const id = vocab.get(token);
      if (id === undefined) throw new TokenizerFileError(source.file, `${field} ${JSON.stringify(token)} is not in ${vocabFile}.`);
      return id;
    }
    const id = vocab.get(DEFAULT_TOKENS[field]);
    if (id === undefined) throw new TokenizerFileError(vocabFile, `no file names ${field}, and the default ${JSON.stringify(DEFAULT_TOKENS[field])} is not in the vocabulary.`);
    return id;
  };
  return { bosTokenId: idOf('bos_token'), eosTokenId: idOf('eos_token'), padTokenId: idOf('pad_token'), modelMaxLength: readModelMaxLength(config) };
}

function tokenContent(raw: unknown): string | null {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'object' && raw !== null && typeof (raw as { content?: unknown }).content === 'string') return (raw as { content: string }).content;
  return null;
}

/**
 * transformers' `VERY_LARGE_INTEGER` (`int(1e30)`) and `LARGE_INTEGER` (`int(1e20)`): what it
 * writes as `model_max_length` when a tokenizer states no limit. Both parse to these doubles.
 */
const NO_LIMIT_PLACEHOLDERS: readonly number[] = [1e30, 1e20];

/**
 * `model_max_length`: an integer from 2 to `CONFIG_LIMITS.maxPositionEmbeddings` (it sizes every
 * `input_ids` row). transformers' "no limit" placeholders mean CLIP's own context length, 77,
 * the `max_position_embeddings` of every CLIP text encoder; any other value out of range is
 * refused. Whether it fits a given text encoder is `checkTokenizerFitsTextEncoder`'s check.
 */
function readModelMaxLength(config: SpecialTokenSource | null): number {
  const raw = config && typeof config.json === 'object' && config.json !== null ? (config.json as Record<string, unknown>).model_max_length : undefined;
  if (raw === undefined || raw === null) return DEFAULT_MODEL_MAX_LENGTH;
  if (typeof raw === 'number' && NO_LIMIT_PLACEHOLDERS.includes(raw)) return DEFAULT_MODEL_MAX_LENGTH;
  const max = CONFIG_LIMITS.maxPositionEmbeddings;
  if (!Number.isSafeInteger(raw) || (raw as number) < 2 || (raw as number) > max) {
    throw new TokenizerFileError(config!.file, `model_max_length is ${describeValue(raw)}; expected an integer from 2 to ${max} (77 for CLIP), or transformers' no-limit placeholder 1e30.`);
  }
  return raw as number;
}
