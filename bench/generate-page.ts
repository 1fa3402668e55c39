import { DiffusionEngine } from '../src/index.js';
import { timeGeneration } from './generate-suite.js';

/**
 * Browser entry: the engine's default executor (a module worker with its own WebGPU device)
 * loads the model from the page's server and times generation; the results, or the error, are
 * left on `window.benchResults` for bench/generate.js to collect.
 */
async function main(): Promise<void> {
  const params = new URLSearchParams(location.search);
  const number = (name: string): number => Number(params.get(name));
  const engine = await DiffusionEngine.create({ modelNameOrPath: new URL(params.get('model')!, location.href).href });
  try {
    const timings = await timeGeneration(engine, {
      prompt: params.get('prompt')!,
      steps: number('steps'),
      guidance: number('guidance'),
      size: number('size'),
      runs: number('runs'),
    });
    (window as unknown as { benchResults: unknown }).benchResults = { timings };
  } finally {
    await engine.close();
  }
}

main().catch((err: unknown) => {
  (window as unknown as { benchResults: unknown }).benchResults = { error: String(err instanceof Error ? err.stack : err) };
});
