import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiffusersRepo } from '../../../../src/io/diffusers-repo.js';
import { readSafetensors } from '../../../../src/io/safetensors.js';
import { BlobSource } from '../../../../src/io/sources/blob-source.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { CLIPTokenizer, TokenizerFileError, loadCLIPTokenizer } from '../../../../src/models/tokenizer/index.js';
import { loadFixture } from '../../../../tools/verify/fixture/fixture.js';
import { fixtureDirsOfKind, tokenizerFixtures } from './tokenizer-fixtures.js';

const tokenizerFixture = (await tokenizerFixtures())[0]!;

describe.each((await fixtureDirsOfKind('pipeline')).map((dir) => [dir.split(/[\\/]/).pop()!, dir] as const))('loadCLIPTokenizer on pipeline fixture %s', (_name, dir) => {
  it('reproduces the input_ids (and negative_input_ids under CFG) that the reference pipeline used', async () => {
    const meta = await loadFixture(dir);
    if (meta.kind !== 'pipeline') throw new Error(`${dir} is not a pipeline fixture`);
    const tokenizer = await loadCLIPTokenizer(new LocalFolderSource(dir));
    const io = await readSafetensors({ nodePath: join(dir, 'io.safetensors') });
    expect(Array.from(tokenizer.call([meta.prompt]))).toEqual(Array.from(io.get('input_ids')!.data, Number));
    // The negative prompt is tokenized under CFG, unless an SDXL pipeline with
    // force_zeros_for_empty_prompt used zeros for an absent one (then no ids are stored).
    if (meta.guidanceScale > 1 && io.has('negative_input_ids')) {
      expect(Array.from(tokenizer.call([meta.negativePrompt ?? '']))).toEqual(Array.from(io.get('negative_input_ids')!.data, Number));
    }
    // SDXL's second tokenizer (tokenizer_2/) gives input_ids_2.
    if (io.has('input_ids_2')) {
      const second = await loadCLIPTokenizer(new LocalFolderSource(dir), 'tokenizer_2');
      expect(Array.from(second.call([meta.prompt]))).toEqual(Array.from(io.get('input_ids_2')!.data, Number));
    }
  });

  it('builds the same tokenizer from DiffusersRepo.readTokenizerFiles', async () => {
    const source = new LocalFolderSource(dir);
    const repo = await DiffusersRepo.open(source);
    const fromRepo = CLIPTokenizer.fromFiles(await repo.readTokenizerFiles());
    const loaded = await loadCLIPTokenizer(source);
    expect([fromRepo.padTokenId, fromRepo.modelMaxLength]).toEqual([loaded.padTokenId, loaded.modelMaxLength]);
    expect(Array.from(fromRepo.call(['a photo of a cat', '']))).toEqual(Array.from(loaded.call(['a photo of a cat', ''])));
  });
});

describe('loadCLIPTokenizer', () => {
  const fixture = tokenizerFixture;
  const blob = (text: string) => new Blob([text]);

  it('falls back to tokenizer.json when the folder has no vocab.json', async () => {
    const vocab = JSON.parse(fixture.vocab) as Record<string, number>;
    const merges = fixture.merges.split('\n').slice(1).filter((line) => line !== '');
    const tokenizerJson = JSON.stringify({ model: { type: 'BPE', end_of_word_suffix: '</w>', vocab, merges }, added_tokens: [] });
    const source = new BlobSource({ 'tokenizer/tokenizer.json': blob(tokenizerJson), 'tokenizer/tokenizer_config.json': blob(fixture.config) }, 'mem');
    const tokenizer = await loadCLIPTokenizer(source);
    expect(Array.from(tokenizer.call(fixture.cases.map((c) => c.prompt)))).toEqual(fixture.cases.flatMap((c) => c.inputIdsSd1));
  });

  it('names the folder when it holds no vocabulary at all, and merges.txt when only it is missing', async () => {
    const empty = new BlobSource({ 'tokenizer/tokenizer_config.json': blob(fixture.config) }, 'mem');
    await expect(loadCLIPTokenizer(empty)).rejects.toThrow(TokenizerFileError);
    await expect(loadCLIPTokenizer(empty)).rejects.toThrow(/mem\/tokenizer has neither vocab\.json and merges\.txt nor tokenizer\.json/);
    const noMerges = new BlobSource({ 'tokenizer/vocab.json': blob(fixture.vocab) }, 'mem');
    await expect(loadCLIPTokenizer(noMerges)).rejects.toThrow(/^mem\/tokenizer\/merges\.txt: missing/);
  });

  it('names the file, with the source and folder, when a file is malformed', async () => {
    const source = new BlobSource({ 'tok/vocab.json': blob('{"a": "b"}'), 'tok/merges.txt': blob(fixture.merges) }, 'mem');
    await expect(loadCLIPTokenizer(source, 'tok')).rejects.toThrow(/^mem\/tok\/vocab\.json: the id of "a"/);
  });
});
