import type { TensorOps } from '../../../src/webgpu/kernels/ops.js';
import { CpuOps, CpuTensor } from '../../helpers/cpu-ops.js';

/**
 * CpuOps that enforces the GPU backend's ownership rules: every op result and every reshaped
 * view is a handle to release exactly once, and using a released handle throws. `live` holds what
 * is still unreleased, so a test can assert that a model leaks nothing.
 */
export function trackingOps(): { ops: TensorOps<CpuTensor>; live: Set<CpuTensor> } {
  const cpu = new CpuOps();
  const live = new Set<CpuTensor>();
  const check = (v: unknown, method: string) => {
    if (v instanceof CpuTensor && !live.has(v)) throw new Error(`${method}: tensor [${v.shape}] is released or foreign`);
  };
  const ops = new Proxy(cpu, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      const method = String(prop);
      return (...args: unknown[]) => {
        for (const a of args) {
          check(a, method);
          // Options objects carry tensors too (conv2d's residual, matmul's bias).
          if (a !== null && typeof a === 'object' && a.constructor === Object) for (const v of Object.values(a)) check(v, method);
        }
        if (method === 'release') {
          live.delete(args[0] as CpuTensor);
          return undefined;
        }
        const out: unknown = value.apply(target, args);
        if (out instanceof CpuTensor) live.add(out);
        return out;
      };
    },
  });
  return { ops, live };
}
