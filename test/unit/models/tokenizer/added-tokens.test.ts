import { beforeAll, describe, expect, it } from 'vitest';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { maybeConvertPrompt } from '../../../../src/models/textual-inversion/convert-prompt.js';
import type { CLIPTokenizer } from '../../../../src/models/tokenizer/clip-tokenizer.js';
import { TokenizerInputError } from '../../../../src/models/tokenizer/errors.js';
import { loadCLIPTokenizer } from '../../../../src/models/tokenizer/load.js';
import { fixturePath } from '../../../helpers/fixtures.js';

let base: CLIPTokenizer;
let withTokens: CLIPTokenizer;
const V = 49408;

beforeAll(async () => {
  base = await loadCLIPTokenizer(new LocalFolderSource(fixturePath('pipeline-sd15-tiny')), 'tokenizer');
  withTokens = base.withAddedTokens(['<my-style>', '<my-style>_1', 'zx']);
});

describe('CLIPTokenizer.withAddedTokens', () => {
  it('gives the tokens the ids after the vocabulary, in order, and leaves the original tokenizer as it was', () => {
    expect(base.vocabSize).toBe(V);
    expect(withTokens.vocabSize).toBe(V + 3);
    expect([...withTokens.addedTokens.entries()]).toEqual([
      ['<my-style>', V],
      ['<my-style>_1', V + 1],
      ['zx', V + 2],
    ]);
    expect(base.addedTokens.size).toBe(0);
    expect(base.encode('<my-style>')).toEqual([283, 607, 268, 1844, 285]);
    expect(base.hasToken('<my-style>')).toBe(false);
    expect(withTokens.hasToken('<my-style>')).toBe(true);
    // Adding to a tokenizer with added tokens continues the numbering.
    expect(withTokens.withAddedTokens(['<b>']).addedTokens.get('<b>')).toBe(V + 3);
  });

  it('matches added tokens anywhere in the raw text, longest first, without spaces around them', () => {
    expect(withTokens.encode('<my-style>_1,')).toEqual([V + 1, 267]);
    expect(withTokens.encode('a<my-style><my-style>_1b')).toEqual([...base.encode('a'), V, V + 1, ...base.encode('b')]);
    // Case-sensitive on the raw text: the tokens are matched before lower-casing.
    expect(withTokens.encode('ZX zx')).toEqual([...base.encode('ZX'), V + 2]);
    // A token inside a word splits the word.
    expect(withTokens.encode('fozxo')).toEqual([...base.encode('fo'), V + 2, ...base.encode('o')]);
  });

  it('cleans and encodes the text between added tokens on its own', () => {
    const between = '  A &amp; B  ';
    expect(withTokens.encode(`<my-style>${between}<my-style>_1`)).toEqual([V, ...base.encode(between), V + 1]);
    expect(withTokens.encode('<|startoftext|>zx<|endoftext|>')).toEqual([49406, V + 2, 49407]);
  });

  it('counts added tokens in maxTokens, and call pads and truncates with them', () => {
    const text = 'a <my-style> <my-style>_1 cat next to a zx dog';
    const all = withTokens.encode(text);
    for (let k = 0; k <= all.length + 1; k++) expect(withTokens.encode(text, k)).toEqual(all.slice(0, k));
    const row = withTokens.call(text);
    expect(Array.from(row.slice(0, all.length + 2))).toEqual([49406, ...all, 49407]);
    expect(row.length).toBe(77);
    const long = withTokens.call('zx '.repeat(100));
    expect(Array.from(long)).toEqual([49406, ...Array<number>(75).fill(V + 2), 49407]);
  });

  it('refuses an empty token, a vocabulary token and a token added twice', () => {
    expect(() => base.withAddedTokens([''])).toThrow(TokenizerInputError);
    expect(() => base.withAddedTokens(['cat</w>'])).toThrow(/already in the vocabulary/);
    expect(() => base.withAddedTokens(['<a>', '<a>'])).toThrow(/already an added token/);
    expect(() => withTokens.withAddedTokens(['zx'])).toThrow(/already an added token/);
  });
});

describe("maybeConvertPrompt (diffusers' maybe_convert_prompt)", () => {
  it('replaces every occurrence of a multi-vector token by all its tokens', () => {
    expect(maybeConvertPrompt('a <my-style> cat and a <my-style>, dog', withTokens)).toBe('a <my-style> <my-style>_1 cat and a <my-style> <my-style>_1, dog');
    expect(maybeConvertPrompt('<my-style>', withTokens)).toBe('<my-style> <my-style>_1');
  });

  it('leaves single-vector tokens, prompts without tokens, and tokenizers without added tokens alone', () => {
    expect(maybeConvertPrompt('a zx dog', withTokens)).toBe('a zx dog');
    expect(maybeConvertPrompt('a red fox', withTokens)).toBe('a red fox');
    expect(maybeConvertPrompt('a <my-style> fox', base)).toBe('a <my-style> fox');
  });
});
