import type { Activation, Conv2dOptions, TensorLike, TensorOps } from '../webgpu/kernels/ops.js';
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
export class Conv2d<T extends TensorLike> {
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
    return new Conv2d(weight, bias, options.stride ?? 1, options.padEnd ?? false);
  }

  /** `options.bias: false` leaves the bias out (a partial sum that another pass biases). */
  forward(ops: TensorOps<T>, x: T, options: Omit<Conv2dOptions, 'stride' | 'padding' | 'padEnd'> & { bias?: false } = {}): T {
    const { bias: useBias, ...rest } = options;
    const bias = useBias === false ? undefined : this.bias;
    if (this.padEnd) return ops.conv2d(x, this.weight, bias, { ...rest, stride: this.stride, padding: 0, padEnd: 1 });
    const padding = this.weight.shape[2] === 3 ? 1 : 0;
    return ops.conv2d(x, this.weight, bias, { ...rest, stride: this.stride, padding });
  }
}

/** `torch.nn.Linear` (`<prefix>.weight` [N, K], `<prefix>.bias` [N]). */
export class Linear<T extends TensorLike> {
  private constructor(
    readonly weight: T,
    readonly bias: T | undefined,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, inFeatures: number, outFeatures: number, bias = true): Linear<T> {
    return new Linear(w.tensor(`${prefix}.weight`, [outFeatures, inFeatures]), bias ? w.tensor(`${prefix}.bias`, [outFeatures]) : undefined);
  }

  forward(ops: TensorOps<T>, x: T, act?: Activation): T {
    return ops.linear(x, this.weight, this.bias, act ? { act } : undefined);
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
