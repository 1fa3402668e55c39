import { describe, expect, it } from 'vitest';
import { ModelFileNotFoundError } from '../../../../src/io/errors.js';
import { BlobSource } from '../../../../src/io/sources/blob-source.js';

describe('BlobSource', () => {
  it('serves blobs by relative path', async () => {
    const source = new BlobSource({ './unet/config.json': new Blob(['{"a":1}']) });
    expect(await source.readText('unet/config.json')).toBe('{"a":1}');
    expect((await source.fetchFile('unet/config.json')).size).toBe(7);
    await expect(source.readText('vae/config.json')).rejects.toBeInstanceOf(ModelFileNotFoundError);
  });

  it('strips the picked folder name from webkitRelativePath', async () => {
    const file = (path: string, text: string) => {
      const f = new File([text], path.split('/').at(-1)!);
      Object.defineProperty(f, 'webkitRelativePath', { value: path });
      return f;
    };
    const source = BlobSource.fromFiles([file('sd-turbo/model_index.json', '{}'), file('sd-turbo/unet/config.json', '[]')]);
    expect(source.paths().sort()).toEqual(['model_index.json', 'unet/config.json']);
    expect(await source.readText('unet/config.json')).toBe('[]');
  });
});
