import { DiffusionEngine } from '../src/index.js';
import { timeGeneration, type GenerationBenchOptions, type GenerationTimings } from './generate-suite.js';

/** Node entry (Dawn on whatever Vulkan driver the machine has): times generation with the model folder `model`. */
export async function main(options: GenerationBenchOptions & { model: string }): Promise<GenerationTimings> {
  const engine = await DiffusionEngine.create({ modelNameOrPath: options.model });
  try {
    return await timeGeneration(engine, options, () => {
      const { user, system } = process.cpuUsage();
      return (user + system) / 1000;
    });
  } finally {
    await engine.close();
  }
}
