import { describe, expect, it } from 'vitest';
import { DiffusionRequest } from '../../../../src/engine/request.js';
import { DiffusionConfig } from '../../../../src/engine/config.js';
import { HostConnection } from '../../../../src/executors/webgpu/host-connection.js';
import { modelSpecOf, toWireRequest, wireTransferables, workerOf } from '../../../../src/executors/webgpu/wire.js';
import { BlobSource } from '../../../../src/io/sources/blob-source.js';

describe('img2img requests on the worker wire', () => {
  const pixels = Uint8ClampedArray.from({ length: 8 * 8 * 4 }, (_, i) => i % 251);
  const request = new DiffusionRequest({ prompt: 'p', seed: 3, image: { width: 8, height: 8, data: pixels }, strength: 0.6 });

  it('carry a copy of the image bytes and the strength', () => {
    const wire = toWireRequest(request, false);
    expect(wire).toMatchObject({ width: 8, height: 8, strength: 0.6, image: { width: 8, height: 8 } });
    expect(Array.from(wire.image!.data)).toEqual(Array.from(pixels));
    expect(wire.image!.data.buffer).not.toBe(pixels.buffer);
  });

  it('transfer the copy, leaving the caller image intact', () => {
    const wire = toWireRequest(request, false);
    const transfer = wireTransferables(wire);
    expect(transfer).toEqual([wire.image!.data.buffer]);
    const received = structuredClone(wire, { transfer });
    expect(wire.image!.data.byteLength).toBe(0);
    expect(Array.from(received.image!.data)).toEqual(Array.from(pixels));
    expect(pixels.byteLength).toBe(8 * 8 * 4);
  });

  it('transfer nothing for a text-to-image request', () => {
    expect(wireTransferables(toWireRequest(new DiffusionRequest({ prompt: 'p' }), false))).toEqual([]);
  });
});

describe('model specs and intermediates on the worker wire', () => {
  it('carry a ModelSource object beside its id, and a model name as it is', () => {
    const source = new BlobSource({}, 'mem');
    expect(modelSpecOf(new DiffusionConfig({ modelNameOrPath: source }), 'webgpu')).toMatchObject({ modelNameOrPath: 'mem', source });
    const named = modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'org/model' }), 'webgpu');
    expect(named.modelNameOrPath).toBe('org/model');
    expect(named.source).toBeUndefined();
  });

  it('ask for the intermediates only when the request does', () => {
    expect(toWireRequest(new DiffusionRequest({ prompt: 'p', returnIntermediates: true }), false).returnIntermediates).toBe(true);
    expect(toWireRequest(new DiffusionRequest({ prompt: 'p' }), false).returnIntermediates).toBeUndefined();
  });

  it('refuse a ModelSource object for a host behind a worker, naming modelNameOrPath', async () => {
    const source = new BlobSource({}, 'mem');
    let killed = false;
    const connection = new HostConnection(
      async () => ({ host: {} as never, remote: true, crashed: null, close: async () => undefined, kill: () => void (killed = true) }),
      modelSpecOf(new DiffusionConfig({ modelNameOrPath: source }), 'webgpu'),
      { preview: false },
    );
    await expect(connection.start()).rejects.toMatchObject({ name: 'ConfigValidationError', field: 'modelNameOrPath' });
    expect(killed).toBe(true);
  });
});

describe('GPU options in the model spec', () => {
  it('default to the adapter limits and auto activations, and pass explicit values through', () => {
    expect(modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'org/model' }), 'webgpu')).toMatchObject({ gpuLimits: 'adapter', activations: 'auto' });
    const spec = modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'org/model', gpuLimits: 'default', activations: 'f32' }), 'webgpu');
    expect(spec).toMatchObject({ gpuLimits: 'default', activations: 'f32' });
  });

  it('refuse values they do not know with ConfigValidationError naming the field', () => {
    expect(() => modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'org/model', activations: 'fp16' }), 'webgpu')).toThrow(/DiffusionConfig\.activations = "fp16": expected 'auto' or 'f32' or 'f16'/);
    expect(() => modelSpecOf(new DiffusionConfig({ modelNameOrPath: 'org/model', gpuLimits: 'max' }), 'webgpu')).toThrow(/DiffusionConfig\.gpuLimits/);
  });
});

describe('the worker config field', () => {
  it('is absent, true or false; anything else is a ConfigValidationError naming it', () => {
    expect(workerOf(new DiffusionConfig({}))).toBeUndefined();
    expect(workerOf(new DiffusionConfig({ worker: true }))).toBe(true);
    expect(workerOf(new DiffusionConfig({ worker: false }))).toBe(false);
    expect(() => workerOf(new DiffusionConfig({ worker: 'thread' }))).toThrow(/DiffusionConfig\.worker = "thread": expected true/);
  });
});
