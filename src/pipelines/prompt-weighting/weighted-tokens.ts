import type { CLIPTokenizer } from '../../models/tokenizer/clip-tokenizer.js';
import { parsePromptAttention, type WeightedText } from './parse-attention.js';

/** What `promptTokensWithWeights` needs of a tokenizer. */
export type PieceTokenizer = Pick<CLIPTokenizer, 'encode'>;

/** A prompt's token ids (no BOS/EOS) and each token's weight, as lpw's `get_prompts_with_weights` makes them. */
export interface WeightedTokens {
  /** The parsed pieces (`parsePromptAttention`). */
  parsed: WeightedText[];
  ids: number[];
  /** One weight per id: its piece's (float64, as the reference keeps it). */
  weights: number[];
}

/**
 * lpw's `get_prompts_with_weights` for one prompt: each parsed piece tokenized on its own (no
 * BPE merge across pieces, BOS/EOS dropped), every token taking its piece's weight, the whole
 * cut at `maxTokens` (225 = 75 × 3 in the reference). Throws `PromptWeightSyntaxError` for a
 * malformed `(text:w)`.
 */
export function promptTokensWithWeights(tokenizer: PieceTokenizer, prompt: string, maxTokens: number): WeightedTokens {
  const parsed = parsePromptAttention(prompt);
  const ids: number[] = [];
  const weights: number[] = [];
  for (const [text, weight] of parsed) {
    // The reference tokenizes the whole piece before cutting; `maxTokens + 1` ids are enough to know it was cut.
    for (const id of tokenizer.encode(text, maxTokens - ids.length + 1)) {
      ids.push(id);
      weights.push(weight);
    }
    if (ids.length > maxTokens) break;
  }
  return { parsed, ids: ids.slice(0, maxTokens), weights: weights.slice(0, maxTokens) };
}
