import type { ByteSource } from '../io/byte-source.js';
import { ModelConfigError } from '../models/errors.js';
import { addTextualInversionTokens, type TextualInversionTokens } from '../models/textual-inversion/add-tokens.js';
import { maybeConvertPrompt } from '../models/textual-inversion/convert-prompt.js';
import { readTextualInversionFile } from '../models/textual-inversion/embedding-file.js';
import { EmbeddingFileError } from '../models/textual-inversion/errors.js';
import type { CLIPTokenizer } from '../models/tokenizer/clip-tokenizer.js';
import type { PromptEncoder } from './conditioning.js';
import type { TextPair, TextSide } from './text-side.js';

/** A textual-inversion embedding file to load with a model. */
export interface EmbeddingFileSpec {
  /** The file's bytes (a `File`, a stream, a Node path, bytes). */
  source: ByteSource;
  /** Its name: shown in errors, and the token of an A1111 file when `token` is not given. */
  file: string;
  /** The token prompts use for it; overrides the file's own (diffusers' `token=`). */
  token?: string;
}

/** What loading embeddings makes of a model's text side. */
export interface TextualInversionLoad {
  /** The text side with the tokens added to its tokenizer(s). */
  readonly text: TextSide;
  /** `text_encoder`'s rows for the added ids; null without embeddings. */
  readonly tokens: TextualInversionTokens | null;
  /** SDXL: `text_encoder_2`'s rows for the ids added to `tokenizer_2`; null without embeddings or a second encoder. */
  readonly tokens2: TextualInversionTokens | null;
}

/**
 * Reads `embeddings` and adds their tokens to the model's tokenizer, as diffusers'
 * `load_textual_inversion` does, before any weight is read: a bad file fails the load at once.
 * An SDXL model takes SDXL files (`clip_l`, `clip_g`): each token goes into both tokenizers,
 * `clip_l`'s vectors become `text_encoder`'s rows and `clip_g`'s `text_encoder_2`'s, as diffusers'
 * two calls with `text_encoder=` / `tokenizer=` do. A one-encoder file on an SDXL model, or an
 * SDXL file on a one-encoder model, is refused with `EmbeddingFileError` saying which kind of
 * model each fits; so is any file `readTextualInversionFile` or `addTextualInversionTokens` refuses.
 */
export async function readTextualInversions(text: TextSide, embeddings: readonly EmbeddingFileSpec[], signal?: AbortSignal): Promise<TextualInversionLoad> {
  if (embeddings.length === 0) return { text, tokens: null, tokens2: null };
  checkVocabulary(text.first, 'text_encoder');
  if (text.second) checkVocabulary(text.second, 'text_encoder_2');
  const hiddenSize = text.first.config.hiddenSize;
  const sdxlHiddenSizes = text.second ? { clipL: hiddenSize, clipG: text.second.config.hiddenSize } : undefined;
  const read = await Promise.all(
    embeddings.map((e) =>
      readTextualInversionFile(e.source, {
        file: e.file,
        ...(text.second ? {} : { hiddenSize }),
        ...(sdxlHiddenSizes ? { sdxlHiddenSizes } : {}),
        ...(e.token !== undefined ? { token: e.token } : {}),
        ...(signal ? { signal } : {}),
      }),
    ),
  );
  if (!text.second) {
    const single = read.map((r) => {
      if (r.kind === 'single') return r.embedding;
      throw new EmbeddingFileError(
        r.embedding.file,
        null,
        'it is an SDXL embedding (clip_l and clip_g, one per text encoder), which fits SDXL models; this model has one text encoder (SD 1.x, SD 2.x) and needs a one-tensor embedding.',
      );
    });
    const tokens = addTextualInversionTokens(text.first.tokenizer, single, hiddenSize);
    return { text: { ...text, first: { ...text.first, tokenizer: tokens.tokenizer } }, tokens, tokens2: null };
  }
  const sdxl = read.map((r) => {
    if (r.kind === 'sdxl') return r.embedding;
    throw new EmbeddingFileError(
      r.embedding.file,
      r.embedding.key,
      'it is a one-encoder embedding (one tensor), which fits SD 1.x and SD 2.x models; this model is SDXL, with two text encoders, and needs an SDXL embedding (clip_l and clip_g).',
    );
  });
  const tokens = addTextualInversionTokens(text.first.tokenizer, sdxl.map((e) => e.clipL), hiddenSize);
  const tokens2 = addTextualInversionTokens(text.second.tokenizer, sdxl.map((e) => e.clipG), text.second.config.hiddenSize);
  return {
    text: { ...text, first: { ...text.first, tokenizer: tokens.tokenizer }, second: { ...text.second, tokenizer: tokens2.tokenizer } },
    tokens,
    tokens2,
  };
}

/** The added ids follow the tokenizer's vocabulary; the encoder's extra rows must follow its table. */
function checkVocabulary(pair: TextPair, encoder: 'text_encoder' | 'text_encoder_2'): void {
  const { config, tokenizer } = pair;
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new ModelConfigError(`${encoder}/config.json`, 'vocab_size', config.vocabSize, `the tokenizer's vocabulary size (${tokenizer.vocabSize}), after which textual-inversion tokens are numbered`);
  }
}

/**
 * `encode` with every prompt converted first (diffusers' `maybe_convert_prompt`, which its
 * pipelines run on the prompt and the negative prompt): a multi-vector token becomes all its
 * tokens. SDXL's `prompt2` / `negativePrompt2`, which go to the second encoder, are converted
 * with `tokenizer2`, as diffusers converts each prompt with its own encoder's tokenizer.
 */
export function convertingPrompts<T>(encode: PromptEncoder<T>, tokenizer: CLIPTokenizer, tokenizer2?: CLIPTokenizer): PromptEncoder<T> {
  const convert = (prompt: string | null | undefined, t: CLIPTokenizer): string | null | undefined => (prompt === null || prompt === undefined ? prompt : maybeConvertPrompt(prompt, t));
  return (job, cfg) =>
    encode(
      {
        ...job,
        prompt: maybeConvertPrompt(job.prompt, tokenizer),
        negativePrompt: job.negativePrompt === null ? null : maybeConvertPrompt(job.negativePrompt, tokenizer),
        ...(tokenizer2 && job.prompt2 !== undefined ? { prompt2: convert(job.prompt2, tokenizer2) } : {}),
        ...(tokenizer2 && job.negativePrompt2 !== undefined ? { negativePrompt2: convert(job.negativePrompt2, tokenizer2) } : {}),
      },
      cfg,
    );
}
