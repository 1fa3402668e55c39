import { defineConfig } from 'vitest/config';

/**
 * Three projects mirror the three places our code runs:
 * - unit: plain Node, no GPU.
 * - gpu: Node with Dawn (the `webgpu` package) on whatever Vulkan driver the machine has
 *   (lavapipe on CPU-only CI). One fork, so tests never fight over the software rasteriser.
 * - e2e: Debian Chromium driven by playwright-core, WebGPU on SwiftShader.
 * - full: the full-size fixtures (real SD 1.5 / SD-Turbo sizes, synthetic-recipe weights) on
 *   Dawn at WebGPU's default limits. Minutes per fixture on a CPU rasteriser, hence the timeouts.
 */
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 20_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'gpu',
          include: ['test/gpu/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          maxWorkers: 1,
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          maxWorkers: 1,
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'full',
          include: ['test/full/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          maxWorkers: 1,
          fileParallelism: false,
          // A full UNet or VAE decode on lavapipe with two cores takes minutes; a pipeline longer.
          testTimeout: 5_400_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
