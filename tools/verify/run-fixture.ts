import { runLoraFixture } from './lora.js';
import { GpuContext, type GpuRequirements } from '../../src/webgpu/device.js';
import type { Fixture } from './fixture/fixture.js';
import { GpuOps } from '../../src/webgpu/kernels/gpu-ops.js';
import { gpuLatentBackend } from '../../src/webgpu/kernels/scheduler-step.js';
import { runSchedulerCase } from './scheduler-case.js';
import type { CompareResult } from './compare.js';
import { runComponentFixture } from './components.js';
import { runOnnxPipelineFixture } from './pipeline-onnx.js';
import { runPipelineFixture, type PipelineRunOptions } from './pipeline.js';
import { runSingleFileFixture } from './single-file.js';
import { runTokenizerFixture } from './tokenizer.js';
import { runTextualInversionFixture } from './textual-inversion.js';
import { runPromptWeightingFixture } from './prompt-weighting.js';

/** Options of {@link verifyFixture}. */
export interface VerifyOptions {
  /** Component fixtures: run the float16 weights under `tolerance_fp16`. */
  fp16?: boolean;
  /** The device that component and scheduler fixtures run on (default: WebGPU's default limits). */
  gpu?: GpuRequirements;
  /** Pipeline fixtures: executor and extra engine config (e.g. `gpuLimits: 'default'`). */
  pipeline?: PipelineRunOptions;
}

/**
 * Runs any fixture through its runner, dispatching on `kind` (never on the directory name):
 * tokenizer cases on the host; scheduler cases, components and pipelines on WebGPU (the `onnx`
 * executor for ONNX pipelines). One result per compared tensor; scheduler results carry NaN
 * tolerances (their bounds are per check).
 */
export async function verifyFixture(fx: Fixture, options: VerifyOptions = {}): Promise<CompareResult[]> {
  switch (fx.kind) {
    case 'tokenizer':
      return runTokenizerFixture(fx);
    case 'pipeline':
      return fx.onnx ? runOnnxPipelineFixture(fx) : runPipelineFixture(fx, options.pipeline);
    case 'scheduler':
      return withGpu(options.gpu, async (ctx) => {
        const outcome = await runSchedulerCase(fx, gpuLatentBackend(ctx.runtime));
        return outcome.checks.map((c) => ({ name: c.name, maxAbs: c.max_abs, relL2: c.rel_l2, tolerance: { maxAbs: NaN, maxRelL2: NaN }, pass: c.pass }));
      });
    case 'lora':
      return runLoraFixture(fx, options.pipeline);
    case 'textual_inversion':
      return withGpu(options.gpu, (ctx) => runTextualInversionFixture(fx, new GpuOps(ctx.runtime)));
    case 'single_file':
      return runSingleFileFixture(fx, options.pipeline);
    case 'prompt_weighting':
      return withGpu(options.gpu, (ctx) => runPromptWeightingFixture(fx, new GpuOps(ctx.runtime)));
    default:
      return withGpu(options.gpu, (ctx) => runComponentFixture(fx, new GpuOps(ctx.runtime), { fp16: options.fp16 === true }));
  }
}

async function withGpu<R>(requirements: GpuRequirements | undefined, run: (ctx: GpuContext) => Promise<R>): Promise<R> {
  const ctx = await GpuContext.create(requirements);
  try {
    return await run(ctx);
  } finally {
    ctx.destroy();
  }
}
