import { RequestValidationError } from '../api/errors.js';
import type { PromptEncoder, PromptTokenizer, UNetConditioning } from './conditioning.js';
import { plainPromptText } from './prompt-weighting/plain-prompt.js';
import { encodeWeightedSdxlPrompts, type SdxlA1111Support } from './prompt-weighting/sdxl-weighted.js';
import type { TextToImageJob } from './text-to-image.js';

/** SDXL's micro-conditioning, in pixels as [height, width] and [top, left] (diffusers' call arguments). */
export interface MicroConditioning {
  originalSize: readonly [number, number];
  cropsCoordsTopLeft: readonly [number, number];
  targetSize: readonly [number, number];
}

/** diffusers' defaults: the image's own size, uncropped. */
export function defaultMicroConditioning(height: number, width: number): MicroConditioning {
  return { originalSize: [height, width], cropsCoordsTopLeft: [0, 0], targetSize: [height, width] };
}

/** One `add_time_ids` row: `original_size + crops_coords_top_left + target_size`. */
export function addTimeIdsRow(m: MicroConditioning): number[] {
  return [...m.originalSize, ...m.cropsCoordsTopLeft, ...m.targetSize];
}

/** SDXL's two (tokenizer, text encoder) pairs and the tensor plumbing its conditioning needs. */
export interface SdxlTextEncoders<T> {
  tokenize: PromptTokenizer;
  tokenize2: PromptTokenizer;
  /** `text_encoder`'s penultimate hidden states (`hidden_states[-2]`) [rows, 77, D1]. */
  encode(inputIds: Int32Array, rows: number): T;
  /** `text_encoder_2`'s penultimate hidden states [rows, 77, D2] and `text_embeds` [rows, P]. */
  encode2(inputIds: Int32Array, rows: number): { hiddenStates: T; textEmbeds: T };
  /** [rows, L, D1] and [rows, L, D2] → [rows, L, D1 + D2]. */
  concatFeatures(a: T, b: T): T;
  /** [a; b] along dim 0. */
  concatBatch(a: T, b: T): T;
  /** Zeros of `x`'s shape. */
  zerosLike(x: T): T;
  release(x: T): void;
  /** `model_index.json`'s `force_zeros_for_empty_prompt`: no negative prompt under guidance means zeros, not `""` encoded. */
  forceZerosForEmptyPrompt: boolean;
  /** What `promptSyntax: 'a1111'` needs (see `encodeWeightedSdxlPrompts`); without it such a job is refused. */
  a1111?: SdxlA1111Support<T>;
}

/**
 * `StableDiffusionXLPipeline.encode_prompt` (no clip skip) and its `add_time_ids`: each prompt
 * goes through both encoders (`prompt2` to the second, else the prompt), their penultimate
 * states are concatenated, `text_encoder_2`'s projection is the pooled embedding. Under
 * guidance the negative rows come first: zeros when the job has no negative prompt and the
 * model forces zeros, else the negative prompt (`""` when none) encoded like the prompt.
 * With `promptSyntax: 'a1111'`, A1111's emphasis, long prompts and `BREAK` on both encoders
 * (`encodeWeightedSdxlPrompts`).
 */
export function sdxlPromptEncoder<T>(e: SdxlTextEncoders<T>): PromptEncoder<T> {
  return async (job: TextToImageJob, cfg: boolean): Promise<UNetConditioning<T>> => {
    const B = job.numImages;
    const zeroNegative = cfg && job.negativePrompt === null && e.forceZerosForEmptyPrompt;
    const rows: string[] = [];
    const rows2: string[] = [];
    if (cfg && !zeroNegative) {
      // diffusers: `negative_prompt = negative_prompt or ""`, `negative_prompt_2 = negative_prompt_2 or negative_prompt`.
      const negative = job.negativePrompt || '';
      rows.push(...Array<string>(B).fill(negative));
      rows2.push(...Array<string>(B).fill(job.negativePrompt2 || negative));
    }
    rows.push(...Array<string>(B).fill(job.prompt));
    rows2.push(...Array<string>(B).fill(job.prompt2 || job.prompt));
    const encoded = job.promptSyntax === 'a1111' ? await encodeA1111(e, rows, rows2) : encodePlain(e, rows, rows2);
    const { inputIds, inputIds2 } = encoded;
    let hidden = e.concatFeatures(encoded.hidden, encoded.hidden2);
    e.release(encoded.hidden);
    e.release(encoded.hidden2);
    let pooled = encoded.pooled;
    if (zeroNegative) {
      hidden = withZeroRowsFirst(e, hidden);
      pooled = withZeroRowsFirst(e, pooled);
    }
    const row = addTimeIdsRow(job.microConditioning ?? defaultMicroConditioning(job.height, job.width));
    const timeIds = Array.from({ length: cfg ? 2 * B : B }, () => row).flat();
    return { inputIds, inputIds2, encoderHiddenStates: hidden, textEmbeds: pooled, timeIds };
  };
}

/** Both encoders' states of the rows, apart, and the pooled embedding. */
interface EncodedRows<T> {
  inputIds: Int32Array;
  inputIds2: Int32Array;
  hidden: T;
  hidden2: T;
  pooled: T;
}

function encodePlain<T>(e: SdxlTextEncoders<T>, rows: readonly string[], rows2: readonly string[]): EncodedRows<T> {
  const inputIds = e.tokenize(rows);
  const inputIds2 = e.tokenize2(rows2);
  const hidden = e.encode(inputIds, rows.length);
  try {
    const second = e.encode2(inputIds2, rows2.length);
    return { inputIds, inputIds2, hidden, hidden2: second.hiddenStates, pooled: second.textEmbeds };
  } catch (err) {
    e.release(hidden);
    throw err;
  }
}

/**
 * A1111 prompt syntax: rows that it leaves plain for both tokenizers (one piece of weight 1
 * within one window) take the plain path, bit for bit; a batch with any other row is weighted.
 */
async function encodeA1111<T>(e: SdxlTextEncoders<T>, rows: readonly string[], rows2: readonly string[]): Promise<EncodedRows<T>> {
  const a1111 = e.a1111;
  if (!a1111) throw new RequestValidationError('promptSyntax', 'a1111', "'plain': this executor's prompt encoding does not parse A1111 prompt syntax");
  const plain = rows.map((row) => plainPromptText(row, a1111.tokenizer));
  const plain2 = rows2.map((row) => plainPromptText(row, a1111.tokenizer2));
  if (plain.every((t) => t !== null) && plain2.every((t) => t !== null)) return encodePlain(e, plain as string[], plain2 as string[]);
  const w = await encodeWeightedSdxlPrompts(rows, rows2, e, a1111);
  return { inputIds: w.inputIds, inputIds2: w.inputIds2, hidden: w.hidden, hidden2: w.hidden2, pooled: w.pooled };
}

/** [zeros; x]: the zeroed negative rows ahead of the prompt's. Consumes `x`. */
function withZeroRowsFirst<T>(e: SdxlTextEncoders<T>, x: T): T {
  const zeros = e.zerosLike(x);
  const out = e.concatBatch(zeros, x);
  e.release(zeros);
  e.release(x);
  return out;
}
