import { PYTHON_WHITESPACE } from './clean.js';

/**
 * CLIP's word pattern: the two special tokens, English contractions, letter runs, single
 * digits, and runs of anything else that is not whitespace.
 *
 * CLIP compiles it case-insensitively. On lower-cased text that changes only two things, both
 * written out here so the pattern can stay case-sensitive: `ſ` (U+017F) folds to `s`, so `'ſ`
 * and `<|ſtartoftext|>` match as `'s` and `<|startoftext|>` do; and U+0345 (combining
 * ypogegrammeni), which folds to a letter, is matched by no branch and so is dropped.
 */
const CLIP_WORD = new RegExp(
  String.raw`<\|[sſ]tartoftext\|>|<\|endoftext\|>|'[sſ]|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^${PYTHON_WHITESPACE}\p{L}\p{N}\u0345]+`,
  'gu',
);

/** Splits cleaned text into the pieces that BPE encodes one by one. */
export function splitWords(cleanedText: string): string[] {
  return cleanedText.match(CLIP_WORD) ?? [];
}
