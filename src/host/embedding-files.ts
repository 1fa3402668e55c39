import type { EmbeddingConfig } from '../api/embeddings.js';
import { readAllBytes } from '../io/byte-source.js';
import { FileTooLargeError } from '../io/errors.js';
import { resolveModelSource } from '../io/sources/resolve-source.js';
import { MAX_EMBEDDING_FILE_BYTES } from '../models/textual-inversion/embedding-file.js';
import { refusePickleName } from '../models/textual-inversion/pickle.js';
import type { EmbeddingFileSpec } from '../pipelines/textual-inversion.js';

/**
 * The config's embedding files, ready to load with the model: a `File` as it is (it can be read
 * again), a path, URL or Hub file read into memory once (embeddings are small, at most
 * `MAX_EMBEDDING_FILE_BYTES`), so that a reload after a device loss reads nothing again. A
 * pickle is refused by its name before anything is downloaded (`EmbeddingPickleError`).
 */
export async function readEmbeddingFiles(configs: readonly EmbeddingConfig[], signal?: AbortSignal): Promise<EmbeddingFileSpec[]> {
  return Promise.all(
    configs.map(async ({ source, token }): Promise<EmbeddingFileSpec> => {
      const withToken = token !== undefined ? { token } : {};
      if (typeof source !== 'string') {
        refusePickleName(source.name);
        return { source, file: source.name, ...withToken };
      }
      refusePickleName(source);
      const cut = source.lastIndexOf('/');
      const folder = await resolveModelSource(cut < 0 ? '.' : source.slice(0, cut) || '/');
      const name = source.slice(cut + 1);
      const { stream, size } = await folder.fetchFile(name, signal ? { signal } : {});
      if (size !== null && size > MAX_EMBEDDING_FILE_BYTES) {
        // Not awaited: a tee()d body settles its cancel only once every branch is cancelled.
        stream.cancel().catch(() => undefined);
        throw new FileTooLargeError(source, size, MAX_EMBEDDING_FILE_BYTES);
      }
      return { source: await readAllBytes(stream, signal, { maxBytes: MAX_EMBEDDING_FILE_BYTES, file: source }), file: source, ...withToken };
    }),
  );
}
