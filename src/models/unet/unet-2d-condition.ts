import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import type { StateDict } from '../../io/state-dict.js';
import { ModelInputError } from '../errors.js';
import { Conv2d, GroupNorm, Linear } from '../layers.js';
import { swap } from '../lifetime.js';
import { ModelWeights, type WeightOptions } from '../weights.js';
import type { LoraTarget } from '../lora/adapter.js';
import { TIME_IDS_PER_ROW, type UNetConfig } from './config.js';
import { TextTimeEmbedding } from './text-time-embedding.js';
import { DownBlock, MidBlock, UpBlock, type BlockContext } from './unet-blocks.js';

/** How a UNet is loaded: weight storage, and the device's binding limit its activations must fit. */
export interface UNetLoadOptions extends WeightOptions {
  /**
   * The most bytes one kernel binding may cover: the device's
   * `min(maxStorageBufferBindingSize, maxBufferSize)`. The transformer feed-forward, whose GEGLU
   * input is the UNet's largest activation, runs over token chunks when it would exceed this
   * (e.g. 512² at batch 4, or 768² and up at batch 2 under WebGPU's default 128 MiB); same
   * result, one pass below it. Default `Infinity`: never chunk.
   */
  maxBindingBytes?: number;
}

/**
 * SDXL's added conditions (diffusers' `added_cond_kwargs`), for a UNet whose config has
 * `addition_embed_type: "text_time"`.
 */
export interface UNetAddedConditions<T> {
  /** The pooled text embedding [B, pooled_dim] (`config.additionEmbed.pooledDim`): text_encoder_2's `text_embeds`. */
  textEmbeds: T;
  /**
   * B×6 values, row by row: each row's `[original_h, original_w, crop_top, crop_left, target_h,
   * target_w]` in pixels.
   */
  timeIds: readonly number[];
}

/**
 * diffusers' `UNet2DConditionModel` (SD 1.x, SD 2.x, SD-Turbo, LCM, SDXL), built from a validated config
 * over `TensorOps`, so it runs on any backend. Weights are uploaded once by `load`.
 */
export class UNet2DConditionModel<T extends TensorLike> {
  private constructor(
    readonly config: UNetConfig,
    private readonly ops: TensorOps<T>,
    private readonly weights: ModelWeights<T>,
    private readonly condProj: Linear<T> | null,
    private readonly addEmbedding: TextTimeEmbedding<T> | null,
    private readonly timeLinear1: Linear<T>,
    private readonly timeLinear2: Linear<T>,
    private readonly convIn: Conv2d<T>,
    private readonly downBlocks: DownBlock<T>[],
    private readonly midBlock: MidBlock<T>,
    private readonly upBlocks: UpBlock<T>[],
    private readonly convNormOut: GroupNorm<T>,
    private readonly convOut: Conv2d<T>,
  ) {}

  /**
   * Builds the model from `dict` (the checkpoint's tensors under diffusers' key names). Every key
   * must be taken: `dict.finish()` is called here, so a checkpoint that does not match the config
   * throws `StateDictMismatchError`; a missing key or a wrong shape throws `MissingWeightError` or
   * `WeightShapeError` naming the key.
   */
  static load<T extends TensorLike>(ops: TensorOps<T>, config: UNetConfig, dict: StateDict, options: UNetLoadOptions = {}): UNet2DConditionModel<T> {
    const maxBindingBytes = options.maxBindingBytes ?? Infinity;
    if (!(maxBindingBytes > 0)) throw new ModelInputError('UNet2DConditionModel', `maxBindingBytes = ${maxBindingBytes} must be a positive number of bytes (or Infinity).`);
    const w = new ModelWeights(ops, dict, options);
    try {
      const model = UNet2DConditionModel.build(w, config, maxBindingBytes);
      dict.finish();
      return model;
    } catch (err) {
      w.releaseAll();
      throw err;
    }
  }

