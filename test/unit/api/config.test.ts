import { describe, expect, it } from 'vitest';
import { BlobSource, ConfigValidationError, DiffusionConfig, type DiffusionConfigOptions } from '../../../src/index.js';

describe('DiffusionConfig validation', () => {
  it.each<[string, Record<string, unknown>]>([
    ['modelClassName', { modelClassName: 5 }],
    ['modelNameOrPath', { modelNameOrPath: 5 }],
    ['numGpus', { numGpus: -1 }],
    ['numGpus', { numGpus: 1.5 }],
    ['dtype', { dtype: 'bf16' }],
    ['fallback[1]', { fallback: ['http', 7] }],
    ['http', { http: 'http://x' }],
    ['http.baseUrl', { http: { baseUrl: 'not a url' } }],
    ['http.baseUrl', { http: { baseUrl: 'ftp://host/' } }],
    ['http.timeoutMs', { http: { baseUrl: 'http://127.0.0.1:1', timeoutMs: 0 } }],
    ['http.maxRetries', { http: { baseUrl: 'http://127.0.0.1:1', maxRetries: -1 } }],
    ['http.api', { http: { baseUrl: 'http://127.0.0.1:1', api: 'comfy' } }],
  ])('rejects a bad %s synchronously with a typed error naming the field', (field, options) => {
    let err: unknown;
    try {
      new DiffusionConfig(options as DiffusionConfigOptions);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigValidationError);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as ConfigValidationError).field).toBe(field);
    expect((err as Error).message).toContain(`DiffusionConfig.${field} =`);
  });

  it('never echoes an API key of the wrong type', () => {
    expect(() => new DiffusionConfig({ http: { baseUrl: 'http://127.0.0.1:1', apiKey: 12345678 as never } })).toThrow(/<redacted>/);
  });

  it('fills defaults', () => {
    const c = new DiffusionConfig();
    expect(c).toMatchObject({ executorClass: 'webgpu', numGpus: 1, dtype: 'auto', fallback: [], http: null, modelNameOrPath: null });
  });

  it('normalises a single fallback into a list', () => {
    expect(new DiffusionConfig({ fallback: 'http' }).fallback).toEqual(['http']);
  });

  it('takes a ModelSource object as modelNameOrPath, and nothing else that is not a string', () => {
    const source = new BlobSource({}, 'mem');
    expect(new DiffusionConfig({ modelNameOrPath: source }).modelNameOrPath).toBe(source);
    expect(() => new DiffusionConfig({ modelNameOrPath: { id: 'x' } as never })).toThrow(ConfigValidationError);
  });

  it('keeps custom fields on the config', () => {
    const c = new DiffusionConfig({ remoteUrl: 'https://example.test', apiToken: 't', timeout: 600 });
    expect(c.remoteUrl).toBe('https://example.test');
    expect(c.timeout).toBe(600);
  });
});
