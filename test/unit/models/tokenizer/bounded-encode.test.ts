/**
 * `CLIPTokenizer.encode(text, maxTokens)` reads only the start of a long text (pieces that end at
 * a space, words until enough ids, the start of a long word); its ids must still be the old
 * tokenizer's (`ReferenceTokenizer`: every word encoded, then cut) on every prompt.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CLIPTokenizer, TokenizerInputError } from '../../../../src/models/tokenizer/index.js';
import { ReferenceTokenizer } from './reference-tokenizer.js';
import { sd1Tokenizer, tokenizerFixtures } from './tokenizer-fixtures.js';

/** A deterministic pick (an LCG), so that a failing prompt can be rebuilt from its index. */
function picker(seed: number): { pick<T>(items: readonly T[]): T; below(n: number): number } {
  let state = seed;
  const below = (n: number): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state % n;
  };
  return { below, pick: (items) => items[below(items.length)]! };
}

/** Pieces of prompts, chosen to meet at piece boundaries: entities, marks, sigmas, specials, odd whitespace. */
const PARTS = [
  'a photo of a cat',
  'ΟΔΥΣΣΕΥΣ',
  'Σ',
  "it's",
  "we'll",
  '<|endoftext|>',
  '<|startoftext|>',
  '&amp;lt;',
  '&#769;',
  '&eacute',
  '&copyright',
  '&#x1F600;',
  'e\u0301\u0316\u0345',
  '\u0345\u0301',
  'café',
  '東京',
  '😂🎉',
  '1234',
  '!!!',
  '...',
  '\t',
  '\n\n',
  '\u00a0',
  '\u3000',
  ' ',
  '  ',
  'İstanbul',
  'ǘ\u0316',
  '\ud800',
];

/** A prompt of about `length` characters: random parts, some glued without spaces. */
function prompt(rng: ReturnType<typeof picker>, length: number): string {
  let text = '';
  while (text.length < length) text += rng.pick(PARTS) + (rng.below(3) === 0 ? '' : ' ');
  return text;
}

describe.each((await tokenizerFixtures()).map((f) => [f.name, f] as const))('bounded encode on tokenizer fixture %s', (_name, fixture) => {
  let tokenizer: CLIPTokenizer;
  let reference: ReferenceTokenizer;
  beforeAll(() => {
    tokenizer = sd1Tokenizer(fixture);
    reference = new ReferenceTokenizer(fixture);
  });

  const expectSame = (text: string, label: string): void => {
    const all = reference.encode(text);
    expect(tokenizer.encode(text), `${label}, every id`).toEqual(all);
    for (const maxTokens of [0, 1, 2, 5, 75, 76]) expect(tokenizer.encode(text, maxTokens), `${label}, ${maxTokens} ids`).toEqual(all.slice(0, maxTokens));
  };

  it('gives the old ids of every golden prompt, whole and cut to 0, 1, 2, 5, 75 and 76 ids', () => {
    fixture.cases.forEach((c, i) => expectSame(c.prompt, `case ${i}`));
  });

  it('gives the old ids of 300 random prompts of up to 3000 characters', () => {
    const rng = picker(1);
    for (let i = 0; i < 300; i++) expectSame(prompt(rng, 1 + rng.below(3000)), `prompt ${i}`);
  });

  it('gives the old ids of 40 prompts of 10k–30k characters, read in several pieces', () => {
    const rng = picker(2);
    for (let i = 0; i < 40; i++) expectSame(prompt(rng, 10_000 + rng.below(20_000)), `long prompt ${i}`);
  }, 60_000);

  it('gives the old ids when a piece would end next to an entity, a mark, a sigma or a special token', () => {
    for (const part of PARTS) {
      for (let shift = -3; shift <= 3; shift++) {
        const lead = 'word '.repeat(819) + 'x'.repeat(1 + shift + 3);
        for (const glue of ['', ' ', '  ']) expectSame(`${lead}${glue}${part} ${part}${part} tail`, `${JSON.stringify(part)}, shift ${shift}, glue ${JSON.stringify(glue)}`);
      }
    }
  }, 60_000);

  it('gives the old ids of a word of 20k letters after 100 short words, where the cut word starts partway', () => {
    const text = `${'a cat '.repeat(50)}${'supercalifragilistic'.repeat(1000)} end`;
    expectSame(text, 'long word after short ones');
  });

  it('gives the old ids after 1 MB that makes no word: U+0345 (matched by no branch), then every Python whitespace', () => {
    expectSame(`${'\u0345'.repeat(2 ** 20)} a cat`, 'U+0345');
    expectSame(`${'\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2028\u3000'.repeat(2 ** 16)} a cat`, 'whitespace');
  }, 60_000);

  it('accepts exactly 75 ids with truncation off and refuses 76', () => {
    const fits = Array.from({ length: 75 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(' ');
    expect(tokenizer.encode(fits)).toHaveLength(75);
    expect(Array.from(tokenizer.call(fits, { truncation: false }))).toEqual(Array.from(tokenizer.call(fits)));
    expect(() => tokenizer.call(`${fits} z`, { truncation: false })).toThrow(TokenizerInputError);
  });

  it('refuses a maxTokens that is not a non-negative integer or Infinity, naming it', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.NEGATIVE_INFINITY]) {
      expect(() => tokenizer.encode('a cat', bad)).toThrow(TokenizerInputError);
      expect(() => tokenizer.encode('a cat', bad)).toThrow(`maxTokens ${String(bad)} must be a non-negative integer`);
    }
    expect(tokenizer.encode('a cat', Number.POSITIVE_INFINITY)).toEqual(tokenizer.encode('a cat'));
  });
});
