import { PYTHON_WHITESPACE } from './clean.js';

/**
 * CLIP's word pattern: the two special tokens, English contractions, letter runs, single
 * digits, and runs of anything else that is not whitespace.
 *
 * CLIP compiles it case-insensitively. On lower-cased text that changes only two things, both
 * written out here so the pattern can stay case-sensitive: `ſ` (U+017F) folds to `s`, so `'ſ`
 * and `<|ſtartoftext|>` match as `'s` and `<|startoftext|>` do; and U+0345 (combining
 * ypogegrammeni), which folds to a letter, is matched by no branch and so is dropped.
 *
 * `repeat` is the quantifier of letter and punctuation runs: `+`, or `{1,n}` to cut them.
 */
function clipWordPattern(repeat: string): RegExp {
  return new RegExp(
    String.raw`<\|[sſ]tartoftext\|>|<\|endoftext\|>|'[sſ]|'t|'re|'ve|'m|'ll|'d|\p{L}${repeat}|\p{N}|[^${PYTHON_WHITESPACE}\p{L}\p{N}\u0345]${repeat}`,
    'gu',
  );
}

const CLIP_WORD = clipWordPattern('+');

/**
 * The pieces of cleaned text that BPE encodes one by one, in order. Lazy, so a caller that
 * needs only the first few words of a long text does not split the rest.
 *
 * With `maxLength`, a letter or punctuation run longer than that many code points comes as
 * pieces of `maxLength` (the last one shorter): a caller that needs only the start of such a word
 * gets it without the pattern scanning the whole run, which cost 200–400 ms per MB of CJK or
 * emoji.
 */
export function* splitWords(cleanedText: string, maxLength = Number.POSITIVE_INFINITY): Generator<string, void, undefined> {
  // A fresh regex per call: a shared one's `lastIndex` would be clobbered by interleaved calls.
  const pattern = maxLength === Number.POSITIVE_INFINITY ? new RegExp(CLIP_WORD) : clipWordPattern(`{1,${maxLength}}`);
  for (let match = pattern.exec(cleanedText); match !== null; match = pattern.exec(cleanedText)) yield match[0];
}
