import type { FetchFileOptions, ModelSource } from '../../io/sources/model-source.js';
import { ModelFileNotFoundError } from '../../io/errors.js';
import { CLIPTokenizer } from './clip-tokenizer.js';
import { TokenizerFileError } from './errors.js';

/**
 * Loads the CLIP tokenizer in `folder` of a model: `vocab.json` and `merges.txt`, or
 * `tokenizer.json` when there is no `vocab.json`; `tokenizer_config.json` and
 * `special_tokens_map.json` when present. Missing or malformed files throw `TokenizerFileError`
 * naming them; other source errors (network, permissions) are passed on.
 */
export async function loadCLIPTokenizer(source: ModelSource, folder = 'tokenizer', options: FetchFileOptions = {}): Promise<CLIPTokenizer> {
  const path = (name: string): string => (folder ? `${folder}/${name}` : name);
  const read = (name: string): Promise<string | null> =>
    source.readText(path(name), options).catch((err: unknown) => {
      if (err instanceof ModelFileNotFoundError) return null;
      throw err;
    });
  const [vocab, merges, config, specialTokensMap] = await Promise.all([read('vocab.json'), read('merges.txt'), read('tokenizer_config.json'), read('special_tokens_map.json')]);
  const location = `${source.id}/${folder}`.replace(/\/$/, '');
  if (vocab !== null) {
    if (merges === null) throw new TokenizerFileError(`${location}/merges.txt`, `missing: ${location}/vocab.json needs its merges.txt.`);
    return CLIPTokenizer.fromFiles({ vocab, merges, config, specialTokensMap, location });
  }
  const tokenizerJson = await read('tokenizer.json');
  if (tokenizerJson === null) {
    throw new TokenizerFileError(`${location}/vocab.json`, `missing: ${location} has neither vocab.json and merges.txt nor tokenizer.json.`);
  }
  return CLIPTokenizer.fromFiles({ tokenizerJson, config, specialTokensMap, location });
}
