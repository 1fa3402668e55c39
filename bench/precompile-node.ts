import { loadFixture } from '../tools/verify/fixture/fixture.js';
import { StableDiffusionPipeline } from '../src/pipelines/stable-diffusion.js';
import { warmupJobs } from '../src/pipelines/warmup-jobs.js';
import { GpuContext } from '../src/webgpu/device.js';
import { getPipeline } from '../src/webgpu/kernel.js';
import { GpuRuntime } from '../src/webgpu/runtime.js';

/** What one load's compile phase costs, measured on a full-size model. */
export interface PrecompileRow {
  dtype: 'f16' | 'f32';
  activations: 'f16' | 'f32';
  /** Distinct kernel specialisations a request at the model's defaults dispatches. */
  kernels: number;
  /** The dry run that finds them (plan mode, host only). */
  dryRunMs: number;
  /** `GpuRuntime.precompile`: `createComputePipelineAsync` for all of them at once. */
  precompileMs: number;
  /** Baseline, same run: the same set compiled one by one with `createComputePipeline`, as first use does. */
  syncCompileMs: number;
}

/**
 * Loads the full-size SD-Turbo pipeline fixture (recipe weights generated as they stream) onto a
 * plan-mode runtime with the device's capabilities (no device memory), then times the dry run,
 * the async precompile on one fresh device and, as the baseline, the synchronous compile of the
 * same specialisations on another.
 */
export async function main(fixture: string, dtype: 'f16' | 'f32'): Promise<{ adapter: string; row: PrecompileRow }> {
  const fx = await loadFixture(fixture);
  const probe = await GpuContext.create();
  const caps = probe.capabilities;
  const adapter = [probe.adapter.info.vendor, probe.adapter.info.description].filter(Boolean).join(' ');
  probe.destroy();
  const activations = dtype === 'f16' && caps.shaderF16 ? 'f16' : 'f32';
  const plan = GpuRuntime.plan({ shaderF16: caps.shaderF16, subgroups: caps.subgroups, limits: caps.limits });
  const pipeline = await StableDiffusionPipeline.load(fx.source, plan, { dtype, activations });
  try {
    let t = performance.now();
    const kernels = await pipeline.kernelsFor(warmupJobs(pipeline));
    const dryRunMs = performance.now() - t;

    const asyncCtx = await GpuContext.create();
    t = performance.now();
    await asyncCtx.runtime.precompile(kernels);
    const precompileMs = performance.now() - t;
    asyncCtx.destroy();

    const syncCtx = await GpuContext.create();
    t = performance.now();
    for (const k of kernels) getPipeline(syncCtx.device, k.kernel, k.defines, k.constants, () => undefined);
    // Compilation errors and completion surface at the queue; wait for it, as a first dispatch would.
    await syncCtx.device.queue.onSubmittedWorkDone();
    const syncCompileMs = performance.now() - t;
    syncCtx.destroy();
    return { adapter, row: { dtype, activations, kernels: kernels.size, dryRunMs, precompileMs, syncCompileMs } };
  } finally {
    pipeline.release();
  }
}
