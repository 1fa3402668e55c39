import { RequestValidationError } from '../api/errors.js';
import { plainPromptText } from './prompt-weighting/plain-prompt.js';
import { encodeWeightedPrompts, type WeightedPromptHost } from './prompt-weighting/weighted-prompts.js';
import type { PieceTokenizer } from './prompt-weighting/weighted-tokens.js';
import type { WindowTokenizer } from './prompt-weighting/windows.js';
import type { TextToImageJob } from './text-to-image.js';

/** Turns prompts into token ids [B, 77] (padding and truncation per the model's tokenizer). */
export type PromptTokenizer = (prompts: readonly string[]) => Int32Array;

/**
 * What the UNet is conditioned on for one job, row for row with its batch: under guidance the B
 * negative rows, then the B prompt rows. Tensors are owned by the loop, which releases them.
 */
export interface UNetConditioning<T> {
  /**
   * The token ids the (first) text encoder got, [rows, 77]. With an SDXL negative prompt of
   * zeros (`force_zeros_for_empty_prompt`), only the B prompt rows: nothing else was encoded.
   * With `promptSyntax: 'a1111'`, the windows: [rows · k, 77], row r's k windows in turn.
   */
  inputIds: Int32Array;
  /** SDXL: the same rows from `tokenizer_2`; null for one text encoder. */
  inputIds2: Int32Array | null;
  /**
   * diffusers' `prompt_embeds` [rows, 77, D]: `last_hidden_state`, or SDXL's two penultimate
   * states concatenated. With `promptSyntax: 'a1111'`, [rows, 77 · k, D]: the k windows joined, weighted.
   */
  encoderHiddenStates: T;
  /** SDXL: `pooled_prompt_embeds` [rows, P], the UNet's `text_embeds`; else null. */
  textEmbeds: T | null;
  /** SDXL: `add_time_ids`, 6 values per row, the UNet's `time_ids`; else null. */
  timeIds: number[] | null;
}

/** Encodes a job's prompts for the UNet: `cfg` adds the negative rows. */
export type PromptEncoder<T> = (job: TextToImageJob, cfg: boolean) => Promise<UNetConditioning<T>>;

/**
 * The rows of a job's prompts: B copies of the negative prompt under guidance (`""` when it has
 * none), then B of the prompt.
 */
export function promptRows(job: Pick<TextToImageJob, 'prompt' | 'negativePrompt' | 'numImages'>, cfg: boolean): string[] {
  const B = job.numImages;
  return cfg ? [...Array<string>(B).fill(job.negativePrompt ?? ''), ...Array<string>(B).fill(job.prompt)] : Array<string>(B).fill(job.prompt);
}

/**
 * What the A1111 prompt syntax needs besides the text encoder: the tokenizer, and a way to
 * move the embeddings through the host to weight them (lpw_stable_diffusion's weighting).
 */
export interface A1111PromptSupport<T> extends Omit<WeightedPromptHost<T>, 'encodeText'> {
  tokenizer: PieceTokenizer & WindowTokenizer;
}

/**
 * Stable Diffusion's conditioning (`StableDiffusionPipeline.encode_prompt` without clip skip):
 * every row tokenized and encoded in one batched call, `last_hidden_state` as `prompt_embeds`.
 * A job with `promptSyntax: 'a1111'` is encoded as diffusers' community `lpw_stable_diffusion`
 * does (`encodeWeightedPrompts`: emphasis, up to 3 windows), which needs `a1111`; without it
 * such a job is refused naming `promptSyntax`.
 */
export function clipPromptEncoder<T>(tokenize: PromptTokenizer, encodeText: (inputIds: Int32Array, rows: number) => Promise<T> | T, a1111?: A1111PromptSupport<T>): PromptEncoder<T> {
  return async (job, cfg) => {
    const rows = promptRows(job, cfg);
    let texts = rows;
    if (job.promptSyntax === 'a1111') {
      if (!a1111) throw new RequestValidationError('promptSyntax', job.promptSyntax, "'plain': this executor's prompt encoding does not parse A1111 prompt syntax");
      const plain = rows.map((row) => plainPromptText(row, a1111.tokenizer));
      if (plain.some((t) => t === null)) {
        const { batch, embeds } = await encodeWeightedPrompts(a1111.tokenizer, rows, { ...a1111, encodeText }, { breaks: true });
        return { inputIds: batch.inputIds, inputIds2: null, encoderHiddenStates: embeds, textEmbeds: null, timeIds: null };
      }
      texts = plain as string[];
    }
    const inputIds = tokenize(texts);
    return { inputIds, inputIds2: null, encoderHiddenStates: await encodeText(inputIds, rows.length), textEmbeds: null, timeIds: null };
  };
}