  private static build<T extends TensorLike>(w: ModelWeights<T>, c: UNetConfig, maxBindingBytes: number): UNet2DConditionModel<T> {
    const channels = c.blockOutChannels;
    const n = channels.length;
    const c0 = channels[0]!;
    const temb = 4 * c0;
    const ctx: BlockContext = {
      groups: c.normNumGroups,
      eps: c.normEps,
      tembChannels: temb,
      contextDim: c.crossAttentionDim,
      linearProjection: c.useLinearProjection,
      maxBindingBytes,
    };
    const condProj = c.timeCondProjDim === null ? null : Linear.load(w, 'time_embedding.cond_proj', c.timeCondProjDim, c0, false);
    const timeLinear1 = Linear.load(w, 'time_embedding.linear_1', c0, temb);
    const timeLinear2 = Linear.load(w, 'time_embedding.linear_2', temb, temb);
    const addEmbedding = c.additionEmbed === null ? null : TextTimeEmbedding.load(w, c.additionEmbed, temb, { flipSinToCos: c.flipSinToCos, downscaleFreqShift: c.freqShift });
    // Up block i mirrors down block n-1-i; the mid block sits below the last down block.
    const layersReversed = [...c.transformerLayersPerBlock].reverse();
    const convIn = Conv2d.load(w, 'conv_in', c.inChannels, c0, 3);

    // Widths of the skip tensors, in push order, so that each up-block resnet knows what it concatenates.
    const skipChannels = [c0];
    const downBlocks = c.downBlockTypes.map((type, i) => {
      const last = i === n - 1;
      const block = DownBlock.load(
        w,
        `down_blocks.${i}`,
        {
          inChannels: i === 0 ? c0 : channels[i - 1]!,
          outChannels: channels[i]!,
          layers: c.layersPerBlock,
          heads: type === 'CrossAttnDownBlock2D' ? c.headsPerBlock[i]! : null,
          transformerLayers: c.transformerLayersPerBlock[i]!,
          downsample: !last,
        },
        ctx,
      );
      for (let j = 0; j < c.layersPerBlock + (last ? 0 : 1); j++) skipChannels.push(channels[i]!);
      return block;
    });

    const deepest = channels[n - 1]!;
    const midBlock = MidBlock.load(w, 'mid_block', deepest, c.headsPerBlock[n - 1]!, c.transformerLayersPerBlock[n - 1]!, ctx);

    let prev = deepest;
    const upBlocks = c.upBlockTypes.map((type, i) => {
      const out = channels[n - 1 - i]!;
      const skips = Array.from({ length: c.layersPerBlock + 1 }, () => skipChannels.pop()!);
      const block = UpBlock.load(
        w,
        `up_blocks.${i}`,
        {
          prevChannels: prev,
          outChannels: out,
          skipChannels: skips,
          heads: type === 'CrossAttnUpBlock2D' ? c.headsPerBlock[n - 1 - i]! : null,
          transformerLayers: layersReversed[i]!,
          upsample: i < n - 1,
        },
        ctx,
      );
      prev = out;
      return block;
    });

    const convNormOut = GroupNorm.load(w, 'conv_norm_out', c0, c.normNumGroups, c.normEps);
    const convOut = Conv2d.load(w, 'conv_out', c0, c.outChannels, 3);
    return new UNet2DConditionModel(c, w.ops, w, condProj, addEmbedding, timeLinear1, timeLinear2, convIn, downBlocks, midBlock, upBlocks, convNormOut, convOut);
  }

