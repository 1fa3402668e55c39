import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import type { StateDict } from '../../io/state-dict.js';
import { ModelInputError } from '../errors.js';
import { Conv2d, GroupNorm, Linear } from '../layers.js';
import { swap } from '../lifetime.js';
import { ModelWeights, type WeightOptions } from '../weights.js';
import type { UNetConfig } from './config.js';
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
 * diffusers' `UNet2DConditionModel` (SD 1.x, SD 2.x, SD-Turbo, LCM), built from a validated config
 * over `TensorOps`, so it runs on any backend. Weights are uploaded once by `load`.
 */
export class UNet2DConditionModel<T extends TensorLike> {
  private constructor(
    readonly config: UNetConfig,
    private readonly ops: TensorOps<T>,
    private readonly weights: ModelWeights<T>,
    private readonly condProj: Linear<T> | null,
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
          downsample: !last,
        },
        ctx,
      );
      for (let j = 0; j < c.layersPerBlock + (last ? 0 : 1); j++) skipChannels.push(channels[i]!);
      return block;
    });

    const deepest = channels[n - 1]!;
    const midBlock = MidBlock.load(w, 'mid_block', deepest, c.headsPerBlock[n - 1]!, ctx);

    let prev = deepest;
    const upBlocks = c.upBlockTypes.map((type, i) => {
      const out = channels[n - 1 - i]!;
      const skips = Array.from({ length: c.layersPerBlock + 1 }, () => skipChannels.pop()!);
      const block = UpBlock.load(
        w,
        `up_blocks.${i}`,
        { prevChannels: prev, outChannels: out, skipChannels: skips, heads: type === 'CrossAttnUpBlock2D' ? c.headsPerBlock[n - 1 - i]! : null, upsample: i < n - 1 },
        ctx,
      );
      prev = out;
      return block;
    });

    const convNormOut = GroupNorm.load(w, 'conv_norm_out', c0, c.normNumGroups, c.normEps);
    const convOut = Conv2d.load(w, 'conv_out', c0, c.outChannels, 3);
    return new UNet2DConditionModel(c, w.ops, w, condProj, timeLinear1, timeLinear2, convIn, downBlocks, midBlock, upBlocks, convNormOut, convOut);
  }

  /**
   * One denoising call: `sample` [B, in_channels, H, W], `timesteps` one per batch row (or one for
   * all), `encoderHiddenStates` [B, L, cross_attention_dim], and for LCM-style models
   * `timestepCond` [B, time_cond_proj_dim]. Returns the prediction [B, out_channels, H, W].
   * The inputs are not released. H and W must be multiples of 2^(down blocks − 1).
   */
  forward(sample: T, timesteps: readonly number[], encoderHiddenStates: T, timestepCond?: T): T {
    const ops = this.ops;
    const c = this.config;
    this.checkInputs(sample, timesteps, encoderHiddenStates, timestepCond);
    const B = sample.shape[0]!;
    const perRow = timesteps.length === 1 ? new Array<number>(B).fill(timesteps[0]!) : timesteps;

    let tEmb = ops.timestepEmbedding(perRow, c.blockOutChannels[0]!, { flipSinToCos: c.flipSinToCos, downscaleFreqShift: c.freqShift });
    if (this.condProj && timestepCond) {
      const cond = this.condProj.forward(ops, timestepCond);
      tEmb = swap(ops, tEmb, ops.add(tEmb, cond));
      ops.release(cond);
    }
    let tembAct = swap(ops, tEmb, this.timeLinear1.forward(ops, tEmb, 'silu'));
    // Every resnet applies SiLU to the time embedding before its projection, so fuse it here once.
    tembAct = swap(ops, tembAct, this.timeLinear2.forward(ops, tembAct, 'silu'));

    let h = this.convIn.forward(ops, sample);
    const skips: T[] = [h];
    for (const block of this.downBlocks) h = block.forward(ops, h, tembAct, encoderHiddenStates, skips);
    h = this.midBlock.forward(ops, h, tembAct, encoderHiddenStates);
    for (const block of this.upBlocks) h = block.forward(ops, h, tembAct, encoderHiddenStates, skips);
    ops.release(tembAct);

    h = swap(ops, h, this.convNormOut.forward(ops, h, true));
    return swap(ops, h, this.convOut.forward(ops, h));
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
    const [B, , H, W] = sample.shape as [number, number, number, number];
    const factor = 2 ** (c.blockOutChannels.length - 1);
    if (H % factor !== 0 || W % factor !== 0) fail(`sample is ${H}x${W}; height and width must be multiples of ${factor}.`);
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
}
