import { afterAll, beforeAll } from 'vitest';
import { bundledModelPath } from '../../../src/cli/package-root.js';
import { DiffusionEngine } from '../../../src/index.js';
import { createImageServer, type ImageServer } from '../../../src/server/index.js';
import { describeHttpExecutorContract } from '../../helpers/http-executor-contract.js';

// The shared http-executor cases against our `serve` server with the real tiny model on Dawn
// (test/unit/executors/http/image-server.test.ts runs them against a pattern executor).
let engine: DiffusionEngine;
let server: ImageServer;
const logs: string[] = [];

beforeAll(async () => {
  engine = await DiffusionEngine.create({ modelNameOrPath: bundledModelPath() });
  server = createImageServer(engine, { log: (line) => logs.push(line) });
  await server.listen(0);
});

afterAll(async () => {
  await server?.close();
  await engine?.close();
});

describeHttpExecutorContract('omni-diffusion serve (tiny-shapes on WebGPU)', { url: () => server.url!, size: 32, slowSteps: 200, logs });
