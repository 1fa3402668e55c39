import { TensorShapeError } from '../errors.js';
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import type { TimestepEmbeddingOptions } from './ops.js';

/**
 * diffusers' `get_timestep_embedding`: half = dim/2 frequencies
 * exp(−ln(maxPeriod)·i / (half − downscaleFreqShift)), emb = [sin(t·f), cos(t·f)], flipped to
 * [cos, sin] with `flipSinToCos` (odd `dim` gets a zero last column, as diffusers pads).
 *
 * Computed on the host in float64 and uploaded: it depends only on host numbers, and t·f reaches
 * ~1000 radians, where an f32 GPU argument would already be off by ~1e-4.
 */
export function timestepEmbedding(rt: GpuRuntime, timesteps: readonly number[], dim: number, options: TimestepEmbeddingOptions): GpuTensor {
  if (!Number.isInteger(dim) || dim < 2) throw new TensorShapeError(`timestepEmbedding: dim ${dim} must be an integer ≥ 2`);
  const half = Math.floor(dim / 2);
  const maxPeriod = options.maxPeriod ?? 10000;
  const data = new Float32Array(timesteps.length * dim);
  timesteps.forEach((t, b) => {
    for (let i = 0; i < half; i++) {
      const arg = t * Math.exp((-Math.log(maxPeriod) * i) / (half - options.downscaleFreqShift));
      const [first, second] = options.flipSinToCos ? [Math.cos(arg), Math.sin(arg)] : [Math.sin(arg), Math.cos(arg)];
      data[b * dim + i] = first;
      data[b * dim + half + i] = second;
    }
  });
  return rt.upload(data, [timesteps.length, dim]);
}
