/**
 * AUTOMATIC1111's emphasis syntax, parsed as diffusers' community `lpw_stable_diffusion`
 * (`parse_prompt_attention`) parses it: `(x)` ×1.1, `[x]` ÷1.1, `(x:w)` ×w, nesting multiplies,
 * `\(` `\)` `\[` `\]` `\\` are literal, an unclosed bracket runs to the end, a stray closing one
 * is text, and neighbouring pieces of equal weight merge. With `breaks`, also A1111's `BREAK`.
 */

/** A piece of prompt text and its weight (a float64 product, as the reference keeps it). */
export type WeightedText = [text: string, weight: number];

/** A1111's `BREAK`: the current 75-token window ends here, padded, and the next text starts a new one. */
export const PROMPT_BREAK = 'BREAK';

/** A parsed piece: weighted text, or a `BREAK`. */
export type PromptPiece = WeightedText | typeof PROMPT_BREAK;

/**
 * A1111's `BREAK` keyword: the uppercase word on its own (`\bBREAK\b`), with the whitespace
 * around it. `breakfast` and `break` are text.
 */
const BREAK_WORD = /\s*\bBREAK\b\s*/;

/** Thrown for `(x:w)` whose `w` matches the weight pattern but is not a number (`1.2.3`). */
export class PromptWeightSyntaxError extends Error {
  constructor(readonly weight: string) {
    super(`"(text:${weight})": "${weight}" is not a number`);
    this.name = 'PromptWeightSyntaxError';
  }
}

// The reference's alternatives, in its order: escapes, a lone backslash, brackets, ":w)",
// closing brackets, a run of plain text, a lone colon.
const TOKEN = /\\\(|\\\)|\\\[|\\]|\\\\|\\|\(|\[|:([+-]?[.\d]+)\)|\)|]|[^\\()[\]:]+|:/g;

const ROUND = 1.1;
const SQUARE = 1 / 1.1;

/**
 * The pieces of `text` with their weights; `[["", 1]]` for an empty prompt.
 *
 * Without `breaks` this is the reference's parser exactly, which has no `BREAK` (lpw_stable_diffusion
 * reads it as the word). With `breaks: true`, A1111's `BREAK` in plain text becomes a
 * `PROMPT_BREAK` piece, as A1111's own parser splits it, but at any bracket depth: A1111 lets an
 * enclosing bracket's weight multiply its marker, after which it no longer acts as a break (and
 * is tokenized as the word "BREAK" at a negative weight), which no prompt means.
 */
export function parsePromptAttention(text: string): WeightedText[];
export function parsePromptAttention(text: string, options: { breaks: boolean }): PromptPiece[];
export function parsePromptAttention(text: string, options: { breaks: boolean } = { breaks: false }): PromptPiece[] {
  const res: PromptPiece[] = [];
  const round: number[] = [];
  const square: number[] = [];
  const multiplyFrom = (start: number, by: number) => {
    for (let p = start; p < res.length; p++) {
      const piece = res[p]!;
      if (piece !== PROMPT_BREAK) piece[1] *= by;
    }
  };
  const pushText = (piece: string) => {
    if (!options.breaks) {
      res.push([piece, 1]);
      return;
    }
    piece.split(BREAK_WORD).forEach((part, i) => {
      if (i > 0) res.push(PROMPT_BREAK);
      res.push([part, 1]);
    });
  };
  for (const m of text.matchAll(TOKEN)) {
    const piece = m[0];
    const weight = m[1];
    if (piece.startsWith('\\')) res.push([piece.slice(1), 1]);
    else if (piece === '(') round.push(res.length);
    else if (piece === '[') square.push(res.length);
    else if (weight !== undefined && round.length > 0) multiplyFrom(round.pop()!, parseWeight(weight));
    else if (piece === ')' && round.length > 0) multiplyFrom(round.pop()!, ROUND);
    else if (piece === ']' && square.length > 0) multiplyFrom(square.pop()!, SQUARE);
    else pushText(piece);
  }
  for (const start of round) multiplyFrom(start, ROUND);
  for (const start of square) multiplyFrom(start, SQUARE);
  if (res.length === 0) return [['', 1]];
  const merged: PromptPiece[] = [res[0]!];
  for (const piece of res.slice(1)) {
    const last = merged[merged.length - 1]!;
    if (last !== PROMPT_BREAK && piece !== PROMPT_BREAK && last[1] === piece[1]) last[0] += piece[0];
    else merged.push(piece);
  }
  return merged;
}

/** Python's `float()` of a `[+-]?[.\d]+` match: digits with at most one point, and at least one digit. */
function parseWeight(w: string): number {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(w)) throw new PromptWeightSyntaxError(w);
  return Number(w);
}
