import type { AddedTokenEmbeddings } from '../models/clip/added-token-embeddings.js';
import type { CLIPTextModel } from '../models/clip/clip-text-model.js';
import type { CLIPTokenizer } from '../models/tokenizer/clip-tokenizer.js';
import type { GpuOps } from '../webgpu/kernels/gpu-ops.js';
import type { GpuTensor } from '../webgpu/tensor.js';
import { clipPromptEncoder, type PromptEncoder } from './conditioning.js';
import { sdxlPromptEncoder } from './sdxl-conditioning.js';

/** A model's text side: one (tokenizer, encoder) pair, or SDXL's two. */
export interface TextEncoders {
  readonly tokenizer: CLIPTokenizer;
  readonly textEncoder: CLIPTextModel<GpuTensor>;
  /** `textEncoder`'s rows for textual-inversion tokens past its vocabulary; null or absent without. */
  readonly addedTokens?: AddedTokenEmbeddings<GpuTensor> | null;
  /**
   * SDXL's `tokenizer_2` and `text_encoder_2` (a `CLIPTextModelWithProjection`), with its rows for
   * the textual-inversion tokens of `tokenizer_2`; null otherwise.
   */
  readonly second: {
    readonly tokenizer: CLIPTokenizer;
    readonly textEncoder: CLIPTextModel<GpuTensor>;
    readonly addedTokens?: AddedTokenEmbeddings<GpuTensor> | null;
    readonly forceZerosForEmptyPrompt: boolean;
  } | null;
}

/**
 * The prompt encoder of a model on the WebGPU kernels, its encoders running with the
 * pipeline's `activations`: Stable Diffusion's `last_hidden_state`, or with a second encoder
 * SDXL's conditioning (`sdxlPromptEncoder`); both read A1111 prompt syntax.
 */
export function gpuPromptEncoder(ops: GpuOps, activations: 'f32' | 'f16', t: TextEncoders): PromptEncoder<GpuTensor> {
  const rt = ops.runtime;
  const tokenize = (prompts: readonly string[]): Int32Array => t.tokenizer.call(prompts);
  const second = t.second;
  const added = t.addedTokens ? { addedTokens: t.addedTokens } : {};
  // A1111 weighting moves the embeddings through the host, keeping their storage dtype.
  const host = {
    read: (x: GpuTensor) => ops.read(x),
    upload: (data: Float32Array, shape: readonly number[], like: GpuTensor) => ops.upload(data, shape, like.dtype === 'f16' ? 'f16' : 'f32'),
    release: (x: GpuTensor) => ops.release(x),
  };
  if (!second) {
    return clipPromptEncoder(tokenize, (ids, rows) => {
      const out = rt.withActivations(activations, () => t.textEncoder.forward(ids, [rows, ids.length / rows], added));
      ops.release(out.poolerOutput);
      if (out.textEmbeds) ops.release(out.textEmbeds);
      return out.lastHiddenState;
    }, { tokenizer: t.tokenizer, ...host });
  }
  return sdxlPromptEncoder<GpuTensor>({
    tokenize,
    tokenize2: (prompts) => second.tokenizer.call(prompts),
    encode: (ids, rows) => rt.withActivations(activations, () => t.textEncoder.forwardPenultimate(ids, [rows, ids.length / rows], added)),
    encode2: (ids, rows) => {
      const added2 = second.addedTokens ? { addedTokens: second.addedTokens } : {};
      const out = rt.withActivations(activations, () => second.textEncoder.forward(ids, [rows, ids.length / rows], { penultimate: true, ...added2 }));
      ops.release(out.lastHiddenState);
      ops.release(out.poolerOutput);
      // `readTextSide` checked that text_encoder_2 has the projection.
      return { hiddenStates: out.penultimateHiddenState, textEmbeds: out.textEmbeds! };
    },
    concatFeatures: (a, b) => {
      const [R, L] = a.shape as [number, number, number];
      const fa = ops.reshape(a, [R * L, a.shape[2]!]);
      const fb = ops.reshape(b, [R * L, b.shape[2]!]);
      const joined = ops.concatChannels(fa, fb);
      ops.release(fa);
      ops.release(fb);
      const out = ops.reshape(joined, [R, L, joined.shape[1]!]);
      ops.release(joined);
      return out;
    },
    concatBatch: (a, b) => concatBatch(ops, a, b),
    zerosLike: (x) => ops.upload(new Float32Array(x.size), x.shape, x.dtype === 'f16' ? 'f16' : 'f32'),
    release: (x) => ops.release(x),
    forceZerosForEmptyPrompt: second.forceZerosForEmptyPrompt,
    a1111: { tokenizer: t.tokenizer, tokenizer2: second.tokenizer, ...host },
  });
}

/** [a; b] along dim 0 (same trailing dims). */
export function concatBatch(ops: GpuOps, a: GpuTensor, b: GpuTensor): GpuTensor {
  const fa = ops.reshape(a, [1, a.size]);
  const fb = ops.reshape(b, [1, b.size]);
  const joined = ops.concatChannels(fa, fb);
  ops.release(fa);
  ops.release(fb);
  const out = ops.reshape(joined, [a.shape[0]! + b.shape[0]!, ...a.shape.slice(1)]);
  ops.release(joined);
  return out;
}
