import { ModelInputError } from '../errors.js';

/**
 * diffusers' `DiagonalGaussianDistribution`, the VAE's latent posterior, on host moments
 * [B, 2C, h, w] (the encoder's output: mean in the first C channels, log-variance in the rest).
 * The log-variance is clamped to [-30, 20] as diffusers does.
 */
export class DiagonalGaussian {
  /** [B, C, h, w]. */
  readonly mean: Float32Array;
  /** exp(½·logvar), [B, C, h, w]. */
  readonly std: Float32Array;
  readonly shape: readonly [number, number, number, number];

  constructor(moments: Float32Array, momentsShape: readonly number[]) {
    const [B, C2, h, w] = momentsShape as [number, number, number, number];
    if (momentsShape.length !== 4 || C2 % 2 !== 0 || moments.length !== B * C2 * h * w) {
      throw new ModelInputError('DiagonalGaussianDistribution', `moments of shape [${momentsShape}] (${moments.length} values) are not [B, 2C, h, w].`);
    }
    const C = C2 / 2;
    const plane = C * h * w;
    this.shape = [B, C, h, w];
    this.mean = new Float32Array(B * plane);
    this.std = new Float32Array(B * plane);
    for (let b = 0; b < B; b++) {
      const src = b * 2 * plane;
      this.mean.set(moments.subarray(src, src + plane), b * plane);
      for (let i = 0; i < plane; i++) {
        const logvar = Math.min(20, Math.max(-30, moments[src + plane + i]!));
        this.std[b * plane + i] = Math.exp(0.5 * logvar);
      }
    }
  }

  /** `mean + std · noise`, with `noise` standard normal of the mean's size (`latent_dist.sample`). */
  sample(noise: Float32Array): Float32Array {
    if (noise.length !== this.mean.length) {
      throw new ModelInputError('DiagonalGaussianDistribution', `noise holds ${noise.length} values; the mean [${this.shape}] needs ${this.mean.length}.`);
    }
    return this.mean.map((m, i) => m + this.std[i]! * noise[i]!);
  }
}
