import { beforeAll, describe, expect, it } from 'vitest';
import { CLIPTokenizer, TokenizerInputError } from '../../../../src/models/tokenizer/index.js';
import { sd1Tokenizer, sd2Tokenizer, tokenizerFixtures } from './tokenizer-fixtures.js';

const fixtures = await tokenizerFixtures();

describe.each(fixtures.map((f) => [f.name, f] as const))('CLIPTokenizer on tokenizer fixture %s', (_name, fixture) => {
  let sd1: CLIPTokenizer;
  let sd2: CLIPTokenizer;
  beforeAll(() => {
    sd1 = sd1Tokenizer(fixture);
    sd2 = sd2Tokenizer(fixture);
  });

  it('has as many cases as fixture.json announces', () => {
    expect(fixture.cases.length).toBe(fixture.numCases);
  });

  it.each(fixture.cases.map((c, i) => [i, JSON.stringify(c.prompt).slice(0, 60), c] as const))(
    'case %i %s: ids, SD 1.x input_ids and SD 2.x input_ids match exactly',
    (_i, _prompt, c) => {
      expect(sd1.encode(c.prompt)).toEqual(c.ids);
      expect(Array.from(sd1.call([c.prompt], { padding: 'max_length', maxLength: 77, truncation: true }))).toEqual(c.inputIdsSd1);
      expect(Array.from(sd2.call([c.prompt], { padding: 'max_length', maxLength: 77, truncation: true }))).toEqual(c.inputIdsSd2);
    },
  );

  it('tokenizes a batch as the rows of its prompts, in order', () => {
    const prompts = fixture.cases.map((c) => c.prompt);
    const batch = sd1.call(prompts);
    expect(batch).toBeInstanceOf(Int32Array);
    expect(batch.length).toBe(prompts.length * 77);
    fixture.cases.forEach((c, row) => expect(Array.from(batch.subarray(row * 77, (row + 1) * 77))).toEqual(c.inputIdsSd1));
  });

  it('reads model_max_length and the special token ids from the files', () => {
    const vocab = JSON.parse(fixture.vocab) as Record<string, number>;
    expect(sd1.modelMaxLength).toBe(77);
    expect(sd1.bosTokenId).toBe(vocab['<|startoftext|>']);
    expect(sd1.eosTokenId).toBe(vocab['<|endoftext|>']);
    expect(sd1.padTokenId).toBe(vocab['<|endoftext|>']);
    expect(sd2.padTokenId).toBe(vocab['!']);
    expect(sd1.vocabSize).toBe(Object.keys(vocab).length);
  });

  it('keeps EOS at position 76 when a very long prompt is truncated', () => {
    const prompt = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ');
    const ids = sd1.encode(prompt);
    expect(ids.length).toBeGreaterThan(75);
    const row = Array.from(sd1.call(prompt));
    expect(row).toHaveLength(77);
    expect(row[0]).toBe(sd1.bosTokenId);
    expect(row.slice(1, 76)).toEqual(ids.slice(0, 75));
    expect(row[76]).toBe(sd1.eosTokenId);
  });

  it('refuses an over-long prompt when truncation is off, and accepts one that fits', () => {
    const long = 'word '.repeat(100);
    expect(() => sd1.call([long], { truncation: false })).toThrow(TokenizerInputError);
    expect(Array.from(sd1.call(['a photo of a cat'], { truncation: false }))).toEqual(Array.from(sd1.call('a photo of a cat')));
  });

  it('honours a shorter maxLength: BOS, the first ids, EOS', () => {
    const ids = sd1.encode('a photograph of an astronaut riding a horse');
    expect(Array.from(sd2.call('a photograph of an astronaut riding a horse', { maxLength: 6 }))).toEqual([sd2.bosTokenId, ...ids.slice(0, 4), sd2.eosTokenId]);
    expect(() => sd1.call('x', { maxLength: 1 })).toThrow(TokenizerInputError);
  });

  it('turns an empty prompt into BOS, EOS and padding', () => {
    expect(sd1.encode('')).toEqual([]);
    expect(sd1.encode(' \t\n ')).toEqual([]);
    const row = Array.from(sd2.call(''));
    expect(row.slice(0, 2)).toEqual([sd2.bosTokenId, sd2.eosTokenId]);
    expect(row.slice(2)).toEqual(new Array(75).fill(sd2.padTokenId));
  });

  it('unescapes HTML entities (twice) and collapses odd whitespace before BPE', () => {
    const golden = (prompt: string) => fixture.cases.find((c) => c.prompt === prompt)?.ids ?? sd1.encode(prompt);
    expect(sd1.encode('\u00a0\u3000A\x1c\x1dPhoto\u2028of \x85a&nbsp;cat\r\n')).toEqual(golden('a photo of a cat'));
    expect(sd1.encode('state&#45;of&#x2d;the-art,\thigh&#X2D;quality   render')).toEqual(golden('state-of-the-art, high-quality render'));
    expect(sd1.encode('quotes &quot;double&quot; and &#39;single&apos;')).toEqual(golden('quotes "double" and \'single\''));
    expect(sd1.encode('C&amp;amp;D &amp;lt;3')).toEqual(sd1.encode('C&D <3'));
    expect(sd1.encode('caf&eacute; cr&egrave;me')).toEqual(sd1.encode('café crème'));
    expect(sd1.encode('cafe&#769;')).toEqual(sd1.encode('café'));
  });

  it('treats U+FEFF as a character, not as whitespace, as Python does', () => {
    expect(sd1.encode('a\ufeffb')).not.toEqual(sd1.encode('a b'));
  });

  it('maps literal special tokens in the text to their ids', () => {
    expect(sd1.encode('<|startoftext|>')).toEqual([sd1.bosTokenId]);
    expect(sd1.encode('a <|endoftext|> b')).toEqual([...sd1.encode('a'), sd1.eosTokenId, ...sd1.encode('b')]);
    expect(sd1.encode('<|EndOfText|>')).toEqual([sd1.eosTokenId]);
  });

  it("encodes '!' with CLIP's BPE even where '!' is the pad token", () => {
    expect(sd2.encode('!!!')).toHaveLength(1);
    expect(sd2.encode('!!!')).not.toContain(sd2.padTokenId);
    expect(sd2.encode('fire!!! now!')).toEqual(sd1.encode('fire!!! now!'));
    // A lone `!` ends its word, so it is `!</w>`, never the bare `!` that pads.
    expect(sd2.encode('!')).not.toEqual([sd2.padTokenId]);
  });

  it('tokenizes 1000 prompts in well under a second once loaded', () => {
    const prompts = Array.from({ length: 1000 }, (_, i) => `${fixture.cases[i % fixture.cases.length]!.prompt} variant ${i}`);
    const fresh = sd1Tokenizer(fixture);
    const start = performance.now();
    const out = fresh.call(prompts);
    const ms = performance.now() - start;
    expect(out.length).toBe(1000 * 77);
    expect(ms).toBeLessThan(500);
  });
});
