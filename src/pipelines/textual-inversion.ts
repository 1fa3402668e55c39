import type { ByteSource } from '../io/byte-source.js';
import { ModelConfigError } from '../models/errors.js';
import { addTextualInversionTokens, type TextualInversionTokens } from '../models/textual-inversion/add-tokens.js';
import { maybeConvertPrompt } from '../models/textual-inversion/convert-prompt.js';
import { readEmbeddingFile } from '../models/textual-inversion/embedding-file.js';
import { EmbeddingFileError } from '../models/textual-inversion/errors.js';
import type { CLIPTokenizer } from '../models/tokenizer/clip-tokenizer.js';
import type { PromptEncoder } from './conditioning.js';
import type { TextSide } from './text-side.js';

/** A textual-inversion embedding file to load with a model. */
export interface EmbeddingFileSpec {
  /** The file's bytes (a `File`, a stream, a Node path, bytes). */
  source: ByteSource;
  /** Its name: shown in errors, and the token of an A1111 file when `token` is not given. */
  file: string;
  /** The token prompts use for it; overrides the file's own (diffusers' `token=`). */
  token?: string;
}

/**
 * Reads `embeddings` and adds their tokens to the model's tokenizer, as diffusers'
 * `load_textual_inversion` does, before any weight is read: a bad file fails the load at once.
 * Returns the text side with the new tokenizer, and the rows the text encoder needs for the
 * added ids (null without embeddings). SDXL embeddings (one tensor per text encoder) are
 * refused with `EmbeddingFileError` for now; so is any file `readEmbeddingFile` or
 * `addTextualInversionTokens` refuses.
 */
export async function readTextualInversions(
  text: TextSide,
  embeddings: readonly EmbeddingFileSpec[],
  signal?: AbortSignal,
): Promise<{ text: TextSide; tokens: TextualInversionTokens | null }> {
  if (embeddings.length === 0) return { text, tokens: null };
  if (text.second) {
    throw new EmbeddingFileError(embeddings[0]!.file, null, 'textual-inversion embeddings are supported for one text encoder (SD 1.x, SD 2.x) only, not yet for SDXL.');
  }
  const { config, tokenizer } = text.first;
  if (tokenizer.vocabSize !== config.vocabSize) {
    // The added ids follow the tokenizer's vocabulary; the encoder's extra rows must follow its table.
    throw new ModelConfigError('text_encoder/config.json', 'vocab_size', config.vocabSize, `the tokenizer's vocabulary size (${tokenizer.vocabSize}), after which textual-inversion tokens are numbered`);
  }
  const hiddenSize = config.hiddenSize;
  const read = await Promise.all(
    embeddings.map((e) => readEmbeddingFile(e.source, { file: e.file, hiddenSize, ...(e.token !== undefined ? { token: e.token } : {}), ...(signal ? { signal } : {}) })),
  );
  const tokens = addTextualInversionTokens(tokenizer, read, hiddenSize);
  return { text: { ...text, first: { ...text.first, tokenizer: tokens.tokenizer } }, tokens };
}

/**
 * `encode` with every prompt converted first (diffusers' `maybe_convert_prompt`, which its
 * pipelines run on the prompt and the negative prompt): a multi-vector token becomes all its tokens.
 */
export function convertingPrompts<T>(encode: PromptEncoder<T>, tokenizer: CLIPTokenizer): PromptEncoder<T> {
  return (job, cfg) =>
    encode(
      {
        ...job,
        prompt: maybeConvertPrompt(job.prompt, tokenizer),
        negativePrompt: job.negativePrompt === null ? null : maybeConvertPrompt(job.negativePrompt, tokenizer),
      },
      cfg,
    );
}
