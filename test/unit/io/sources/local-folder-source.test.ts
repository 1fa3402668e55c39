import { describe, expect, it } from 'vitest';
import { readAllBytes } from '../../../../src/io/byte-source.js';
import { ModelFileNotFoundError } from '../../../../src/io/errors.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { fixturePath } from '../../../helpers/fixtures.js';

describe('LocalFolderSource', () => {
  it('streams a file of the folder with its size', async () => {
    const source = new LocalFolderSource(fixturePath('pipeline-sd15-tiny'));
    const file = await source.fetchFile('text_encoder/config.json');
    const text = new TextDecoder().decode(await readAllBytes(file.stream));
    expect(text.length).toBeGreaterThan(0);
    expect(file.size).toBe(new TextEncoder().encode(text).byteLength);
  });

  it('reports a missing file as ModelFileNotFoundError naming it', async () => {
    const err = await new LocalFolderSource(fixturePath('pipeline-sd15-tiny')).readText('unet/nope.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFileNotFoundError);
    expect((err as ModelFileNotFoundError).path).toBe('unet/nope.json');
  });

  it('refuses paths with ".."', async () => {
    await expect(new LocalFolderSource(fixturePath('pipeline-sd15-tiny')).readText('../README.md')).rejects.toThrow(/without "\.\."/);
  });
});
