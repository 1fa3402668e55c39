import { describe, expect, it } from 'vitest';
import { promptTokensWithWeights, type PieceTokenizer } from '../../../../src/pipelines/prompt-weighting/weighted-tokens.js';

// One id per word, so that counts are plain to read; `maxTokens` bounds the ids as CLIPTokenizer's does.
const words: PieceTokenizer = {
  encode: (text, maxTokens = Number.POSITIVE_INFINITY) =>
    text
      .split(' ')
      .filter((w) => w.length > 0)
      .map((w) => w.length)
      .slice(0, maxTokens),
};

describe('promptTokensWithWeights', () => {
  it('tokenizes each parsed piece on its own and gives its tokens its weight', () => {
    const t = promptTokensWithWeights(words, 'a (bb ccc:1.5) [dddd]', 225);
    expect(t.ids).toEqual([1, 2, 3, 4]);
    expect(t.weights).toEqual([1, 1.5, 1.5, 1 / 1.1]);
  });

  it('cuts the tokens at maxTokens (225 in lpw), weights with them', () => {
    const t = promptTokensWithWeights(words, `${Array<string>(200).fill('a').join(' ')} (${Array<string>(100).fill('bb').join(' ')})`, 225);
    expect(t.ids.length).toBe(225);
    expect(t.weights.length).toBe(225);
    expect(t.weights.slice(199, 201)).toEqual([1, 1.1]);
  });
});
