import { describe, expect, it } from 'vitest';
import { DiffusionRequest } from '../../../../src/engine/request.js';
import { toWireRequest, wireTransferables } from '../../../../src/executors/webgpu/wire.js';

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
