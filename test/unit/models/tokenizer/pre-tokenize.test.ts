import { describe, expect, it } from 'vitest';
import { cleanText } from '../../../../src/models/tokenizer/clean.js';
import { splitWords } from '../../../../src/models/tokenizer/pre-tokenize.js';

// The expected pieces restate CLIP's pattern and Python's string rules (see the TSDoc).
describe('cleanText', () => {
  it("collapses Python's whitespace (U+001C-U+001F and U+0085 included) but keeps U+FEFF", () => {
    expect(cleanText(' \x1cA\x1d\x1e\x1f\x85B\u00a0\u2028C\u3000 ')).toBe('a b c');
    expect(cleanText('a\ufeffb')).toBe('a\ufeffb');
  });

  it('normalises to NFC, after unescaping too', () => {
    expect(cleanText('Cafe\u0301')).toBe('caf\u00e9');
    expect(cleanText('cafe&#769;')).toBe('caf\u00e9');
  });

  it('lower-cases after unescaping', () => {
    expect(cleanText('&Eacute;COLE')).toBe('\u00e9cole');
  });
});

describe('splitWords', () => {
  it('splits contractions, letter runs, single digits and other runs', () => {
    expect([...splitWords("it's 2,718 c++ we'll")]).toEqual(['it', "'s", '2', ',', '7', '1', '8', 'c', '++', 'we', "'ll"]);
  });

  it('keeps the special tokens whole', () => {
    expect([...splitWords('<|startoftext|>a<|endoftext|>')]).toEqual(['<|startoftext|>', 'a', '<|endoftext|>']);
  });

  it("matches long s as s, as CLIP's case-insensitive pattern does", () => {
    expect([...splitWords("it'ſ")]).toEqual(['it', "'ſ"]);
    expect([...splitWords('<|ſtartoftext|>')]).toEqual(['<|ſtartoftext|>']);
  });

  it('drops U+0345, which no branch of the case-insensitive pattern matches', () => {
    expect([...splitWords('x\u0345y .\u0345')]).toEqual(['x', 'y', '.']);
  });
});

describe('splitWords with maxLength', () => {
  it('cuts letter and punctuation runs into pieces of maxLength code points, and leaves other words alone', () => {
    expect([...splitWords("abcdefg !!!!! it's 12 <|endoftext|> 😂😂😂", 3)]).toEqual(['abc', 'def', 'g', '!!!', '!!', 'it', "'s", '1', '2', '<|endoftext|>', '😂😂😂']);
  });

  it('splits as without it where no run is longer', () => {
    const text = "a photo of 3 cats, it's <|startoftext|> 東京 😂🎉!!";
    expect([...splitWords(text, 5)]).toEqual([...splitWords(text)]);
  });

  it('yields the first pieces of a 1 MB run without scanning the rest', () => {
    const words = splitWords('猫'.repeat(2 ** 20), 100);
    const start = performance.now();
    expect(words.next().value).toBe('猫'.repeat(100));
    expect(performance.now() - start).toBeLessThan(50);
  });
});
