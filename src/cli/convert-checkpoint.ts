import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import type { JsonObject } from '../io/diffusers-repo.js';
import { readJsonObject } from '../io/diffusers-repo.js';
import { ModelFileNotFoundError } from '../io/errors.js';
import type { SingleFileSource } from '../io/single-file/single-file-source.js';
import { MAX_CONFIG_FILE_BYTES } from '../io/sources/model-source.js';

/** The components a converted folder holds; `model_index.json` lists the others as absent. */
const WRITTEN_COMPONENTS = ['text_encoder', 'tokenizer', 'unet', 'vae', 'scheduler'];

/** SDXL's second text encoder and tokenizer, written beside the others for an SDXL checkpoint. */
const SDXL_COMPONENTS = ['text_encoder_2', 'tokenizer_2'];

/** The files of the converted folder besides `model_index.json`; `optional` ones are copied when the config repo has them. */
const FILES: ReadonlyArray<{ path: string; optional?: boolean }> = [
  { path: 'text_encoder/config.json' },
  { path: 'unet/config.json' },
  { path: 'vae/config.json' },
  { path: 'scheduler/scheduler_config.json' },
  { path: 'tokenizer/vocab.json' },
  { path: 'tokenizer/merges.txt' },
  { path: 'tokenizer/tokenizer_config.json' },
  { path: 'tokenizer/special_tokens_map.json', optional: true },
];

/** SDXL's `text_encoder_2` config and `tokenizer_2`. */
const SDXL_FILES: ReadonlyArray<{ path: string; optional?: boolean }> = [
  { path: 'text_encoder_2/config.json' },
  { path: 'tokenizer_2/vocab.json' },
  { path: 'tokenizer_2/merges.txt' },
  { path: 'tokenizer_2/tokenizer_config.json' },
  { path: 'tokenizer_2/special_tokens_map.json', optional: true },
];

/** What `writeDiffusersFolder` wrote. */
export interface ConvertedFolder {
  /** Model-relative paths, in the order written. */
  files: string[];
  /** Bytes of the weight files. */
  weightBytes: number;
}

/**
 * Writes a single-file checkpoint as a diffusers folder at `out` (which must exist, empty): a
 * `model_index.json` (the config repo's, its components other than the text encoder, tokenizer,
 * UNet, VAE and scheduler, and SDXL's `text_encoder_2` and `tokenizer_2`, set absent), each
 * component's config, tokenizer and scheduler copied from the config repo, and each component's
 * weights as diffusers-named safetensors, streamed from the checkpoint to disk (see
 * `SingleFileSource`). The folder loads like any diffusers repo.
 */
export async function writeDiffusersFolder(
  source: SingleFileSource,
  out: string,
  options: { signal?: AbortSignal; onFile?: (path: string, bytes: number) => void } = {},
): Promise<ConvertedFolder> {
  const fetch = options.signal ? { signal: options.signal } : {};
  const index = await readJsonObject(source, 'model_index.json', { ...fetch, maxBytes: MAX_CONFIG_FILE_BYTES });
  const sdxl = source.architecture === 'sdxl';
  const written = [...WRITTEN_COMPONENTS, ...(sdxl ? SDXL_COMPONENTS : [])];
  const modelIndex: JsonObject = Object.fromEntries(
    Object.entries(index).map(([key, value]) => [key, key.startsWith('_') || !Array.isArray(value) || written.includes(key) ? value : [null, null]]),
  );
  const files: string[] = [];
  const write = async (path: string, stream: ReadableStream<Uint8Array>): Promise<number> => {
    const target = join(out, ...path.split('/'));
    await mkdir(dirname(target), { recursive: true });
    let bytes = 0;
    const counted = stream.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          bytes += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
    );
    await counted.pipeTo(Writable.toWeb(createWriteStream(target)) as WritableStream<Uint8Array>, options.signal ? { signal: options.signal } : {});
    files.push(path);
    options.onFile?.(path, bytes);
    return bytes;
  };
  const json = new TextEncoder().encode(`${JSON.stringify(modelIndex, null, 2)}\n`);
  await write('model_index.json', new Blob([json]).stream());
  for (const file of [...FILES, ...(sdxl ? SDXL_FILES : [])]) {
    let opened;
    try {
      opened = await source.fetchFile(file.path, fetch);
    } catch (err) {
      if (file.optional && err instanceof ModelFileNotFoundError) continue;
      throw err;
    }
    await write(file.path, opened.stream);
  }
  let weightBytes = 0;
  for (const path of source.weightPaths()) weightBytes += await write(path, (await source.fetchFile(path, fetch)).stream);
  return { files, weightBytes };
}
