import { openByteSource, readAllBytes, type ByteSource } from '../../io/byte-source.js';
import { FileTooLargeError } from '../../io/errors.js';
import { readSafetensors, type SafetensorsTensor } from '../../io/safetensors.js';
import { safeSnippet } from '../../io/snippet.js';
import { baseName, embeddingFromTensor, FLOAT_DTYPES, type EmbeddingFileFormat, type TextualInversionEmbedding } from './embedding-tensor.js';
import { EmbeddingFileError } from './errors.js';
import { refusePickleBytes, refusePickleName } from './pickle.js';
import { isSdxlEmbeddingLayout, sdxlEmbeddingFromTensors, type SdxlHiddenSizes, type SdxlTextualInversionEmbedding } from './sdxl-embedding.js';

/**
 * Largest embedding file read, in bytes. An embedding is a few vectors: 75 of SDXL's widest
 * (1280 floats) are 384 KB; 16 MiB leaves room for metadata and float64 while a wrong file
 * (a checkpoint picked by mistake) fails at once instead of being buffered.
 */
export const MAX_EMBEDDING_FILE_BYTES = 16 << 20;

export { MAX_EMBEDDING_VECTORS, type EmbeddingFileFormat, type TextualInversionEmbedding } from './embedding-tensor.js';

/** Options of `readEmbeddingFile`. */
export interface ReadEmbeddingOptions {
  /** The file's name: shown in errors, and the token of an A1111 file when `token` is not given. */
  file: string;
  /** The token to load it under; overrides the file's own (diffusers' `token=`). */
  token?: string;
  /** The text encoder's hidden size: a file of another width is refused. */
  hiddenSize?: number;
  signal?: AbortSignal;
}

/** Options of `readTextualInversionFile`: those of `readEmbeddingFile`, and SDXL's two widths. */
export interface ReadTextualInversionOptions extends ReadEmbeddingOptions {
  /** SDXL's text encoders' hidden sizes: an SDXL file of other widths is refused. */
  sdxlHiddenSizes?: SdxlHiddenSizes;
}

/** What an embedding file holds: one embedding for one text encoder, or SDXL's pair. */
export type TextualInversionFile =
  | { readonly kind: 'single'; readonly embedding: TextualInversionEmbedding }
  | { readonly kind: 'sdxl'; readonly embedding: SdxlTextualInversionEmbedding };

/**
 * Reads a textual-inversion embedding from a safetensors file, in any of the layouts in use:
 * - AUTOMATIC1111 / kohya: `{"emb_params": [n, hidden]}`, or a converted A1111 `.pt` with
 *   `string_to_param.*`; the file holds no token, so it is `options.token` or the file name
 *   without its extension, as A1111 names it.
 * - diffusers `learned_embeds.safetensors`: `{"<token>": [n, hidden]}` or a single `[hidden]`
 *   vector; the key is the token unless `options.token` is given.
 *
 * Pickles (`.pt`, `.bin`, `.ckpt`, or pickle or zip bytes under any name) are refused with
 * `EmbeddingPickleError`, unread; a malformed file with `SafetensorsError`; a file over
 * `MAX_EMBEDDING_FILE_BYTES` with `FileTooLargeError`; no or several candidate tensors, another
 * shape or hidden size, more than `MAX_EMBEDDING_VECTORS` vectors, NaN or infinite values, or an empty token with `EmbeddingFileError`
 * naming the file and the key.
 */
export async function readEmbeddingFile(source: ByteSource, options: ReadEmbeddingOptions): Promise<TextualInversionEmbedding> {
  const tensors = await readEmbeddingTensors(source, options);
  return singleEmbedding(options.file, tensors, options);
}

/**
 * Reads an embedding file of any layout `readEmbeddingFile` knows, or an SDXL embedding
 * (`{"clip_l": [n, 768], "clip_g": [n, 1280]}`, as Civitai ships them), whose token is
 * `options.token` or the file name without its extension. Refused as `readEmbeddingFile` refuses,
 * and SDXL files as `sdxlEmbeddingFromTensors` does.
 */
export async function readTextualInversionFile(source: ByteSource, options: ReadTextualInversionOptions): Promise<TextualInversionFile> {
  const { file } = options;
  const tensors = await readEmbeddingTensors(source, options);
  if (!isSdxlEmbeddingLayout(tensors)) return { kind: 'single', embedding: singleEmbedding(file, tensors, options) };
  const token = options.token ?? baseName(file);
  if (token === '') throw new EmbeddingFileError(file, null, 'the token is empty; give the embedding a token to load it under.');
  return { kind: 'sdxl', embedding: sdxlEmbeddingFromTensors(file, tensors, token, options.sdxlHiddenSizes) };
}

/** The file's tensors, once it is known not to be a pickle nor too large. */
async function readEmbeddingTensors(source: ByteSource, options: ReadEmbeddingOptions): Promise<Map<string, SafetensorsTensor>> {
  const { file } = options;
  refusePickleName(file);
  const { stream, size } = await openByteSource(source);
  if (size !== null && size > MAX_EMBEDDING_FILE_BYTES) {
    // Not awaited: a tee()d body settles its cancel only once every branch is cancelled.
    stream.cancel().catch(() => undefined);
    throw new FileTooLargeError(file, size, MAX_EMBEDDING_FILE_BYTES);
  }
  const bytes = await readAllBytes(stream, options.signal, { maxBytes: MAX_EMBEDDING_FILE_BYTES, file });
  refusePickleBytes(file, bytes);
  return readSafetensors(bytes, { file, ...(options.signal ? { signal: options.signal } : {}) });
}

/** The one-encoder embedding of the file's tensors. */
function singleEmbedding(file: string, tensors: Map<string, SafetensorsTensor>, options: ReadEmbeddingOptions): TextualInversionEmbedding {
  const tensor = candidate(file, tensors);
  const format: EmbeddingFileFormat = tensor.name === 'emb_params' || tensor.name.startsWith('string_to_param.') ? 'a1111' : 'diffusers';
  const token = options.token ?? (format === 'a1111' ? baseName(file) : tensor.name);
  if (token === '') throw new EmbeddingFileError(file, tensor.name, 'the token is empty; give the embedding a token to load it under.');
  return embeddingFromTensor(file, tensor, format, token, options.hiddenSize);
}

/** The one float tensor of the file; SDXL's two-encoder files (`clip_l`, `clip_g`) are named as such. */
function candidate(file: string, tensors: Map<string, SafetensorsTensor>): SafetensorsTensor {
  const floats = [...tensors.values()].filter((t) => FLOAT_DTYPES.has(t.dtype));
  if (isSdxlEmbeddingLayout(tensors)) {
    throw new EmbeddingFileError(file, null, 'it is an SDXL embedding (clip_l and clip_g, one per text encoder), not a one-encoder embedding (SD 1.x, SD 2.x); read it with readTextualInversionFile.');
  }
  if (floats.length === 1) return floats[0]!;
  if (floats.length === 0) {
    const keys = [...tensors.keys()];
    throw new EmbeddingFileError(file, null, `it holds no float tensor to use as the embedding (${keys.length === 0 ? 'no tensors' : `tensors: ${quoteKeys(keys)}`}).`);
  }
  throw new EmbeddingFileError(
    file,
    null,
    `it holds ${floats.length} float tensors (${quoteKeys(floats.map((t) => t.name))}); an embedding file has one: emb_params, string_to_param.*, or the token.`,
  );
}

function quoteKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, 5).map((k) => `"${safeSnippet(k)}"`);
  return keys.length > 5 ? `${shown.join(', ')} and ${keys.length - 5} more` : shown.join(', ');
}
