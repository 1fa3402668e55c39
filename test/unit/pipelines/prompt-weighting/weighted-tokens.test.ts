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

  describe("A1111's BREAK (windows of 3 here, padding with 0)", () => {
    const breaks = { room: 3, padId: 0 };
    const cases: Array<[prompt: string, ids: number[], weights: number[]]> = [
      ['a BREAK bb', [1, 0, 0, 2], [1, 1, 1, 1]],
      ['a bb ccc BREAK dddd', [1, 2, 3, 4], [1, 1, 1, 1]],
      ['a bb ccc dddd BREAK e', [1, 2, 3, 4, 0, 0, 1], [1, 1, 1, 1, 1, 1, 1]],
      ['BREAK a', [0, 0, 0, 1], [1, 1, 1, 1]],
      ['a BREAK BREAK bb', [1, 0, 0, 0, 0, 0, 2], [1, 1, 1, 1, 1, 1, 1]],
      ['(a:2) BREAK (bb:0.5)', [1, 0, 0, 2], [2, 1, 1, 0.5]],
      ['(a BREAK bb)', [1, 0, 0, 2], [1.1, 1, 1, 1.1]],
      ['a BREAK', [1, 0, 0], [1, 1, 1]],
      ['a breakfast break BREAKS', [1, 9, 5, 6], [1, 1, 1, 1]],
    ];
    it.each(cases)('%s', (prompt, ids, weights) => {
      const t = promptTokensWithWeights(words, prompt, 225, breaks);
      expect(t.ids).toEqual(ids);
      expect(t.weights).toEqual(weights);
    });

    it('is the word BREAK without breaks, as the reference reads it', () => {
      expect(promptTokensWithWeights(words, 'a BREAK bb', 225).ids).toEqual([1, 5, 2]);
    });

    it('counts its padding against maxTokens', () => {
      const t = promptTokensWithWeights(words, 'a BREAK bb ccc', 4, breaks);
      expect(t.ids).toEqual([1, 0, 0, 2]);
      expect(t.weights.length).toBe(4);
    });
  });
});
