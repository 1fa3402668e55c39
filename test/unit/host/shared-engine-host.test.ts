import { DEFAULT_LIMITS } from '../../../src/webgpu/limits.js';
import { describe, expect, it } from 'vitest';
import type { EngineHostApi, HostInfo, HostMemory, ModelSpec, WireProgress, WireRequest, WireResult } from '../../../src/host/protocol.js';
import { SharedEngineHost } from '../../../src/host/shared-engine-host.js';

const spec: ModelSpec = { modelNameOrPath: 'org/model', dtype: 'f32', variant: null, taesd: null };

/** An engine host whose requests finish when the test says so; records calls. */
class FakeHost implements EngineHostApi {
  readonly calls: string[] = [];
  readonly #pending = new Map<string, () => void>();
  disposed = false;

  async load(s: ModelSpec): Promise<HostInfo> {
    this.calls.push(`load ${s.modelNameOrPath}`);
    return { adapter: 'fake', features: [], limits: DEFAULT_LIMITS, model: s.modelNameOrPath, defaults: { steps: 1, guidanceScale: 0, height: 8, width: 8, scheduler: 'euler' } };
  }

  generate(request: WireRequest, _onProgress?: (p: WireProgress) => void): Promise<WireResult> {
    this.calls.push(`generate ${request.requestId}`);
    return new Promise((resolve) => {
      this.#pending.set(request.requestId, () => resolve({ images: [], trajectoryLatents: null, trajectoryTimesteps: null, metrics: {} }));
    });
  }

  finish(requestId: string): void {
    this.#pending.get(requestId)!();
  }

  cancel(requestId: string): void {
    this.calls.push(`cancel ${requestId}`);
  }

  memory(): HostMemory {
    return { liveBytes: 1, peakBytes: 1, reservedBytes: 1 };
  }

  loseDevice(): void {}

  injectFault(): void {}

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

function wire(requestId: string): WireRequest {
  return { requestId, prompt: 'p', negativePrompt: null, seed: 0, numOutputsPerPrompt: 1, returnTrajectoryLatents: false, returnIntermediates: false, preview: false };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('SharedEngineHost', () => {
  it('loads the model once for clients with the same spec and refuses another model', async () => {
    const hosts: FakeHost[] = [];
    const shared = new SharedEngineHost(() => hosts[hosts.push(new FakeHost()) - 1]!);
    const [a, b, c] = [shared.connect(), shared.connect(), shared.connect()];
    const infos = await Promise.all([a.load(spec), b.load({ ...spec })]);
    expect(infos[1]).toBe(infos[0]);
    expect(hosts).toHaveLength(1);
    await expect(c.load({ ...spec, dtype: 'f16' })).rejects.toMatchObject({ name: 'SharedHostModelMismatchError' });
    expect(shared.stats()).toEqual({ loads: 1, clients: 2, generated: 0 });
  });

  it('runs requests of all clients one at a time, keeping equal request ids of different clients apart', async () => {
    const host = new FakeHost();
    const shared = new SharedEngineHost(() => host);
    const [a, b] = [shared.connect(), shared.connect()];
    await a.load(spec);
    await b.load(spec);
    const first = a.generate(wire('req-1'));
    const second = b.generate(wire('req-1'));
    await tick();
    expect(host.calls.filter((c) => c.startsWith('generate'))).toEqual(['generate 1:req-1']);
    b.cancel('req-1');
    host.finish('1:req-1');
    await first;
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    expect(host.calls).not.toContain('generate 2:req-1');
    a.cancel('req-9');
    expect(host.calls).toContain('cancel 1:req-9');
    expect(shared.stats().generated).toBe(1);
  });

  it('disposes the host when the last client disposes, and loads afresh for the next client', async () => {
    const hosts: FakeHost[] = [];
    const shared = new SharedEngineHost(() => hosts[hosts.push(new FakeHost()) - 1]!);
    const [a, b] = [shared.connect(), shared.connect()];
    await a.load(spec);
    await b.load(spec);
    await a.dispose();
    await a.dispose();
    expect(hosts[0]!.disposed).toBe(false);
    await b.dispose();
    expect(hosts[0]!.disposed).toBe(true);
    await shared.connect().load(spec);
    expect(shared.stats()).toMatchObject({ loads: 2, clients: 1 });
  });

  it('counts the vae override as part of the model: the same one shares the load, another is refused naming both', async () => {
    const hosts: FakeHost[] = [];
    const shared = new SharedEngineHost(() => hosts[hosts.push(new FakeHost()) - 1]!);
    const fix = { ...spec, vae: 'madebyollin/sdxl-vae-fp16-fix' };
    const [a, b, c, d] = [shared.connect(), shared.connect(), shared.connect(), shared.connect()];
    const first = await a.load(fix);
    expect(await b.load({ ...fix })).toBe(first);
    const own = await c.load(spec).then(
      () => expect.fail('expected the model with its own VAE to be refused'),
      (err: unknown) => err as Error,
    );
    expect(own).toMatchObject({ name: 'SharedHostModelMismatchError' });
    expect(own.message).toContain('already serves "org/model" (dtype f32, vae madebyollin/sdxl-vae-fp16-fix); this client asked for "org/model" (dtype f32)');
    await expect(d.load({ ...spec, vae: 'someone/other-vae' })).rejects.toThrow(/asked for "org\/model" \(dtype f32, vae someone\/other-vae\)/);
    // An absent override and a null one are the same: the model's own VAE.
    await Promise.all([a.dispose(), b.dispose()]);
    const [e, f] = [shared.connect(), shared.connect()];
    await e.load({ ...spec, vae: null });
    await f.load(spec);
    expect(hosts).toHaveLength(2);
  });

  it("counts a single file's config repo as part of the model: another one is refused naming both", async () => {
    const shared = new SharedEngineHost(() => new FakeHost());
    const file = { ...spec, modelNameOrPath: '/m/model.safetensors', configFrom: '/m/base' };
    const [a, b, c] = [shared.connect(), shared.connect(), shared.connect()];
    const first = await a.load(file);
    expect(await b.load({ ...file })).toBe(first);
    await expect(c.load({ ...file, configFrom: '/m/other' })).rejects.toThrow(
      'already serves "/m/model.safetensors" (dtype f32, configFrom /m/base); this client asked for "/m/model.safetensors" (dtype f32, configFrom /m/other)',
    );
  });
});
