import type { Activation, Conv2dOptions, TensorLike, TensorOps } from '../webgpu/kernels/ops.js';
import type { LoraAdapter, LoraTarget } from './lora/adapter.js';
import type { ModelWeights } from './weights.js';

/**
 * The parameterised layers the diffusers models are built from. Each holds its uploaded weights
 * and knows its checkpoint keys; `forward` enqueues the op and never releases its input, so the
 * caller decides each tensor's lifetime.
 */

/**
 * `torch.nn.Conv2d` with kernel 1 or 3 (`<prefix>.weight` [Cout, Cin, k, k], `<prefix>.bias`),
 * padded by `k // 2` on every side; `padEnd` instead pads one zero row and column after the
 * bottom and right edges only (diffusers' `Downsample2D` with `padding=0`).
 */
export class Conv2d<T extends TensorLike> implements LoraTarget<T> {
  readonly kind = 'conv2d';
  adapters: readonly LoraAdapter<T>[] = [];

  private constructor(
    readonly weight: T,
    readonly bias: T | undefined,
    readonly stride: 1 | 2,
    readonly padEnd: boolean,
  ) {}

  static load<T extends TensorLike>(
    w: ModelWeights<T>,
    prefix: string,
    cin: number,
    cout: number,
    kernel: 1 | 3,
    options: { bias?: boolean; stride?: 1 | 2; padEnd?: boolean } = {},
  ): Conv2d<T> {
    const weight = w.tensor(`${prefix}.weight`, [cout, cin, kernel, kernel]);
    const bias = options.bias === false ? undefined : w.tensor(`${prefix}.bias`, [cout]);
    return w.layer(prefix, new Conv2d(weight, bias, options.stride ?? 1, options.padEnd ?? false));
  }

  /**
   * `options.bias: false` leaves the bias out (a partial sum that another pass biases). With LoRA
   * adapters, each adds `scale · up(down(x))` into the output before the activation and residual.
   */
  forward(ops: TensorOps<T>, x: T, options: Omit<Conv2dOptions, 'stride' | 'padding' | 'padEnd'> & { bias?: false } = {}): T {
    const { bias: useBias, ...rest } = options;
    const bias = useBias === false ? undefined : this.bias;
    const geometry = this.padEnd ? { stride: this.stride, padding: 0 as const, padEnd: 1 as const } : { stride: this.stride, padding: this.weight.shape[2] === 3 ? (1 as const) : (0 as const) };
    if (this.adapters.length === 0) return ops.conv2d(x, this.weight, bias, { ...rest, ...geometry });
    if (rest.into || rest.upsample || rest.inputChannelOffset !== undefined || rest.outputChannels) {
      throw new TypeError('Conv2d: LoRA adapters apply to whole convolutions only (a channel range or an in-place sum is the VAE\'s, which LoRAs do not adapt)');
    }
    const { act, residual, ...plain } = rest;
    let out = ops.conv2d(x, this.weight, bias, { ...plain, ...geometry });
    for (const a of this.adapters) {
      const low = ops.conv2d(x, a.down, undefined, geometry);
      const scaled = ops.scale(low, a.scale);
      ops.release(low);
      out = ops.conv2d(scaled, a.up, undefined, { into: out });
      ops.release(scaled);
    }
    if (act && act !== 'none') out = swapOut(ops, out, ops.unary(out, act));
    if (residual) out = swapOut(ops, out, ops.add(out, residual as T));
    return out;
  }
}

/** Releases `old`, returns `next`. */
function swapOut<T extends TensorLike>(ops: TensorOps<T>, old: T, next: T): T {
  ops.release(old);
  return next;
}

/** `torch.nn.Linear` (`<prefix>.weight` [N, K], `<prefix>.bias` [N]). */
export class Linear<T extends TensorLike> implements LoraTarget<T> {
  readonly kind = 'linear';
  adapters: readonly LoraAdapter<T>[] = [];

  private constructor(
    readonly weight: T,
    readonly bias: T | undefined,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, inFeatures: number, outFeatures: number, bias = true): Linear<T> {
    return w.layer(prefix, new Linear(w.tensor(`${prefix}.weight`, [outFeatures, inFeatures]), bias ? w.tensor(`${prefix}.bias`, [outFeatures]) : undefined));
  }

  /** With LoRA adapters, each adds `scale · up(down(x))` to the output before the activation. */
  forward(ops: TensorOps<T>, x: T, act?: Activation): T {
    if (this.adapters.length === 0) return ops.linear(x, this.weight, this.bias, act ? { act } : undefined);
    let out = ops.linear(x, this.weight, this.bias);
    const shape = out.shape;
    for (const a of this.adapters) {
      const low = ops.linear(x, a.down);
      // [.., r] · upᵀ · scale as one 2-D matmul (its alpha applies the scale).
      const rows = ops.reshape(low, [low.shape.slice(0, -1).reduce((n, d) => n * d, 1), a.down.shape[0]!]);
      ops.release(low);
      const delta2 = ops.matmul(rows, a.up, { transB: true, alpha: a.scale });
      ops.release(rows);
      const delta = ops.reshape(delta2, shape);
      ops.release(delta2);
      out = swapOut(ops, out, ops.add(out, delta));
      ops.release(delta);
    }
    return act && act !== 'none' ? swapOut(ops, out, ops.unary(out, act)) : out;
  }
}

/** `torch.nn.GroupNorm` with affine weights, optionally fused with the SiLU that follows it. */
export class GroupNorm<T extends TensorLike> {
  private constructor(
    readonly gamma: T,
    readonly beta: T,
    readonly groups: number,
    readonly eps: number,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, channels: number, groups: number, eps: number): GroupNorm<T> {
    return new GroupNorm(w.tensor(`${prefix}.weight`, [channels]), w.tensor(`${prefix}.bias`, [channels]), groups, eps);
  }

  /**
   * `channels` normalises only that range of x (whole groups); `affineOffset` says x itself is
   * the range of the norm's channels starting there.
   */
  forward(ops: TensorOps<T>, x: T, silu = false, channels?: readonly [number, number], affineOffset = 0): T {
    const cpg = this.gamma.shape[0]! / this.groups;
    const groups = x.shape[1]! / cpg;
    const range = x.shape[1] !== this.gamma.shape[0];
    return ops.groupNorm(x, this.gamma, this.beta, { groups, eps: this.eps, silu, ...(channels ? { channels } : {}), ...(range ? { affineOffset } : {}) });
  }
}

/** `torch.nn.LayerNorm` over the last dim. */
export class LayerNorm<T extends TensorLike> {
  private constructor(
    readonly gamma: T,
    readonly beta: T,
    readonly eps: number,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, channels: number, eps: number): LayerNorm<T> {
    return new LayerNorm(w.tensor(`${prefix}.weight`, [channels]), w.tensor(`${prefix}.bias`, [channels]), eps);
  }

  forward(ops: TensorOps<T>, x: T): T {
    return ops.layerNorm(x, this.gamma, this.beta, this.eps);
  }
}
