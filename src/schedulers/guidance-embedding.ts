/**
 * diffusers' `get_guidance_scale_embedding` (the LCM pipelines' `timestep_cond`): a sinusoidal
 * embedding of `w · 1000`, `[sin(w·f_0..f_{h-1}), cos(…)]` with `f_j = exp(−j · ln(10000)/(h−1))`,
 * `h = dim // 2`, zero-padded to `dim` when odd. Computed in float32 steps as torch does.
 *
 * `w` is the value diffusers passes, which LCM pipelines set to `guidance_scale − 1`, one per batch row.
 * Returns a [w.length, dim] row-major array.
 */
export function guidanceScaleEmbedding(w: number | readonly number[], dim = 512): Float32Array {
  const f32 = Math.fround;
  const rows = typeof w === 'number' ? [w] : w;
  const half = Math.floor(dim / 2);
  if (!Number.isInteger(dim) || half < 2) throw new RangeError(`guidanceScaleEmbedding: dim must be an integer >= 4, got ${dim}.`);
  const step = f32(f32(Math.log(10000)) / (half - 1));
  const freqs = Array.from({ length: half }, (_, j) => f32(Math.exp(f32(j * -step))));
  const out = new Float32Array(rows.length * dim);
  rows.forEach((value, r) => {
    const scaled = f32(value * 1000);
    for (let j = 0; j < half; j++) {
      const angle = f32(scaled * freqs[j]!);
      out[r * dim + j] = Math.sin(angle);
      out[r * dim + half + j] = Math.cos(angle);
    }
  });
  return out;
}