  /**
   * One denoising call: `sample` [B, in_channels, H, W], `timesteps` one per batch row (or one for
   * all), `encoderHiddenStates` [B, L, cross_attention_dim], and for LCM-style models
   * `timestepCond` [B, time_cond_proj_dim]; SDXL-style (`text_time`) models require `added`, and
   * other models refuse it. Returns the prediction [B, out_channels, H, W]. The inputs are not
   * released. H and W may be any size: a side that does not halve evenly is padded by the
   * stride-2 downsamplers and upsampled back to its skip's size, as in diffusers. Throws `ModelInputError` on
   * inputs of the wrong shape or a missing or unexpected condition.
   */
  forward(sample: T, timesteps: readonly number[], encoderHiddenStates: T, timestepCond?: T, added?: UNetAddedConditions<T>): T {
    const ops = this.ops;
    const c = this.config;
    this.checkInputs(sample, timesteps, encoderHiddenStates, timestepCond);
    this.checkAdded(sample.shape[0]!, added);
    const B = sample.shape[0]!;
    const perRow = timesteps.length === 1 ? new Array<number>(B).fill(timesteps[0]!) : timesteps;

    let tEmb = ops.timestepEmbedding(perRow, c.blockOutChannels[0]!, { flipSinToCos: c.flipSinToCos, downscaleFreqShift: c.freqShift });
    if (this.condProj && timestepCond) {
      const cond = this.condProj.forward(ops, timestepCond);
      tEmb = swap(ops, tEmb, ops.add(tEmb, cond));
      ops.release(cond);
    }
    let tembAct = swap(ops, tEmb, this.timeLinear1.forward(ops, tEmb, 'silu'));
    // Every resnet applies SiLU to the time embedding before its projection, so fuse it here
    // once; with an added embedding the SiLU must come after the sum, so it runs on its own.
    if (this.addEmbedding && added) {
      let emb = swap(ops, tembAct, this.timeLinear2.forward(ops, tembAct));
      const extra = this.addEmbedding.forward(ops, added.textEmbeds, added.timeIds);
      emb = swap(ops, emb, ops.add(emb, extra));
      ops.release(extra);
      tembAct = swap(ops, emb, ops.unary(emb, 'silu'));
    } else {
      tembAct = swap(ops, tembAct, this.timeLinear2.forward(ops, tembAct, 'silu'));
    }

    let h = this.convIn.forward(ops, sample);
    const skips: T[] = [h];
    for (const block of this.downBlocks) h = block.forward(ops, h, tembAct, encoderHiddenStates, skips);
    h = this.midBlock.forward(ops, h, tembAct, encoderHiddenStates);
    for (const block of this.upBlocks) h = block.forward(ops, h, tembAct, encoderHiddenStates, skips);
    ops.release(tembAct);

    h = swap(ops, h, this.convNormOut.forward(ops, h, true));
    return swap(ops, h, this.convOut.forward(ops, h));
  }

  /** The model's Linear and Conv2d layers by diffusers module path: what a LoRA can adapt. */
  get loraTargets(): ReadonlyMap<string, LoraTarget<T>> {
    return this.weights.layers;
  }

  /** Releases the model's weights; the model cannot be used afterwards. */
  release(): void {
    this.weights.releaseAll();
  }

  private checkInputs(sample: T, timesteps: readonly number[], ehs: T, cond: T | undefined): void {
    const c = this.config;
    const fail = (msg: string): never => {
      throw new ModelInputError('UNet2DConditionModel', msg);
    };
    if (sample.shape.length !== 4 || sample.shape[1] !== c.inChannels) fail(`sample has shape [${sample.shape}], expected [B, ${c.inChannels}, H, W].`);
    const B = sample.shape[0]!;
    if (timesteps.length !== 1 && timesteps.length !== B) fail(`got ${timesteps.length} timesteps for a batch of ${B}; pass one, or one per row.`);
    if (ehs.shape.length !== 3 || ehs.shape[0] !== B || ehs.shape[2] !== c.crossAttentionDim) {
      fail(`encoderHiddenStates has shape [${ehs.shape}], expected [${B}, L, ${c.crossAttentionDim}].`);
    }
    if (cond) {
      if (c.timeCondProjDim === null) fail('timestepCond was given, but the config has no time_cond_proj_dim.');
      if (cond.shape.length !== 2 || cond.shape[0] !== B || cond.shape[1] !== c.timeCondProjDim) {
        fail(`timestepCond has shape [${cond.shape}], expected [${B}, ${c.timeCondProjDim}].`);
      }
    }
  }

  private checkAdded(B: number, added: UNetAddedConditions<T> | undefined): void {
    const a = this.config.additionEmbed;
    const fail = (msg: string): never => {
      throw new ModelInputError('UNet2DConditionModel', msg);
    };
    if (a === null) {
      if (added) fail('added conditions (textEmbeds, timeIds) were given, but the config has no addition_embed_type "text_time".');
      return;
    }
    if (!added) return fail('the config has addition_embed_type "text_time": pass added conditions (textEmbeds [B, pooled_dim] and B×6 timeIds).');
    const { textEmbeds, timeIds } = added;
    if (textEmbeds.shape.length !== 2 || textEmbeds.shape[0] !== B || textEmbeds.shape[1] !== a.pooledDim) {
      fail(`textEmbeds has shape [${textEmbeds.shape}], expected [${B}, ${a.pooledDim}].`);
    }
    if (timeIds.length !== B * TIME_IDS_PER_ROW) fail(`got ${timeIds.length} timeIds for a batch of ${B}; pass ${TIME_IDS_PER_ROW} per row (${B * TIME_IDS_PER_ROW}).`);
    if (!timeIds.every(Number.isFinite)) fail('timeIds must be finite numbers (sizes and crop offsets in pixels).');
  }
}
