import * as ort from 'onnxruntime-web/webgpu';
import { GpuContext } from '../src/webgpu/device.js';
import { runKernelSuite } from './kernels-suite.js';

/** Browser entry: runs the suite and leaves the results on `window.benchResults`. */
async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  ort.env.wasm.numThreads = 1;
  const ctx = await GpuContext.create();
  const info = ctx.adapter.info;
  const lines: string[] = [`adapter: ${info.vendor} ${info.architecture} ${info.description}`.trim()];
  const log = (line: string): void => {
    lines.push(line);
    console.log(line);
  };
  const results = await runKernelSuite(ctx.runtime, {
    ort,
    reps: Number(params.get('reps') ?? 3),
    only: params.get('only') ?? undefined,
    log,
  });
  (window as unknown as { benchResults: unknown }).benchResults = { adapter: lines[0], results };
}

main().catch((err: unknown) => {
  (window as unknown as { benchResults: unknown }).benchResults = { error: String(err instanceof Error ? err.stack : err) };
});
