import { specialisationKey, type KernelDef } from './kernel.js';
import type { ShaderDefines } from './preprocess.js';

/** One compiled form of a kernel: what `getPipeline` keys its cache on. */
export interface KernelSpecialisation {
  readonly kernel: KernelDef;
  readonly defines: ShaderDefines;
  readonly constants: Readonly<Record<string, number>>;
}

/**
 * The distinct specialisations some work dispatches, in first-use order. A plan-mode runtime
 * fills one during a dry run (`PlanOptions.kernels`), so a device runtime can compile them all
 * before the work is recorded for real (`GpuRuntime.precompile`).
 */
export class KernelSet implements Iterable<KernelSpecialisation> {
  readonly #seen = new Map<KernelDef, Set<string>>();
  readonly #list: KernelSpecialisation[] = [];

  get size(): number {
    return this.#list.length;
  }

  add(kernel: KernelDef, defines: ShaderDefines, constants: Readonly<Record<string, number>>): void {
    let keys = this.#seen.get(kernel);
    if (!keys) {
      keys = new Set();
      this.#seen.set(kernel, keys);
    }
    const key = specialisationKey(defines, constants);
    if (keys.has(key)) return;
    keys.add(key);
    this.#list.push({ kernel, defines: { ...defines }, constants: { ...constants } });
  }

  [Symbol.iterator](): Iterator<KernelSpecialisation> {
    return this.#list[Symbol.iterator]();
  }
}
