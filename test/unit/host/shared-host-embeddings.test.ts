import { describe, expect, it } from 'vitest';
import type { EngineHostApi, HostInfo, ModelSpec } from '../../../src/host/protocol.js';
import { SharedEngineHost } from '../../../src/host/shared-engine-host.js';
import { DEFAULT_LIMITS } from '../../../src/webgpu/limits.js';

const spec: ModelSpec = { modelNameOrPath: 'org/model', dtype: 'f32' };

/** The one call these tests make of a host: `load`. */
function fakeHost(): EngineHostApi {
  const info: HostInfo = { adapter: 'fake', features: [], limits: DEFAULT_LIMITS, model: 'org/model', defaults: { steps: 1, guidanceScale: 0, height: 8, width: 8, scheduler: 'euler' } };
  return { load: () => Promise.resolve(info) } as unknown as EngineHostApi;
}

describe('SharedEngineHost: embeddings are part of the model', () => {
  it('serves clients asking for the same embeddings (a File by name, size and date) and refuses other ones', async () => {
    const file = (name: string, bytes: number) => new File([new Uint8Array(bytes)], name, { lastModified: 1000 });
    const withEmbeddings: ModelSpec = { ...spec, embeddings: [{ source: './a.safetensors', token: '<a>' }, { source: file('b.safetensors', 8) }] };
    const shared = new SharedEngineHost(fakeHost);
    await shared.connect().load(withEmbeddings);
    // A copy of the File, as a port delivers it, is the same embedding.
    await expect(shared.connect().load({ ...spec, embeddings: [{ source: './a.safetensors', token: '<a>' }, { source: file('b.safetensors', 8) }] })).resolves.toBeDefined();
    for (const embeddings of [
      undefined,
      [{ source: './a.safetensors', token: '<b>' }, { source: file('b.safetensors', 8) }],
      [{ source: './a.safetensors', token: '<a>' }, { source: file('b.safetensors', 9) }],
      [{ source: './a.safetensors', token: '<a>' }],
    ]) {
      await expect(shared.connect().load({ ...spec, ...(embeddings ? { embeddings } : {}) })).rejects.toMatchObject({ name: 'SharedHostModelMismatchError' });
    }
    // The error names the embeddings the host serves.
    await expect(shared.connect().load(spec)).rejects.toThrow(/embeddings \.\/a\.safetensors, b\.safetensors/);
  });
});
