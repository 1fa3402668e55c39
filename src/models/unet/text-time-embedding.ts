import type { TensorLike, TensorOps, TimestepEmbeddingOptions } from '../../webgpu/kernels/ops.js';
import { Linear } from '../layers.js';
import { moveReshape, swap } from '../lifetime.js';
import type { ModelWeights } from '../weights.js';
import { TIME_IDS_PER_ROW, type AdditionEmbedConfig } from './config.js';

/**
 * SDXL's added conditioning (diffusers' `addition_embed_type: "text_time"`): `add_time_proj`
 * embeds each of a row's six `time_ids` sinusoidally (as the timestep is, at width
 * `addition_time_embed_dim`), the six are concatenated after the pooled `text_embeds`, and
 * `add_embedding` (a TimestepEmbedding: `linear_1`, SiLU, `linear_2`) maps the result to the
 * time-embedding width. The UNet adds it to its time embedding before any resnet sees it.
 */
export class TextTimeEmbedding<T extends TensorLike> {
  private constructor(
    readonly config: AdditionEmbedConfig,
    private readonly sinusoid: TimestepEmbeddingOptions,
    private readonly linear1: Linear<T>,
    private readonly linear2: Linear<T>,
  ) {}

  /**
   * Loads `add_embedding.linear_1` and `.linear_2` (`add_time_proj` has no weights).
   * `sinusoid` is the timestep's own `flip_sin_to_cos`/`freq_shift`, which diffusers reuses.
   */
  static load<T extends TensorLike>(w: ModelWeights<T>, config: AdditionEmbedConfig, tembChannels: number, sinusoid: TimestepEmbeddingOptions): TextTimeEmbedding<T> {
    const inputDim = config.pooledDim + TIME_IDS_PER_ROW * config.timeEmbedDim;
    return new TextTimeEmbedding(
      config,
      sinusoid,
      Linear.load(w, 'add_embedding.linear_1', inputDim, tembChannels),
      Linear.load(w, 'add_embedding.linear_2', tembChannels, tembChannels),
    );
  }

  /**
   * `textEmbeds` [B, pooled_dim] (not released) and `timeIds`, B×6 values row by row →
   * `add_embedding(concat([text_embeds, time_embeds], -1))` [B, temb]. Shapes are the caller's
   * to check.
   */
  forward(ops: TensorOps<T>, textEmbeds: T, timeIds: readonly number[]): T {
    const B = textEmbeds.shape[0]!;
    const d = this.config.timeEmbedDim;
    // One sinusoid row per time id, then each batch row's six side by side: [B·6, d] → [B, 6·d].
    let timeEmbeds = ops.timestepEmbedding(timeIds, d, this.sinusoid);
    timeEmbeds = moveReshape(ops, timeEmbeds, [B, TIME_IDS_PER_ROW * d]);
    let h = swap(ops, timeEmbeds, ops.concatChannels(textEmbeds, timeEmbeds));
    h = swap(ops, h, this.linear1.forward(ops, h, 'silu'));
    return swap(ops, h, this.linear2.forward(ops, h));
  }
}
