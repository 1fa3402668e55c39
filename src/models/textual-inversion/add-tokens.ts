import type { CLIPTokenizer } from '../tokenizer/clip-tokenizer.js';
import { multiVectorTokens } from './convert-prompt.js';
import type { TextualInversionEmbedding } from './embedding-file.js';
import { EmbeddingFileError } from './errors.js';

/** What loading embeddings makes of a tokenizer: the tokenizer with their tokens, and the rows for their ids. */
export interface TextualInversionTokens {
  /** A new tokenizer with every embedding's tokens added; the one passed in is left as it was. */
  readonly tokenizer: CLIPTokenizer;
  /** The id of the first added token: the rows below are ids `firstId`, `firstId + 1`, …. */
  readonly firstId: number;
  /** Number of added tokens (the embeddings' vectors, all together). */
  readonly count: number;
  /** [count, hiddenSize], row-major: the token embedding rows of the added ids, in id order. */
  readonly vectors: Float32Array;
  readonly hiddenSize: number;
}

/**
 * Adds the tokens of `embeddings` to `tokenizer`, as diffusers' `load_textual_inversion` does:
 * each embedding of n vectors gets tokens `token`, `token_1`, …, `token_{n−1}` with the next
 * ids, and vector k becomes the text encoder row of its k-th token. Refused with
 * `EmbeddingFileError` naming the file and the key: a hidden size other than `hiddenSize`, and
 * a token (or one of its `_k` continuations) that the tokenizer or an earlier embedding already has.
 */
export function addTextualInversionTokens(
  tokenizer: CLIPTokenizer,
  embeddings: readonly TextualInversionEmbedding[],
  hiddenSize: number,
): TextualInversionTokens {
  const tokens: string[] = [];
  const taken = new Set<string>();
  for (const e of embeddings) {
    if (e.hiddenSize !== hiddenSize) {
      throw new EmbeddingFileError(e.file, e.key, `its vectors have ${e.hiddenSize} values, but the text encoder's hidden size is ${hiddenSize}: the embedding was trained for another model.`);
    }
    for (const token of multiVectorTokens(e.token, e.numVectors)) {
      if (tokenizer.hasToken(token) || taken.has(token)) {
        throw new EmbeddingFileError(
          e.file,
          e.key,
          `the token ${JSON.stringify(token)} is already in the tokenizer's vocabulary${taken.has(token) ? ' (from another embedding)' : ''}; load the embedding under another token.`,
        );
      }
      taken.add(token);
      tokens.push(token);
    }
  }
  const vectors = new Float32Array(tokens.length * hiddenSize);
  let offset = 0;
  for (const e of embeddings) {
    vectors.set(e.vectors, offset);
    offset += e.vectors.length;
  }
  return { tokenizer: tokenizer.withAddedTokens(tokens), firstId: tokenizer.vocabSize, count: tokens.length, vectors, hiddenSize };
}
