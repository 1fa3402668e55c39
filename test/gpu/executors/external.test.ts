import { MessageChannel } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionEngine, type DiffusionOutput } from '../../../src/index.js';
import { nodePortEndpoint } from '../../../src/host/node-port.js';
import { withSerializedErrors } from '../../../src/host/remote-errors.js';
import { EngineHost } from '../../../src/host/engine-host.js';
import { SharedEngineHost, type SharedHostStats } from '../../../src/host/shared-engine-host.js';
import { fixturePath } from '../../helpers/fixtures.js';

const model = { modelNameOrPath: fixturePath('pipeline-sdturbo-tiny'), dtype: 'f32' as const };
const base = { prompt: 'a photo of a cat', numInferenceSteps: 1, guidanceScale: 0, height: 64, width: 64 };

/** A port whose other end exposes a fresh client of `shared`, as the shared worker does for each page. */
function clientPort(shared: SharedEngineHost): MessageChannel['port2'] {
  const { port1, port2 } = new MessageChannel();
  Comlink.expose(withSerializedErrors(shared.connect()), nodePortEndpoint(port1));
  return port2;
}

describe('external executor: attaching to an engine host over a worker_threads MessageChannel (Node + Dawn)', () => {
  let shared: SharedEngineHost;
  let a: DiffusionEngine;
  let b: DiffusionEngine;

  beforeAll(async () => {
    shared = new SharedEngineHost(() => new EngineHost());
    a = await DiffusionEngine.create({ ...model, executorClass: 'external', port: clientPort(shared) });
    b = await DiffusionEngine.create({ ...model, executorClass: 'external', port: clientPort(shared) });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it('loads the model once for two clients of the same host', async () => {
    expect(a.executorName).toBe('external');
    expect(shared.stats()).toMatchObject({ loads: 1, clients: 2 });
    const [stats] = (await b.collectiveRpc('stats')) as [SharedHostStats];
    expect(stats).toMatchObject({ loads: 1, clients: 2 });
  });

  it('runs both clients\u2019 requests on the shared host, with progress, and the same image for the same seed', async () => {
    const steps: number[] = [];
    const [fromA, fromB] = await Promise.all([
      a.generate({ ...base, numInferenceSteps: 2, seed: 9, requestId: 'same-id', onProgress: (p) => steps.push(p.step) }),
      b.generate({ ...base, numInferenceSteps: 2, seed: 9, requestId: 'same-id' }),
    ]);
    expect(steps).toEqual([1, 2]);
    expect(fromA.images[0]).toMatchObject({ width: 64, height: 64, seed: 9 });
    expect(Array.from(fromB.images[0]!.data)).toEqual(Array.from(fromA.images[0]!.data));
  });

  it('cancels a request waiting on the shared host without touching the other client\u2019s request of the same id', async () => {
    const controller = new AbortController();
    let waiting: Promise<DiffusionOutput[]> | null = null;
    // b submits only once a's request runs, so b's waits in the host's queue when it is cancelled.
    const [running] = await a.step([
      {
        ...base,
        numInferenceSteps: 2,
        seed: 1,
        requestId: 'x',
        onProgress: (p) => {
          if (p.step !== 1) return;
          waiting = b.step([{ ...base, seed: 1, requestId: 'x', signal: controller.signal }]);
          setTimeout(() => controller.abort(), 0);
        },
      },
    ]);
    const [cancelled] = await waiting!;
    expect(running!.error).toBeNull();
    expect(running!.images).toHaveLength(1);
    expect(cancelled!.errorName).toBe('AbortError');
    expect(cancelled!.error).toMatch(/waited for the shared engine host/);
  });

  it('refuses a client that asks the shared host for another model', async () => {
    const err = await DiffusionEngine.create({ ...model, dtype: 'f16', executorClass: 'external', port: clientPort(shared) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'SharedHostModelMismatchError' });
    expect((err as Error).message).toMatch(/dtype f32.*dtype f16/);
  });

  it('detaches a closed client and keeps serving the other', async () => {
    await a.close();
    expect(shared.stats().clients).toBe(1);
    const out = await b.generate({ ...base, seed: 2 });
    expect(out.images).toHaveLength(1);
  });
});

describe('external executor: configuration', () => {
  it('names sharedWorkerUrl and port when neither is set', async () => {
    const err = await DiffusionEngine.create({ ...model, executorClass: 'external' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ConfigValidationError', field: 'sharedWorkerUrl' });
    expect((err as Error).message).toMatch(/DiffusionConfig\.port/);
  });

  it('is unavailable (so fallback applies) where SharedWorker is missing', async () => {
    const err = await DiffusionEngine.create({ ...model, executorClass: 'external', sharedWorkerUrl: 'http://127.0.0.1/shared.js' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ExecutorUnavailableError' });
    expect((err as Error).message).toMatch(/external: SharedWorker is not available/);
  });
});
