import { openByteSource, readAllBytes, type ByteSource } from '../../io/byte-source.js';
import { FileTooLargeError } from '../../io/errors.js';
import { readSafetensors, type SafetensorsTensor } from '../../io/safetensors.js';
import { safeSnippet } from '../../io/snippet.js';
import { EmbeddingFileError } from './errors.js';
import { refusePickleBytes, refusePickleName } from './pickle.js';

/**
 * Largest embedding file read, in bytes. An embedding is a few vectors: 75 of SDXL's widest
 * (1280 floats) are 384 KB; 16 MiB leaves room for metadata and float64 while a wrong file
 * (a checkpoint picked by mistake) fails at once instead of being buffered.
 */
export const MAX_EMBEDDING_FILE_BYTES = 16 << 20;

/**
 * Most vectors one embedding may have: the 75 tokens a CLIP prompt holds between BOS and EOS.
 * More could never all be used, and each occurrence of the token in a prompt becomes that many
 * tokens of text (`maybeConvertPrompt`), so the cap also bounds how much a prompt can grow.
 */
export const MAX_EMBEDDING_VECTORS = 75;

/** The layouts of embedding files this reader knows, by who writes them. */
export type EmbeddingFileFormat = 'a1111' | 'diffusers';

/** One textual-inversion embedding, read from its file. */
export interface TextualInversionEmbedding {
  /** The file, as named in errors. */
  readonly file: string;
  /** The tensor the vectors came from: `emb_params`, `string_to_param.*`, or the token (diffusers). */
  readonly key: string;
  readonly format: EmbeddingFileFormat;
  /** The token prompts use for it, e.g. `<my-style>`. */
  readonly token: string;
  readonly numVectors: number;
  readonly hiddenSize: number;
  /** [numVectors, hiddenSize], row-major, float32. */
  readonly vectors: Float32Array;
}

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

/** Tensor dtypes an embedding's vectors may have; others (A1111's `string_to_token` ids) are not candidates. */
const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16', 'F64']);

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
  const tensors = await readSafetensors(bytes, { file, ...(options.signal ? { signal: options.signal } : {}) });
  const tensor = candidate(file, tensors);
  const format: EmbeddingFileFormat = tensor.name === 'emb_params' || tensor.name.startsWith('string_to_param.') ? 'a1111' : 'diffusers';
  const token = options.token ?? (format === 'a1111' ? baseName(file) : tensor.name);
  if (token === '') throw new EmbeddingFileError(file, tensor.name, 'the token is empty; give the embedding a token to load it under.');
  const [numVectors, hiddenSize] = vectorShape(file, tensor);
  if (options.hiddenSize !== undefined && hiddenSize !== options.hiddenSize) {
    throw new EmbeddingFileError(
      file,
      tensor.name,
      `its vectors have ${hiddenSize} values, but the text encoder's hidden size is ${options.hiddenSize}: the embedding was trained for another model.`,
    );
  }
  const vectors = tensor.data as Float32Array;
  const bad = vectors.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new EmbeddingFileError(file, tensor.name, `value ${bad} (vector ${Math.floor(bad / hiddenSize)}) is ${vectors[bad]}; an embedding must be finite.`);
  }
  return { file, key: tensor.name, format, token, numVectors, hiddenSize, vectors };
}

/** The one float tensor of the file; SDXL's two-encoder files (`clip_l`, `clip_g`) are named as such. */
function candidate(file: string, tensors: Map<string, SafetensorsTensor>): SafetensorsTensor {
  const floats = [...tensors.values()].filter((t) => FLOAT_DTYPES.has(t.dtype));
  if (tensors.has('clip_l') && tensors.has('clip_g')) {
    throw new EmbeddingFileError(file, null, 'it is an SDXL embedding (clip_l and clip_g, one per text encoder); only single-encoder embeddings (SD 1.x, SD 2.x) are supported.');
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

/** `[n, hidden]`, or `[hidden]` as one vector. */
function vectorShape(file: string, tensor: SafetensorsTensor): [number, number] {
  const { shape } = tensor;
  const dims: [number, number] | null = shape.length === 1 ? [1, shape[0]!] : shape.length === 2 ? [shape[0]!, shape[1]!] : null;
  if (dims === null || dims[0] < 1 || dims[1] < 1) {
    throw new EmbeddingFileError(file, tensor.name, `shape [${shape.join(', ')}] is not [vectors, hidden] or [hidden] with both at least 1.`);
  }
  if (dims[0] > MAX_EMBEDDING_VECTORS) {
    throw new EmbeddingFileError(file, tensor.name, `it has ${dims[0]} vectors, more than the ${MAX_EMBEDDING_VECTORS} tokens a CLIP prompt holds.`);
  }
  return dims;
}

/** The file name without folders and extension: the token A1111 gives an embedding. */
function baseName(file: string): string {
  const name = file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

function quoteKeys(keys: readonly string[]): string {
  const shown = keys.slice(0, 5).map((k) => `"${safeSnippet(k)}"`);
  return keys.length > 5 ? `${shown.join(', ')} and ${keys.length - 5} more` : shown.join(', ');
}
