import { afterAll, beforeAll } from 'vitest';
import { DiffusionEngine } from '../../../../src/index.js';
import { createImageServer, type ImageServer } from '../../../../src/server/index.js';
import { describeHttpExecutorContract } from '../../../helpers/http-executor-contract.js';
import { PatternExecutor } from '../../../helpers/pattern-executor.js';

// The shared http-executor cases against our own `serve` server, backed by a pattern executor
// (test/gpu/executors/http-serve.test.ts runs them against the real tiny model).
let engine: DiffusionEngine;
let server: ImageServer;
const logs: string[] = [];

beforeAll(async () => {
  engine = await DiffusionEngine.create({ executorClass: PatternExecutor, numGpus: 0, stepMs: 10 });
  server = createImageServer(engine, { log: (line) => logs.push(line) });
  await server.listen(0);
});

afterAll(async () => {
  await server.close();
  await engine.close();
});

describeHttpExecutorContract('the image server (pattern executor)', { url: () => server.url!, size: 24, slowSteps: 200, logs });
