import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileTooLargeError, ModelFileNotFoundError } from '../../../src/io/errors.js';
import { readEmbeddingFiles } from '../../../src/host/embedding-files.js';
import { MAX_EMBEDDING_FILE_BYTES } from '../../../src/models/textual-inversion/embedding-file.js';
import { EmbeddingPickleError } from '../../../src/models/textual-inversion/errors.js';

describe('readEmbeddingFiles (the engine host)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omni-embeddings-'));
  writeFileSync(join(dir, 'a.safetensors'), new Uint8Array([1, 2, 3]));
  writeFileSync(join(dir, 'big.safetensors'), new Uint8Array(MAX_EMBEDDING_FILE_BYTES + 1));

  it('reads a path into memory once, and passes a File as it is', async () => {
    const file = new File([new Uint8Array(4)], 'b.safetensors');
    const [a, b] = await readEmbeddingFiles([{ source: join(dir, 'a.safetensors'), token: '<a>' }, { source: file }]);
    expect(a).toEqual({ source: new Uint8Array([1, 2, 3]), file: join(dir, 'a.safetensors'), token: '<a>' });
    expect(b).toEqual({ source: file, file: 'b.safetensors' });
  });

  it('refuses pickles by name before reading, a missing file and an over-large one with typed errors', async () => {
    await expect(readEmbeddingFiles([{ source: join(dir, 'nowhere.pt') }])).rejects.toBeInstanceOf(EmbeddingPickleError);
    await expect(readEmbeddingFiles([{ source: new File([], 'x.ckpt') }])).rejects.toBeInstanceOf(EmbeddingPickleError);
    await expect(readEmbeddingFiles([{ source: join(dir, 'missing.safetensors') }])).rejects.toBeInstanceOf(ModelFileNotFoundError);
    await expect(readEmbeddingFiles([{ source: join(dir, 'big.safetensors') }])).rejects.toBeInstanceOf(FileTooLargeError);
  });
});
