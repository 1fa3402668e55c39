import type { SafetensorsTensor } from '../../io/safetensors.js';
import { EmbeddingFileError } from './errors.js';

/**
 * Most vectors one embedding may have: the 75 tokens a CLIP prompt holds between BOS and EOS.
 * More could never all be used, and each occurrence of the token in a prompt becomes that many
 * tokens of text (`maybeConvertPrompt`), so the cap also bounds how much a prompt can grow.
 */
export const MAX_EMBEDDING_VECTORS = 75;

/**
 * The layouts of embedding files this reader knows, by who writes them: AUTOMATIC1111 / kohya,
 * diffusers' `learned_embeds`, and SDXL's two-encoder files (`clip_l`, `clip_g`).
 */
export type EmbeddingFileFormat = 'a1111' | 'diffusers' | 'sdxl';

/** Tensor dtypes an embedding's vectors may have; others (A1111's `string_to_token` ids) are not candidates. */
export const FLOAT_DTYPES: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16', 'F64']);

/** One textual-inversion embedding for one text encoder, read from its file. */
export interface TextualInversionEmbedding {
  /** The file, as named in errors. */
  readonly file: string;
  /** The tensor the vectors came from: `emb_params`, `string_to_param.*`, the token (diffusers), `clip_l` or `clip_g` (SDXL). */
  readonly key: string;
  readonly format: EmbeddingFileFormat;
  /** The token prompts use for it, e.g. `<my-style>`. */
  readonly token: string;
  readonly numVectors: number;
  readonly hiddenSize: number;
  /** [numVectors, hiddenSize], row-major, float32. */
  readonly vectors: Float32Array;
}

/**
 * The embedding held by `tensor` of `file`: `[n, hidden]`, or `[hidden]` as one vector, finite.
 * Refused with `EmbeddingFileError` naming the file and the tensor: a dtype that is not a float, another shape, more than
 * `MAX_EMBEDDING_VECTORS` vectors, a width other than `hiddenSize` (when given), NaN or infinity.
 */
export function embeddingFromTensor(file: string, tensor: SafetensorsTensor, format: EmbeddingFileFormat, token: string, hiddenSize?: number): TextualInversionEmbedding {
  if (!FLOAT_DTYPES.has(tensor.dtype)) throw new EmbeddingFileError(file, tensor.name, `its dtype is ${tensor.dtype}; an embedding's vectors are floats (F32, F16, BF16 or F64).`);
  const [numVectors, width] = vectorShape(file, tensor);
  if (hiddenSize !== undefined && width !== hiddenSize) {
    throw new EmbeddingFileError(file, tensor.name, `its vectors have ${width} values, but the text encoder's hidden size is ${hiddenSize}: the embedding was trained for another model.`);
  }
  // readSafetensors decodes every float dtype (F16, BF16, F64 included) to float32.
  const vectors = tensor.data instanceof Float32Array ? tensor.data : Float32Array.from(tensor.data as ArrayLike<number>);
  const bad = vectors.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) {
    throw new EmbeddingFileError(file, tensor.name, `value ${bad} (vector ${Math.floor(bad / width)}) is ${vectors[bad]}; an embedding must be finite.`);
  }
  return { file, key: tensor.name, format, token, numVectors, hiddenSize: width, vectors };
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
export function baseName(file: string): string {
  const name = file.slice(Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')) + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}
