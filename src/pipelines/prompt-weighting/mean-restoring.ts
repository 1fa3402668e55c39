/**
 * lpw's weighting of `get_weighted_text_embeddings`, row by row, in float32 as the reference
 * computes it: `m0` the mean of all the row's values, each position's vector times its weight,
 * `m1` the new mean, then every value times `m0 / m1`, so the row's mean is restored. A row
 * whose weights are all 1 is left untouched (the reference's factor is then exactly 1), so it
 * stays bit-identical to the unweighted encoding.
 *
 * `embeds` is [rows, P, D] and is weighted in place; `weights` is [rows, P]. Returns each
 * row's factor `m0 / m1` (1 for an untouched row).
 */
export function applyMeanRestoringWeights(embeds: Float32Array, weights: Float32Array, rows: number): number[] {
  const P = weights.length / rows;
  const D = embeds.length / weights.length;
  if (!Number.isInteger(P) || !Number.isInteger(D)) {
    throw new RangeError(`applyMeanRestoringWeights: ${embeds.length} values and ${weights.length} weights do not make ${rows} rows of [P, D]`);
  }
  const factors: number[] = [];
  for (let r = 0; r < rows; r++) {
    const w = weights.subarray(r * P, (r + 1) * P);
    if (w.every((x) => x === 1)) {
      factors.push(1);
      continue;
    }
    const row = embeds.subarray(r * P * D, (r + 1) * P * D);
    const m0 = mean32(row);
    // Float32Array stores round each product to float32: float32 multiplication.
    for (let p = 0; p < P; p++) for (let d = 0; d < D; d++) row[p * D + d] = row[p * D + d]! * w[p]!;
    const factor = Math.fround(m0 / mean32(row));
    for (let i = 0; i < row.length; i++) row[i] = row[i]! * factor;
    factors.push(factor);
  }
  return factors;
}

/** The mean as a float32 (accumulated in float64: within float32 rounding of torch's). */
function mean32(x: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += x[i]!;
  return Math.fround(sum / x.length);
}
