import { describe, expect, it } from 'vitest';
import { DiffusionConfig } from '../../../src/api/config.js';
import { DiffusionRequest } from '../../../src/api/request.js';
import { modelSpecOf } from '../../../src/executors/webgpu/options.js';
import { BlobSource } from '../../../src/io/sources/blob-source.js';
import { HostConnection } from '../../../src/host/host-connection.js';
import { toWireRequest, wireTransferables } from '../../../src/host/wire.js';

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

describe('the worker wire request', () => {
  it('asks for the intermediates only when the request does', () => {
    expect(toWireRequest(new DiffusionRequest({ prompt: 'p', returnIntermediates: true }), false).returnIntermediates).toBe(true);
    expect(toWireRequest(new DiffusionRequest({ prompt: 'p' }), false).returnIntermediates).toBe(false);
  });

  it("is the request's own data (its toJSON), so every request field crosses without a hand-written shape", () => {
    const latents = new Float32Array([1, 2, 3]);
    const request = new DiffusionRequest({ prompt: 'p', negativePrompt: 'n', seed: 7, numInferenceSteps: 3, guidanceScale: 2, scheduler: 'ddim', eta: 0.5, decoder: 'taesd', latents, requestId: 'r' });
    const wire = toWireRequest(request, true);
    const { preview, ...data } = wire;
    expect(preview).toBe(true);
    expect(data).toEqual(request.toJSON());
    // Nothing that cannot be cloned: the signal and the progress callback stay on the caller's side.
    const withCallbacks = new DiffusionRequest({ prompt: 'p', signal: new AbortController().signal, onProgress: () => undefined });
    expect(() => structuredClone(toWireRequest(withCallbacks, false))).not.toThrow();
  });

  it('leaves a missing seed to the host, which draws it where the job is resolved', () => {
    expect(toWireRequest(new DiffusionRequest({ prompt: 'p' }), false).seed).toBeUndefined();
  });
});

describe('a host connection', () => {
  it('refuses a ModelSource object for a host behind a worker, naming modelNameOrPath', async () => {
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
