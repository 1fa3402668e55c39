import type { TensorShapeError } from '../webgpu/errors.js';
import type { GpuLimits } from '../webgpu/limits.js';
import type { DeviceLimitDetails, DeviceLimitName } from './errors.js';

/** The part of `DeviceLimitDetails` a runtime error tells: everything but the component and the size planned. */
export type LimitViolation = Omit<DeviceLimitDetails, 'component' | 'at' | 'advice'>;

const LIMITS: readonly DeviceLimitName[] = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension'];
const BYTES_PER_ELEMENT: Record<string, number> = { f32: 4, f16: 2, i32: 4 };

/**
 * Which device limit a runtime or kernel `TensorShapeError` reports, read from its message
 * (the runtime states the limit by name as `<limit> = <value>`, a tensor as `[shape] dtype`, a
 * kernel's need as `<n> bytes`); null when the error is not about a device limit
 * (a shape mismatch: a bug to surface, not a size to refuse). Fields the message does not
 * state fall back to what is known: the limit's value from `limits`, the bytes as null.
 */
export function limitViolation(err: TensorShapeError, limits: GpuLimits): LimitViolation | null {
  const msg = err.message;
  const named = LIMITS.map((name) => ({ name, at: msg.search(new RegExp(`\\b${name}\\b`)) }))
    .filter((l) => l.at >= 0)
    .sort((a, b) => a.at - b.at)[0];
  // The fold of a 1-D dispatch states the grid limit without naming it, and some kernels say
  // "over one binding" for a tensor they cannot take in chunks.
  const unnamed = /workgroups exceed the \d+³ grid/.test(msg) ? 'maxComputeWorkgroupsPerDimension' : /\b(over|larger than) one (storage )?binding\b/.test(msg) ? 'maxStorageBufferBindingSize' : null;
  const limit = named?.name ?? unnamed;
  if (limit === null) return null;
  const stated = new RegExp(`\\b${limit} = (\\d+)`).exec(msg);
  const limitValue = stated ? Number(stated[1]) : limits[limit];

  // The largest tensor the message names ("tensor [1,256,512,512] f32", "x [2,16,32,32] f32"):
  // runtime messages name one, and of a kernel's operands the largest is the likeliest culprit.
  const tensors = [...msg.matchAll(/\[([\d,\s]+)\] (f32|f16|i32)\b/g)].map((m) => {
    const shape = m[1]!.split(',').map((d) => Number(d.trim()));
    return { tensor: `tensor [${shape.join(',')}] ${m[2]}`, bytes: shape.reduce((n, d) => n * d, 1) * BYTES_PER_ELEMENT[m[2]!]! };
  });
  const largest = tensors.sort((a, b) => b.bytes - a.bytes)[0];
  if (largest) return { ...largest, limit, limitValue, detail: msg };
  // A kernel's need in bytes: "attention: head size 512 needs 17408 bytes of workgroup memory".
  const need = /^(.*?)(?::| needs) (\d+) bytes/.exec(msg);
  if (need) return { tensor: need[1]!, bytes: Number(need[2]), limit, limitValue, detail: msg };
  const subject = msg.split(/ is | exceed/)[0]!;
  return { tensor: subject, bytes: null, limit, limitValue, detail: msg };
}
