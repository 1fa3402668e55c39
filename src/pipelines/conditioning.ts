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
   */
  inputIds: Int32Array;
  /** SDXL: the same rows from `tokenizer_2`; null for one text encoder. */
  inputIds2: Int32Array | null;
  /** diffusers' `prompt_embeds` [rows, 77, D]: `last_hidden_state`, or SDXL's two penultimate states concatenated. */
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
 * Stable Diffusion's conditioning (`StableDiffusionPipeline.encode_prompt` without clip skip):
 * every row tokenized and encoded in one batched call, `last_hidden_state` as `prompt_embeds`.
 */
export function clipPromptEncoder<T>(tokenize: PromptTokenizer, encodeText: (inputIds: Int32Array, rows: number) => Promise<T> | T): PromptEncoder<T> {
  return async (job, cfg) => {
    const rows = promptRows(job, cfg);
    const inputIds = tokenize(rows);
    return { inputIds, inputIds2: null, encoderHiddenStates: await encodeText(inputIds, rows.length), textEmbeds: null, timeIds: null };
  };
}
