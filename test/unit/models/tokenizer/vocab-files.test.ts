import { beforeAll, describe, expect, it } from 'vitest';
import { JsonParseError } from '../../../../src/io/errors.js';
import { CLIPTokenizer, TokenizerFileError } from '../../../../src/models/tokenizer/index.js';
import { sd1Tokenizer, tokenizerFixtures, type TokenizerFixture } from './tokenizer-fixtures.js';
import { thrown } from '../../../helpers/thrown.js';

const fixture: TokenizerFixture = (await tokenizerFixtures())[0]!;

/** A `tokenizer.json` in the Hugging Face fast-tokenizer layout, built from the fixture's slow files. */
function buildTokenizerJson(mergeForm: 'string' | 'pair'): object {
  const vocab = JSON.parse(fixture.vocab) as Record<string, number>;
  const merges = fixture.merges
    .split('\n')
    .slice(1)
    .filter((line) => line.trim() !== '');
  const special = (content: string) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
  return {
    version: '1.0',
    added_tokens: [special('<|startoftext|>'), special('<|endoftext|>')],
    model: {
      type: 'BPE',
      unk_token: '<|endoftext|>',
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      vocab,
      merges: mergeForm === 'string' ? merges : merges.map((line) => line.split(' ')),
    },
  };
}

