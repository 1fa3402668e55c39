import src from '../../../shaders/scheduler-step.wgsl?raw';
import { TensorShapeError } from '../errors.js';
import { defineKernel } from '../kernel.js';
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import { type CombinePlan, type LatentBackend, MAX_COMBINE_INPUTS } from '../../schedulers/latents.js';

const WG = 256;
const INPUTS = Array.from({ length: MAX_COMBINE_INPUTS }, () => 'read' as const);
const COMBINE1 = defineKernel({ family: 'scheduler-step', entryPoint: 'combine1', source: src, storage: [...INPUTS, 'read_write'] });
const COMBINE2 = defineKernel({ family: 'scheduler-step', entryPoint: 'combine2', source: src, storage: [...INPUTS, 'read_write', 'read_write'] });

/**
 * Runs one scheduler combination (see `CombinePlan`) as a single dispatch; returns one new f32
 * tensor per output (one or two).
 */
export function schedulerCombine(rt: GpuRuntime, plan: CombinePlan<GpuTensor>): GpuTensor[] {
  const first = plan.inputs[0];
  if (first === undefined) throw new TensorShapeError('scheduler-step: a combination needs at least one input');
  if (plan.inputs.length > MAX_COMBINE_INPUTS) throw new TensorShapeError(`scheduler-step: ${plan.inputs.length} inputs, at most ${MAX_COMBINE_INPUTS}`);
  if (plan.outputs.length < 1 || plan.outputs.length > 2) throw new TensorShapeError(`scheduler-step: ${plan.outputs.length} outputs, expected 1 or 2`);
  for (const t of plan.inputs) {
    if (t.dtype !== 'f32') throw new TensorShapeError(`scheduler-step: inputs must be f32, got ${t.dtype}`);
    if (t.size !== first.size) throw new TensorShapeError(`scheduler-step: input of ${t.size} elements beside one of ${first.size}`);
  }
  // One field per input slot (p0.., a0.., b0..); slots past the plan's inputs weigh 0.
  const slots = (prefix: string, values: readonly number[]): Record<string, number> =>
    Object.fromEntries(Array.from({ length: MAX_COMBINE_INPUTS }, (_, i) => [`${prefix}${i}`, values[i] ?? 0]));
  const [clipLo, clipHi] = plan.clip ?? [0, 0];
  const second = plan.outputs[1] ?? { coeffs: [], y: 0 };
  const uniforms = {
    n: first.size,
    clip: plan.clip === null ? 0 : 1,
    lo: clipLo,
    hi: clipHi,
    ...slots('p', plan.pre),
    ...slots('a', plan.outputs[0]!.coeffs),
    ay: plan.outputs[0]!.y,
    ...slots('b', second.coeffs),
    by: second.y,
  };
  const outputs = plan.outputs.map(() => rt.empty(first.shape));
  const inputs = Array.from({ length: MAX_COMBINE_INPUTS }, (_, i) => plan.inputs[i] ?? first);
  rt.dispatch(outputs.length === 1 ? COMBINE1 : COMBINE2, {
    bindings: [...inputs, ...outputs],
    uniforms,
    constants: { WG },
    workgroups: Math.ceil(first.size / WG),
  });
  return outputs;
}

/** Scheduler latents on the GPU: each step is one `scheduler-step` dispatch; reads flush the runtime. */
export function gpuLatentBackend(rt: GpuRuntime): LatentBackend<GpuTensor> {
  return {
    fromArray: (data, shape) => rt.upload(data, shape),
    toArray: (tensor) => rt.read(tensor),
    shapeOf: (tensor) => tensor.shape,
    combine: (plan) => schedulerCombine(rt, plan),
    release: (tensor) => rt.release(tensor),
  };
}
