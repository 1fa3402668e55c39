import type { QuantPolicy } from './policy.js';
import { packedBytes, scaleBytes } from './scheme.js';

/**
 * Device bytes one weight takes when a model is loaded as `dtype` under `policy`: packed values
 * and f16 scales for a weight the policy quantizes, `dtype` elements for the rest. What a load's
 * `upload` progress counts, and what `plan` reports per dtype.
 */
export function storedWeightBytes(key: string, shape: readonly number[], dtype: 'f16' | 'f32', policy: QuantPolicy | null): number {
  if (policy?.select(key, shape)) return packedBytes(shape, policy.scheme.bits) + scaleBytes(shape, policy.scheme.groupSize);
  return shape.reduce((a, b) => a * b, 1) * (dtype === 'f16' ? 2 : 4);
}
