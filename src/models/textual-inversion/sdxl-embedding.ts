import type { SafetensorsTensor } from '../../io/safetensors.js';
import { safeSnippet } from '../../io/snippet.js';
import { embeddingFromTensor, FLOAT_DTYPES, type TextualInversionEmbedding } from './embedding-tensor.js';
import { EmbeddingFileError } from './errors.js';

/** SDXL's keys: the vectors of `text_encoder` (CLIP ViT-L) and of `text_encoder_2` (OpenCLIP bigG), as Civitai's SDXL embeddings ship. */
export const SDXL_EMBEDDING_KEYS = ['clip_l', 'clip_g'] as const;

/**
 * An SDXL textual-inversion embedding: one token, with its own vectors for each text encoder.
 * diffusers loads it as two `load_textual_inversion` calls under the same token:
 * `clip_l` into `text_encoder` / `tokenizer`, `clip_g` into `text_encoder_2` / `tokenizer_2`.
 */
export interface SdxlTextualInversionEmbedding {
  readonly file: string;
  readonly token: string;
  /** Vectors per encoder, the same for both. */
  readonly numVectors: number;
  /** `clip_l`: for `text_encoder`. */
  readonly clipL: TextualInversionEmbedding;
  /** `clip_g`: for `text_encoder_2`. */
  readonly clipG: TextualInversionEmbedding;
}

/** The text encoders' hidden sizes an SDXL embedding must match (768 and 1280 in SDXL). */
export interface SdxlHiddenSizes {
  readonly clipL: number;
  readonly clipG: number;
}

/** Whether `tensors` are laid out as an SDXL embedding (either of its keys present). */
export function isSdxlEmbeddingLayout(tensors: ReadonlyMap<string, SafetensorsTensor>): boolean {
  return SDXL_EMBEDDING_KEYS.some((k) => tensors.has(k));
}

/**
 * The SDXL embedding of `file`'s `tensors` under `token`. Refused with `EmbeddingFileError`
 * naming the file (and key): a missing `clip_l` or `clip_g`, another float tensor beside them,
 * `clip_l` and `clip_g` with different vector counts, and whatever `embeddingFromTensor` refuses
 * in either (shape, width other than `hiddenSizes`', NaN or infinity).
 */
export function sdxlEmbeddingFromTensors(
  file: string,
  tensors: ReadonlyMap<string, SafetensorsTensor>,
  token: string,
  hiddenSizes?: SdxlHiddenSizes,
): SdxlTextualInversionEmbedding {
  const l = tensors.get('clip_l');
  const g = tensors.get('clip_g');
  if (!l || !g) {
    const has = l ? 'clip_l' : 'clip_g';
    throw new EmbeddingFileError(file, has, `an SDXL embedding has both clip_l (text_encoder) and clip_g (text_encoder_2); this file has ${has} only.`);
  }
  const others = [...tensors.values()].filter((t) => t.name !== 'clip_l' && t.name !== 'clip_g' && FLOAT_DTYPES.has(t.dtype));
  if (others.length > 0) {
    throw new EmbeddingFileError(file, others[0]!.name, `an SDXL embedding holds clip_l and clip_g only; this file also has "${safeSnippet(others[0]!.name)}"${others.length > 1 ? ` and ${others.length - 1} more` : ''}.`);
  }
  const clipL = embeddingFromTensor(file, l, 'sdxl', token, hiddenSizes?.clipL);
  const clipG = embeddingFromTensor(file, g, 'sdxl', token, hiddenSizes?.clipG);
  if (clipL.numVectors !== clipG.numVectors) {
    throw new EmbeddingFileError(
      file,
      null,
      `tensor "clip_l" has ${clipL.numVectors} vectors and tensor "clip_g" ${clipG.numVectors}; an SDXL embedding's token stands for the same number of vectors in both text encoders.`,
    );
  }
  return { file, token, numVectors: clipL.numVectors, clipL, clipG };
}
