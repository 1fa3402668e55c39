import { MessageChannel } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { DiffusionEngine } from '../../../src/api/engine.js';
import type { DiffusionOutput } from '../../../src/api/output.js';
import { DiffusionRequest } from '../../../src/api/request.js';
import { ConfigValidationError, OmniDiffusionError, deserializeError } from '../../../src/api/errors.js';
import { DiffusionExecutor } from '../../../src/executors/executor.js';
import { DEFAULT_LIMITS } from '../../../src/webgpu/limits.js';
import { DeviceLimitError } from '../../../src/plan/errors.js';
import { TensorShapeError } from '../../../src/webgpu/errors.js';
import { exposedHostApi } from '../../../src/host/host-api.js';
import { HostConnection, type LaunchedHost } from '../../../src/host/host-connection.js';
import { nodePortEndpoint, type NodeMessagePort } from '../../../src/host/node-port.js';
import type { EngineHostApi, HostInfo, ModelSpec, WireResult } from '../../../src/host/protocol.js';
import { deviceLimitSample } from '../../helpers/error-samples.js';

const spec: ModelSpec = { modelNameOrPath: 'org/model', dtype: 'f32', variant: null, taesd: null };

/** A host that loads any model but `bad`, and refuses every request as too large for its device. */
const refusingHost: EngineHostApi = {
  async load(s: ModelSpec): Promise<HostInfo> {
    if (s.modelNameOrPath === 'bad') throw new ConfigValidationError('modelNameOrPath', s.modelNameOrPath, 'a model this host has');
    return { adapter: 'fake', features: [], limits: DEFAULT_LIMITS, model: s.modelNameOrPath, defaults: { steps: 1, guidanceScale: 0, height: 8, width: 8, scheduler: 'euler' } };
  },
  async generate(): Promise<WireResult> {
    throw deviceLimitSample();
  },
  cancel(): void {},
  memory: () => ({ liveBytes: 0, peakBytes: 0, reservedBytes: 0 }),
  loseDevice(): void {},
  injectFault(): void {},
  async dispose(): Promise<void> {},
};

const ports: Array<{ close(): void }> = [];
afterEach(() => {
  for (const port of ports.splice(0)) port.close();
});

/** `api` exposed through comlink on one end of a worker_threads channel, launched from the other, as a worker thread is. */
function launcherFor(api: object): () => Promise<LaunchedHost> {
  return async () => {
    const { port1, port2 } = new MessageChannel();
    ports.push(port1, port2);
    Comlink.expose(api, nodePortEndpoint(port1 as unknown as NodeMessagePort));
    const host = Comlink.wrap<EngineHostApi>(nodePortEndpoint(port2 as unknown as NodeMessagePort));
    return { host, remote: true, crashed: null, close: async () => host[Comlink.releaseProxy](), kill: () => port2.close() };
  };
}

describe('errors across a worker boundary (comlink over a worker_threads MessageChannel)', () => {
  it('fails the request with an errorInfo that carries the DeviceLimitError’s code and fields', async () => {
    const connection = new HostConnection(launcherFor(exposedHostApi(refusingHost)), spec, { preview: false });
    const out = await connection.run(new DiffusionRequest({ prompt: 'x', seed: 1, width: 8192, height: 8192 }));
    expect(out.errorName).toBe('DeviceLimitError');
    expect(out.errorInfo).toMatchObject({ name: 'DeviceLimitError', code: 'DEVICE_LIMIT', component: 'unet', bytes: 2684354560, limit: 'maxStorageBufferBindingSize', limitValue: 134217728 });
    expect(out.errorInfo!.cause).toMatchObject({ name: 'TensorShapeError', code: 'TENSOR_SHAPE' });
    expect(deserializeError(out.errorInfo!)).toBeInstanceOf(DeviceLimitError);
    await connection.close();
  });

  it('rejects a failed load with the host’s ConfigValidationError, field included', async () => {
    const connection = new HostConnection(launcherFor(exposedHostApi(refusingHost)), { ...spec, modelNameOrPath: 'bad' }, { preview: false });
    const err = await connection.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toMatchObject({ code: 'CONFIG_INVALID', field: 'modelNameOrPath', value: 'bad' });
  });

  it('makes generate() reject with a DeviceLimitError whose fields and cause survived the crossing', async () => {
    class RemoteExecutor extends DiffusionExecutor {
      readonly connection = new HostConnection(launcherFor(exposedHostApi(refusingHost)), spec, { preview: false });
      async initExecutor(): Promise<void> {
        await this.connection.start();
      }
      executeModel(requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
        return Promise.all(requests.map((r) => this.connection.run(r)));
      }
      override close(): Promise<void> {
        return this.connection.close();
      }
    }
    const engine = await DiffusionEngine.create({ executorClass: RemoteExecutor });
    const err = await engine.generate({ prompt: 'x', width: 8192, height: 8192 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceLimitError);
    expect(err).toBeInstanceOf(OmniDiffusionError);
    expect(err).toMatchObject({ code: 'DEVICE_LIMIT', tensor: 'tensor [2,320,1024,1024] f32', limitValue: 134217728, advice: 'Try a smaller size (1024×1024 fits).' });
    expect((err as Error).cause).toBeInstanceOf(TensorShapeError);
    await engine.close();
  });

  it('gives back the class, not the fields, of a host exposed without serialised errors (a caller’s own Comlink.expose)', async () => {
    const connection = new HostConnection(launcherFor(refusingHost), spec, { preview: false });
    const out = await connection.run(new DiffusionRequest({ prompt: 'x', seed: 1 }));
    expect(out.errorInfo).toMatchObject({ name: 'DeviceLimitError', code: 'DEVICE_LIMIT' });
    expect(out.errorInfo).not.toHaveProperty('limitValue');
    expect(deserializeError(out.errorInfo!)).toBeInstanceOf(DeviceLimitError);
    await connection.close();
  });
});
