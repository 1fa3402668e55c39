import { describe, expect, it } from 'vitest';
import { deserializeError, isSerializedError, serializeError, type SerializedError } from '../../../src/api/error-transfer.js';
import { ConfigValidationError, OmniDiffusionError, RequestValidationError } from '../../../src/api/errors.js';
import { TensorShapeError } from '../../../src/webgpu/errors.js';
import { DeviceLimitError } from '../../../src/plan/errors.js';
import { codesWithoutSample, deviceLimitSample, errorSamples } from '../../helpers/error-samples.js';

/** The class's own fields of `err` (what `serializeError` copies). */
function ownFields(err: Error): Record<string, unknown> {
  return Object.fromEntries(Object.keys(err).filter((k) => k !== 'name').map((k) => [k, (err as unknown as Record<string, unknown>)[k]]));
}

describe('serializeError → structuredClone → deserializeError', () => {
  it('has a sample of every registered error class', () => {
    expect(codesWithoutSample()).toEqual([]);
  });

  it.each(errorSamples().map(([cls, err]) => [err.name, cls, err] as const))('%s comes back as its class, with code, message and fields', (_name, cls, err) => {
    const record = serializeError(err);
    for (const wire of [structuredClone(record), JSON.parse(JSON.stringify(record)) as SerializedError]) {
      const back = deserializeError(wire);
      expect(back).toBeInstanceOf(cls);
      expect(back).toBeInstanceOf(OmniDiffusionError);
      expect(back).toBeInstanceOf(Error);
      expect(back.constructor).toBe(cls);
      expect(back.name).toBe(err.name);
      expect(back.message).toBe(err.message);
      expect((back as OmniDiffusionError).code).toBe((err as OmniDiffusionError).code);
      expect(back.stack).toBe(err.stack);
      expect(ownFields(back)).toEqual(ownFields(err));
      if (err instanceof TypeError) expect(back).toBeInstanceOf(TypeError);
    }
  });

  it('keeps a DeviceLimitError whole: fields, its cause as its own class, and its methods', () => {
    const back = deserializeError(structuredClone(serializeError(deviceLimitSample()))) as DeviceLimitError;
    expect(back).toMatchObject({ code: 'DEVICE_LIMIT', component: 'unet', tensor: 'tensor [2,320,1024,1024] f32', bytes: 2684354560, limit: 'maxStorageBufferBindingSize', limitValue: 134217728 });
    expect(back.cause).toBeInstanceOf(TensorShapeError);
    expect((back.cause as Error).message).toBe('conv2d: output does not fit one binding');
    expect(back.withAdvice('Use the TAESD decoder.').message).toMatch(/Use the TAESD decoder\.$/);
  });

  it('records a class’s code and every field in plain data', () => {
    expect(serializeError(new RequestValidationError('seed', -1, 'an integer >= 0'))).toMatchObject({
      name: 'RequestValidationError',
      code: 'REQUEST_INVALID',
      message: 'Invalid DiffusionRequest.seed = -1: expected an integer >= 0.',
      field: 'seed',
      value: -1,
    });
  });

  it('describes values that are not plain data, and ends cycles', () => {
    const fn = function secretKeeper(): void {};
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const record = serializeError(Object.assign(new ConfigValidationError('onProgress', fn, 'a function'), { extra: cyclic, big: new Float32Array(4), nan: Number.NaN }));
    expect(record.value).toBe('function secretKeeper');
    expect(record.big).toBe('[Float32Array]');
    expect(record.nan).toBe('NaN');
    expect(() => structuredClone(record)).not.toThrow();
    expect(() => JSON.stringify(record)).not.toThrow();
    const err = new Error('outer');
    (err as { cause?: unknown }).cause = err;
    expect(() => JSON.stringify(serializeError(err))).not.toThrow();
  });

  it('rebuilds standard errors by name and keeps a foreign code (Node’s ENOENT)', () => {
    const back = deserializeError(serializeError(new RangeError('index 9 of 3')));
    expect(back).toBeInstanceOf(RangeError);
    expect(back).not.toBeInstanceOf(OmniDiffusionError);
    const enoent = Object.assign(new Error('no such file'), { code: 'ENOENT', path: '/x' });
    const rebuilt = deserializeError(structuredClone(serializeError(enoent)));
    expect(rebuilt).toMatchObject({ name: 'Error', code: 'ENOENT', path: '/x', message: 'no such file' });
  });

  it('turns thrown non-errors into records without reading their contents', () => {
    expect(serializeError('boom')).toEqual({ name: 'Error', message: 'boom' });
    expect(serializeError({ token: 'sk-123' })).toEqual({ name: 'Error', message: '[object]' });
  });

  it('tells records from errors', () => {
    expect(isSerializedError(serializeError(new Error('x')))).toBe(true);
    expect(isSerializedError(new Error('x'))).toBe(false);
    expect(isSerializedError({ name: 'x' })).toBe(false);
  });
});
