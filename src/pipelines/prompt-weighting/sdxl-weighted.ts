import { encodeWeightedPrompts, prepareWeightedPrompts, type WeightedPromptEmbeds, type WeightedPromptHost } from './weighted-prompts.js';
import type { PieceTokenizer } from './weighted-tokens.js';
import type { WindowTokenizer } from './windows.js';

type WeightedTokenizer = PieceTokenizer & WindowTokenizer;

/** What A1111 prompt syntax needs on SDXL: both tokenizers, and the host round trip of the weighting. */
export interface SdxlA1111Support<T> extends Omit<WeightedPromptHost<T>, 'encodeText'> {
  tokenizer: WeightedTokenizer;
  tokenizer2: WeightedTokenizer;
}

/** SDXL's two encoders, as the weighted path runs them. */
export interface SdxlWindowEncoders<T> {
  /** `text_encoder`'s penultimate hidden states [n, 77, D1] of n windows. */
  encode(inputIds: Int32Array, n: number): T;
  /** `text_encoder_2`'s penultimate hidden states [n, 77, D2] and `text_embeds` [n, P] of n windows. */
  encode2(inputIds: Int32Array, n: number): { hiddenStates: T; textEmbeds: T };
}

/** Both encoders' weighted states of a batch, and the pooled embedding. */
export interface SdxlWeightedEmbeds<T> {
  /** [rows · k, 77] windows of each tokenizer. */
  inputIds: Int32Array;
  inputIds2: Int32Array;
  /** [rows, 77k, D1] and [rows, 77k, D2], each weighted and mean-restored on its own. */
  hidden: T;
  hidden2: T;
  /** [rows, P]: `text_embeds` of each row's first window, unweighted. */
  pooled: T;
}

/**
 * A1111's prompt syntax on SDXL, as A1111 runs its two embedders: each encoder reads its rows
 * (`rows2`: `prompt2` where given) with lpw's parsing, windows and mean-restoring weighting
 * (`encodeWeightedPrompts`, `BREAK` read) on its penultimate hidden states, both with the same
 * window count (the larger one needs), so the states can be joined feature-wise. The pooled
 * embedding is the first window's `text_embeds`, before weighting (A1111's `zs[0].pooled`).
 */
export async function encodeWeightedSdxlPrompts<T>(rows: readonly string[], rows2: readonly string[], encoders: SdxlWindowEncoders<T>, support: SdxlA1111Support<T>): Promise<SdxlWeightedEmbeds<T>> {
  const k = Math.max(prepareWeightedPrompts(support.tokenizer, rows, { breaks: true }).windows, prepareWeightedPrompts(support.tokenizer2, rows2, { breaks: true }).windows);
  const options = { breaks: true, minWindows: k };
  const first = await encodeWeightedPrompts(support.tokenizer, rows, { ...support, encodeText: (ids, n) => encoders.encode(ids, n) }, options);
  let textEmbeds: T | null = null;
  let second: WeightedPromptEmbeds<T> | null = null;
  try {
    second = await encodeWeightedPrompts(
      support.tokenizer2,
      rows2,
      {
        ...support,
        encodeText: (ids, n) => {
          const out = encoders.encode2(ids, n);
          textEmbeds = out.textEmbeds;
          return out.hiddenStates;
        },
      },
      options,
    );
    const all = textEmbeds!;
    textEmbeds = null;
    const pooled = k === 1 ? all : await firstWindows(all, rows2.length, k, support);
    return { inputIds: first.batch.inputIds, inputIds2: second.batch.inputIds, hidden: first.embeds, hidden2: second.embeds, pooled };
  } catch (err) {
    support.release(first.embeds);
    if (second) support.release(second.embeds);
    if (textEmbeds) support.release(textEmbeds);
    throw err;
  }
}

/** [rows, P]: row r's window 0 of `x` [rows · k, P]. Consumes `x`. */
async function firstWindows<T>(x: T, rows: number, k: number, support: SdxlA1111Support<T>): Promise<T> {
  try {
    const all = await support.read(x);
    const P = all.length / (rows * k);
    const out = new Float32Array(rows * P);
    for (let r = 0; r < rows; r++) out.set(all.subarray(r * k * P, r * k * P + P), r * P);
    return support.upload(out, [rows, P], x);
  } finally {
    support.release(x);
  }
}
