import { afterEach, describe, expect, it, vi } from 'vitest';
import { DiffusionConfig, DiffusionExecutor, type DiffusionOutput } from '../../../src/index.js';
import { nearestKey } from '../../../src/executors/options.js';

class Custom extends DiffusionExecutor {
  initExecutor(): void {}
  async executeModel(): Promise<DiffusionOutput[]> {
    return [];
  }
}

afterEach(() => vi.restoreAllMocks());

function warnings(make: () => unknown): string[] {
  const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  warn.mockClear();
  make();
  return warn.mock.calls.map((c) => String(c[0]));
}

describe('nearestKey', () => {
  it('names the key a typo meant, and nothing when none is close', () => {
    expect(nearestKey('varient', ['variant', 'taesd'])).toBe('variant');
    expect(nearestKey('numgpus', ['numGpus', 'numHosts'])).toBe('numGpus');
    expect(nearestKey('remoteUrl', ['variant', 'taesd'])).toBeNull();
  });
});

describe('option keys no executor reads', () => {
  it('are warned about once, naming the nearest known key', () => {
    const first = warnings(() => new DiffusionConfig({ modelNameOrPath: 'm', varient: 'fp16' }));
    expect(first).toEqual(['DiffusionConfig.varient is not an option of the executor webgpu and is ignored; did you mean variant?']);
    expect(warnings(() => new DiffusionConfig({ modelNameOrPath: 'm', varient: 'fp16' }))).toEqual([]);
  });

  it("count every executor of the chain: a fallback's keys are known", () => {
    expect(warnings(() => new DiffusionConfig({ executorClass: 'webgpu', fallback: 'onnx', onnx: { executionProvider: 'wasm' }, preview: true }))).toEqual([]);
    expect(warnings(() => new DiffusionConfig({ executorClass: 'http', http: { baseUrl: 'http://127.0.0.1:1' }, onxx: {} }))[0]).toMatch(/DiffusionConfig\.onxx .* executor http .*known: /);
  });

  it('are not checked when an executor of the chain does not declare the keys it reads', () => {
    expect(warnings(() => new DiffusionConfig({ executorClass: Custom, remoteUrl: 'x' }))).toEqual([]);
    expect(warnings(() => new DiffusionConfig({ executorClass: './my-executor.js#Mine', remoteUrl: 'x' }))).toEqual([]);
  });

  it('inside the http and onnx blocks are warned about too', () => {
    expect(warnings(() => new DiffusionConfig({ executorClass: 'http', http: { baseUrl: 'http://127.0.0.1:1', timeoutMS: 5 } as never }))).toEqual([
      'DiffusionConfig.http.timeoutMS is not an option of the http executor and is ignored; did you mean timeoutMs?',
    ]);
  });
});

describe('numHosts', () => {
  it('is the host count, with numGpus as its old name', () => {
    expect(new DiffusionConfig({ numHosts: 3 })).toMatchObject({ numHosts: 3, numGpus: 3 });
    expect(new DiffusionConfig({ numGpus: 2 }).numHosts).toBe(2);
    expect(new DiffusionConfig({}).numHosts).toBe(1);
    expect(() => new DiffusionConfig({ numHosts: 2, numGpus: 3 })).toThrow(expect.objectContaining({ name: 'ConfigValidationError', field: 'numGpus' }));
    expect(() => new DiffusionConfig({ numHosts: -1 })).toThrow(expect.objectContaining({ field: 'numHosts' }));
  });
});