describe('CLIPTokenizer files', () => {
  let reference: CLIPTokenizer;
  beforeAll(() => {
    reference = sd1Tokenizer(fixture);
  });

  it.each(['string', 'pair'] as const)('gives the same ids from tokenizer.json (merges as %s) as from vocab.json and merges.txt', (form) => {
    const fromJson = CLIPTokenizer.fromFiles({ tokenizerJson: JSON.stringify(buildTokenizerJson(form)), config: fixture.config, specialTokensMap: fixture.specialTokensMap });
    for (const c of fixture.cases) expect(fromJson.encode(c.prompt)).toEqual(c.ids);
    expect(fromJson.padTokenId).toBe(reference.padTokenId);
    expect(Array.from(fromJson.call(fixture.cases.map((c) => c.prompt)))).toEqual(fixture.cases.flatMap((c) => c.inputIdsSd1));
  });

  it('defaults to CLIP special tokens and 77 when no config is given', () => {
    const bare = CLIPTokenizer.fromFiles({ vocab: fixture.vocab, merges: fixture.merges });
    expect([bare.bosTokenId, bare.eosTokenId, bare.padTokenId, bare.modelMaxLength]).toEqual([reference.bosTokenId, reference.eosTokenId, reference.eosTokenId, 77]);
  });

  it('lets special_tokens_map.json override tokenizer_config.json, and reads AddedToken objects', () => {
    const vocab = JSON.parse(fixture.vocab) as Record<string, number>;
    const tok = CLIPTokenizer.fromFiles({
      vocab: fixture.vocab,
      merges: fixture.merges,
      config: { model_max_length: 77, pad_token: '<|endoftext|>' },
      specialTokensMap: { pad_token: { __type: 'AddedToken', content: '!', normalized: false } },
    });
    expect(tok.padTokenId).toBe(vocab['!']);
  });

  it('names the file and the token when vocab.json holds a bad id', () => {
    const err = thrown(() => CLIPTokenizer.fromFiles({ vocab: { a: 1, b: 'x' }, merges: '', location: 'repo/tokenizer' }));
    expect(err).toBeInstanceOf(TokenizerFileError);
    expect(err.name).toBe('TokenizerFileError');
    expect((err as TokenizerFileError).file).toBe('repo/tokenizer/vocab.json');
    expect(err.message).toMatch(/repo\/tokenizer\/vocab\.json: the id of "b" is "x"/);
  });

  it('names vocab.json when it is not a JSON object, or does not parse', () => {
    expect((thrown(() => CLIPTokenizer.fromFiles({ vocab: '[1, 2]', merges: '' })) as TokenizerFileError).file).toBe('vocab.json');
    const parse = thrown(() => CLIPTokenizer.fromFiles({ vocab: '{"a": 1,', merges: '', location: 't' }));
    expect(parse).toBeInstanceOf(JsonParseError);
    expect(parse.message).toContain('t/vocab.json');
  });

  it('names the line of a malformed merges.txt', () => {
    const merges = fixture.merges.replace('\ni n\n', '\ni n x\n');
    const err = thrown(() => CLIPTokenizer.fromFiles({ vocab: fixture.vocab, merges }));
    expect(err).toBeInstanceOf(TokenizerFileError);
    expect(err.message).toMatch(/^merges\.txt: line 2 is "i n x"/);
  });

  it('names merges.txt when a merge makes a token the vocabulary lacks', () => {
    const err = thrown(() => CLIPTokenizer.fromFiles({ vocab: fixture.vocab, merges: `${fixture.merges.trimEnd()}\nzq xj\n` }));
    expect(err).toBeInstanceOf(TokenizerFileError);
    expect(err.message).toMatch(/^merges\.txt: merge \d+ \("zq xj"\) makes "zqxj", which vocab\.json lacks/);
  });

  it('names vocab.json when it lacks the byte-level alphabet', () => {
    const err = thrown(() => CLIPTokenizer.fromFiles({ vocab: { a: 0 }, merges: '#version: 0.2\n' }));
    expect((err as TokenizerFileError).file).toBe('vocab.json');
    expect(err.message).toContain('byte-level token');
  });

  it('names the missing file when merges.txt or every vocabulary file is absent', () => {
    expect((thrown(() => CLIPTokenizer.fromFiles({ vocab: fixture.vocab })) as TokenizerFileError).file).toBe('merges.txt');
    expect((thrown(() => CLIPTokenizer.fromFiles({ location: 'x' })) as TokenizerFileError).message).toContain('x/vocab.json: missing');
  });

  it('names the field of a tokenizer.json that is not a CLIP BPE', () => {
    const json = buildTokenizerJson('string') as { model: Record<string, unknown> };
    const wordPiece = { ...json, model: { ...json.model, type: 'WordPiece' } };
    expect(thrown(() => CLIPTokenizer.fromFiles({ tokenizerJson: wordPiece })).message).toMatch(/^tokenizer\.json: model\.type is "WordPiece"/);
    const badMerge = { ...json, model: { ...json.model, merges: ['i n', ['t', 'h', 'x']] } };
    expect(thrown(() => CLIPTokenizer.fromFiles({ tokenizerJson: badMerge })).message).toMatch(/model\.merges\[1\]/);
    const badAdded = { ...json, added_tokens: [{ id: -1, content: 'x' }] };
    expect(thrown(() => CLIPTokenizer.fromFiles({ tokenizerJson: badAdded })).message).toMatch(/added_tokens\[0\]\.id/);
    const badVocab = { ...json, model: { ...json.model, vocab: { a: 1.5 } } };
    expect(thrown(() => CLIPTokenizer.fromFiles({ tokenizerJson: badVocab, location: 't' })).message).toMatch(/^t\/tokenizer\.json: model\.vocab: the id of "a" is 1\.5/);
  });

  it('names the config file and field of an unknown special token or a bad model_max_length', () => {
    const pad = thrown(() => CLIPTokenizer.fromFiles({ vocab: fixture.vocab, merges: fixture.merges, specialTokensMap: { pad_token: '<pad>' } }));
    expect(pad).toBeInstanceOf(TokenizerFileError);
    expect(pad.message).toMatch(/^special_tokens_map\.json: pad_token "<pad>" is not in vocab\.json/);
    const max = thrown(() => CLIPTokenizer.fromFiles({ vocab: fixture.vocab, merges: fixture.merges, config: { model_max_length: 1.5 } }));
    expect(max.message).toMatch(/^tokenizer_config\.json: model_max_length is 1\.5/);
  });
});
