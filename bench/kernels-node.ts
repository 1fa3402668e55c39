import { GpuContext } from '../src/webgpu/device.js';
import { runKernelSuite, type OrtModule } from './kernels-suite.js';

/**
 * Node entry (Dawn): our kernels, plus onnxruntime-web's wasm EP as this CPU's practical
 * limit. ORT's WebGPU EP runs only in the browser run.
 */
export async function main(options: { reps: number; only?: string }): Promise<void> {
  const ctx = await GpuContext.create();
  const info = ctx.adapter.info;
  console.log(`adapter: ${info.vendor} ${info.architecture} ${info.description}`.trim());
  const ort = (await import('onnxruntime-web')) as unknown as OrtModule & { env: { wasm: { numThreads: number } } };
  ort.env.wasm.numThreads = 1;
  await runKernelSuite(ctx.runtime, { ort, providers: ['wasm'], reps: options.reps, only: options.only, log: (l) => console.log(l) });
}
