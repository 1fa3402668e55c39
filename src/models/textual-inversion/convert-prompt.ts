import type { CLIPTokenizer } from '../tokenizer/clip-tokenizer.js';

/** The tokens of an embedding of `numVectors` vectors: `token`, `token_1`, …, `token_{n−1}` (diffusers' naming). */
export function multiVectorTokens(token: string, numVectors: number): string[] {
  return Array.from({ length: numVectors }, (_, i) => (i === 0 ? token : `${token}_${i}`));
}

/**
 * diffusers' `maybe_convert_prompt`: every added token of `tokenizer` that the prompt uses, and
 * that has continuation tokens `token_1`, `token_2`, …, is replaced everywhere in the text, as
 * plain text, by `token token_1 … token_{n−1}`, so a multi-vector embedding gets all its
 * vectors. Prompts without such tokens come back unchanged.
 */
export function maybeConvertPrompt(prompt: string, tokenizer: CLIPTokenizer): string {
  const added = tokenizer.addedTokens;
  if (added.size === 0) return prompt;
  const used = new Set<string>();
  for (const piece of added.split(prompt)) if ('token' in piece) used.add(piece.token);
  let out = prompt;
  for (const token of used) {
    let replacement = token;
    for (let i = 1; added.get(`${token}_${i}`) !== undefined; i++) replacement += ` ${token}_${i}`;
    if (replacement !== token) out = out.split(token).join(replacement);
  }
  return out;
}
