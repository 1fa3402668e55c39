import { describe, expect, it } from 'vitest';
import { FixtureError, JsonParseError } from '../../../../src/io/errors.js';
import { BlobSource } from '../../../../src/io/sources/blob-source.js';
import { parseRecipeTensorList, readRecipeTensorList } from '../../../../src/io/synthetic/tensor-list.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';

function fieldOf(value: unknown): string | null {
  try {
    parseRecipeTensorList(JSON.stringify(value), 'tensors.json');
  } catch (err) {
    expect(err).toBeInstanceOf(FixtureError);
    expect((err as FixtureError).file).toBe('tensors.json');
    return (err as FixtureError).field;
  }
  throw new Error('parsed without error');
}

describe('tensors.json of a synthetic-recipe fixture', () => {
  it('reads the state dict in order, with shapes and dtypes', () => {
    const list = parseRecipeTensorList(
      JSON.stringify([
        { name: 'a.weight', shape: [2, 3], dtype: 'F32' },
        { name: 'ids', shape: [1, 77], dtype: 'I64' },
        { name: 'scalar', shape: [], dtype: 'F32' },
      ]),
      'tensors.json',
    );
    expect(list).toEqual([
      { name: 'a.weight', shape: [2, 3], dtype: 'F32' },
      { name: 'ids', shape: [1, 77], dtype: 'I64' },
      { name: 'scalar', shape: [], dtype: 'F32' },
    ]);
  });

  it('reads the full-size fixtures\' lists (the UNet has 686 tensors, all F32)', async () => {
    const unet = await readRecipeTensorList(new LocalFolderSource(fixturePath('full', 'unet-sd15-full')), 'tensors.json');
    expect(unet).toHaveLength(686);
    expect(unet.every((t) => t.dtype === 'F32')).toBe(true);
    const text = await readRecipeTensorList(new LocalFolderSource(fixturePath('full', 'text-encoder-clip-l-full')), 'tensors.json');
    expect(text.find((t) => t.name === 'text_model.embeddings.position_ids')).toEqual({ name: 'text_model.embeddings.position_ids', shape: [1, 77], dtype: 'I64' });
  });

  it('names the entry and field of every fault', () => {
    const ok = { name: 'a', shape: [1], dtype: 'F32' };
    expect(fieldOf({ tensors: [] })).toBeNull();
    expect(fieldOf([ok, 5])).toBe('[1]');
    expect(fieldOf([{ ...ok, name: '' }])).toBe('[0].name');
    expect(fieldOf([ok, { ...ok }])).toBe('[1].name');
    expect(fieldOf([{ ...ok, shape: [2, 1.5] }])).toBe('[0].shape');
    expect(fieldOf([{ ...ok, shape: [-1] }])).toBe('[0].shape');
    expect(fieldOf([{ ...ok, shape: '3' }])).toBe('[0].shape');
    expect(fieldOf([{ ...ok, shape: [2 ** 30, 2 ** 30] }])).toBe('[0].shape');
    expect(fieldOf([{ ...ok, dtype: 'F16' }])).toBe('[0].dtype');
    expect(fieldOf([{ name: 'a', shape: [1] }])).toBe('[0].dtype');
    expect(() => parseRecipeTensorList('[{', 'tensors.json')).toThrow(JsonParseError);
  });

  it('reports a list it cannot read as a FixtureError naming the file', async () => {
    const err = await readRecipeTensorList(new BlobSource({}, 'mem'), 'unet/tensors.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FixtureError);
    expect((err as FixtureError).file).toBe('mem/unet/tensors.json');
  });
});
