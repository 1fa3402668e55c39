import type { CLIPTokenizer } from '../../models/tokenizer/clip-tokenizer.js';
import { parsePromptAttention, PROMPT_BREAK, type PromptPiece } from './parse-attention.js';

/** What `promptTokensWithWeights` needs of a tokenizer. */
export type PieceTokenizer = Pick<CLIPTokenizer, 'encode'>;

/** A prompt's token ids (no BOS/EOS) and each token's weight, as lpw's `get_prompts_with_weights` makes them. */
export interface WeightedTokens {
  /** The parsed pieces (`parsePromptAttention`). */
  parsed: PromptPiece[];
  ids: number[];
  /** One weight per id: its piece's (float64, as the reference keeps it). */
  weights: number[];
}

/** A1111's `BREAK`: how a break pads the tokens to the next window. */
export interface PromptBreaks {
  /** Tokens per window (75: `modelMaxLength` − 2). */
  room: number;
  /** The id a break pads with (the windows' own padding: `padTokenId`), at weight 1. */
  padId: number;
}

/**
 * lpw's `get_prompts_with_weights` for one prompt: each parsed piece tokenized on its own (no
 * BPE merge across pieces, BOS/EOS dropped), every token taking its piece's weight, the whole
 * cut at `maxTokens` (225 = 75 × 3 in the reference). Throws `PromptWeightSyntaxError` for a
 * malformed `(text:w)`.
 *
 * With `breaks`, A1111's `BREAK` is read (the reference has none): it pads the tokens so far
 * with `padId` to the next multiple of `room`, so the text after it starts a new window, as
 * A1111's `tokenize_line` closes its chunk. As there, a window left exactly full by text is
 * closed by the break without padding, while a break with nothing open (at the start, or right
 * after another break) makes a window of padding alone.
 */
export function promptTokensWithWeights(tokenizer: PieceTokenizer, prompt: string, maxTokens: number, breaks?: PromptBreaks): WeightedTokens {
  const parsed = breaks ? parsePromptAttention(prompt, { breaks: true }) : parsePromptAttention(prompt);
  const ids: number[] = [];
  const weights: number[] = [];
  // Whether the last window holds text not yet closed by a break (A1111's non-empty chunk).
  let open = false;
  for (const piece of parsed) {
    if (piece === PROMPT_BREAK) {
      const { room, padId } = breaks!;
      const pad = ids.length % room === 0 ? (open ? 0 : room) : room - (ids.length % room);
      for (let i = 0; i < pad; i++) {
        ids.push(padId);
        weights.push(1);
      }
      open = false;
    } else {
      const [text, weight] = piece;
      // The reference tokenizes the whole piece before cutting; `maxTokens + 1` ids are enough to know it was cut.
      for (const id of tokenizer.encode(text, maxTokens - ids.length + 1)) {
        ids.push(id);
        weights.push(weight);
        open = true;
      }
    }
    if (ids.length > maxTokens) break;
  }
  return { parsed, ids: ids.slice(0, maxTokens), weights: weights.slice(0, maxTokens) };
}
