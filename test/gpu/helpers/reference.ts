import type { TensorDType, TensorLike, TensorOps } from '../../../src/webgpu/kernels/ops.js';
import { GpuOps } from '../../../src/webgpu/kernels/gpu-ops.js';
import type { GpuRuntime } from '../../../src/webgpu/runtime.js';
import type { GpuTensor } from '../../../src/webgpu/tensor.js';
import { fromHalfBits, toHalfBits } from '../../../src/webgpu/half.js';
import { CpuOps, type CpuTensor } from '../../helpers/cpu-ops.js';
import { errorStats, randomNormal, randomUniform } from '../../helpers/rng.js';

/** One input of a kernel case: shape, storage dtype and value distribution. */
export interface InputSpec {
  shape: readonly number[];
  dtype?: TensorDType;
  /** Normal with this std (default 1), or uniform in [lo, hi). */
  normal?: number;
  uniform?: readonly [number, number];
}

/** A kernel case: the same op run on GpuOps and on the float64 CpuOps. */
export interface OpCase {
  name: string;
  inputs: readonly InputSpec[];
  run<T extends TensorLike>(ops: TensorOps<T>, inputs: T[]): T;
}

/** Values rounded through binary16, so the reference sees exactly what an f16 tensor holds. */
export function roundToHalf(data: Float32Array): Float32Array {
  return data.map((v) => fromHalfBits(toHalfBits(v)));
}

function inputData(spec: InputSpec, seed: number): Float32Array {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const raw = spec.uniform ? randomUniform(n, seed, spec.uniform[0], spec.uniform[1]) : randomNormal(n, seed, spec.normal ?? 1);
  return spec.dtype === 'f16' ? roundToHalf(raw) : raw;
}

/** Runs `c` on the GPU and on the float64 reference with the same seeded inputs; returns the error stats and the output shapes. */
export async function compareWithReference(
  rt: GpuRuntime,
  c: OpCase,
  seed = 1,
): Promise<{ maxAbs: number; relL2: number; gpuShape: readonly number[]; refShape: readonly number[] }> {
  const data = c.inputs.map((spec, i) => inputData(spec, seed * 1000 + i));
  const gpu = new GpuOps(rt);
  const cpu = new CpuOps();
  const gIn = c.inputs.map((spec, i) => gpu.upload(data[i]!, spec.shape, spec.dtype));
  const cIn = c.inputs.map((spec, i) => cpu.upload(data[i]!, spec.shape, spec.dtype));
  const gOut: GpuTensor = c.run(gpu, gIn);
  const cOut: CpuTensor = c.run(cpu, cIn);
  const got = await gpu.read(gOut);
  for (const t of [...gIn, gOut]) gpu.release(t);
  return { ...errorStats(got, cOut.data), gpuShape: gOut.shape, refShape: cOut.shape };
}
