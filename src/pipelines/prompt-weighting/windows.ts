import type { CLIPTokenizer } from '../../models/tokenizer/clip-tokenizer.js';
import type { WeightedTokens } from './weighted-tokens.js';

/** What the windows need of a tokenizer: its special ids and its window length (77). */
export type WindowTokenizer = Pick<CLIPTokenizer, 'bosTokenId' | 'eosTokenId' | 'padTokenId' | 'modelMaxLength'>;

/** lpw's `max_embeddings_multiples`: prompts run to at most 3 windows (225 tokens). */
export const MAX_WINDOWS = 3;

/**
 * How many windows of `modelMaxLength − 2` tokens a batch needs: enough for its longest row
 * (prompt and negative rows alike share it), at least 1, at most `maxWindows`. lpw's
 * `max(1, min(maxWindows, (n − 1) // 75 + 1))`.
 */
export function windowCount(tokenCounts: readonly number[], tokenizer: WindowTokenizer, maxWindows = MAX_WINDOWS): number {
  const n = Math.max(0, ...tokenCounts);
  return Math.max(1, Math.min(maxWindows, Math.floor((n - 1) / (tokenizer.modelMaxLength - 2)) + 1));
}

/** One row's windows: their ids and the weight of every position. */
export interface PromptWindows {
  /** [k, L] with L = `modelMaxLength`: what the text encoder gets, window by window. */
  ids: Int32Array;
  /** [k·L]: each position's weight, as float32 (lpw's tensor): 1 on BOS, EOS and padding. */
  weights: Float32Array;
}

/**
 * lpw's `pad_tokens_and_weights` (`no_boseos_middle` false) and the chunking of
 * `get_unweighted_text_embeddings`: the row `[BOS] + ids + [pad] × (75k − n) + [EOS]`, window c
 * its entries 75c … 75c + 76 with BOS put first and EOS last, i.e. `[BOS] + entries 75c + 1 …
 * 75c + 75 + [EOS]`. Where pad is not EOS (SD 2.x's "!"), padding therefore comes before the
 * final EOS, unlike `CLIPTokenizer.call`'s rows: as the reference has it. Window c's weights are
 * `[1, weights of its tokens…, 1]`, then 1 to its end.
 */
export function promptWindows(tokens: Pick<WeightedTokens, 'ids' | 'weights'>, k: number, tokenizer: WindowTokenizer): PromptWindows {
  const L = tokenizer.modelMaxLength;
  const room = L - 2;
  const { bosTokenId: bos, eosTokenId: eos, padTokenId: pad } = tokenizer;
  if (tokens.ids.length > room * k) throw new RangeError(`promptWindows: ${tokens.ids.length} tokens do not fit in ${k} windows of ${room}`);
  const ids = new Int32Array(k * L).fill(pad);
  const weights = new Float32Array(k * L).fill(1);
  for (let c = 0; c < k; c++) {
    const start = c * room;
    const end = Math.min(tokens.ids.length, start + room);
    ids[c * L] = bos;
    ids.set(tokens.ids.slice(start, end), c * L + 1);
    ids[(c + 1) * L - 1] = eos;
    for (let i = start; i < end; i++) weights[c * L + 1 + (i - start)] = tokens.weights[i]!;
  }
  return { ids, weights };
}
