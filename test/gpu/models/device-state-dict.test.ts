import { describe, expect, it } from 'vitest';
import { encodeHalf } from '../../../src/webgpu/half.js';
import { GpuRuntime } from '../../../src/webgpu/runtime.js';
import { GpuOps } from '../../../src/webgpu/kernels/gpu-ops.js';
import { decodeTensorBytes } from '../../../src/io/dtypes.js';
import { streamStateDictToDevice } from '../../../src/models/device-state-dict.js';
import { buildSafetensors } from '../../unit/io/build-safetensors.js';
import { randomUniform } from '../../helpers/rng.js';
import { gpuContext } from '../helpers/device.js';

/** A file delivered in `size`-byte pieces, so tensors and even elements straddle pieces. */
function pieces(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, (at += size)));
    },
  });
}

const f32Bytes = (v: Float32Array): Uint8Array => new Uint8Array(v.buffer.slice(0));
const f16Bytes = (v: Float32Array): Uint8Array => new Uint8Array(encodeHalf(v).buffer);
const bf16Bytes = (v: Float32Array): Uint8Array => {
  const bits = new Uint32Array(v.buffer.slice(0));
  return new Uint8Array(Uint16Array.from(bits, (b) => b >>> 16).buffer);
};

// Odd element counts, every float dtype, and one tensor large enough to span several device
// chunks on the small-binding runtime below.
const values = [randomUniform(7, 1), randomUniform(13, 2), randomUniform(33, 3), randomUniform(3 * 700, 4), randomUniform(5, 5)];
const file = buildSafetensors([
  { name: 'a.f32', dtype: 'F32', shape: [7], bytes: f32Bytes(values[0]!) },
  { name: 'b.f16', dtype: 'F16', shape: [13], bytes: f16Bytes(values[1]!) },
  { name: 'c.bf16', dtype: 'BF16', shape: [3, 11], bytes: bf16Bytes(values[2]!) },
  { name: 'd.big', dtype: 'F32', shape: [30, 70], bytes: f32Bytes(values[3]!) },
  { name: 'e.skipped', dtype: 'F32', shape: [5], bytes: f32Bytes(values[4]!) },
]);

describe('weights stream to the device piece by piece, never a whole tensor on the host', () => {
  for (const dtype of ['f32', 'f16'] as const) {
    for (const piece of [1, 7, 4096]) {
      it(`as ${dtype}, from ${piece}-byte pieces: the same values as a whole-tensor upload`, async () => {
        const ctx = await gpuContext();
        // 1 KiB bindings: d.big (8400 bytes of f32) is split over several device chunks.
        const rt = new GpuRuntime(ctx.device, { ...ctx.capabilities, limits: { ...ctx.capabilities.limits, maxStorageBufferBindingSize: 1024 } });
        const ops = new GpuOps(rt);
        const dict = await streamStateDictToDevice(ops, pieces(file, piece), { file: 'test.safetensors', dtype, skip: (k) => k.startsWith('e.') });
        const decoded = { 'a.f32': values[0]!, 'b.f16': decodeTensorBytes('F16', f16Bytes(values[1]!)) as Float32Array, 'c.bf16': decodeTensorBytes('BF16', bf16Bytes(values[2]!)) as Float32Array, 'd.big': values[3]! };
        for (const [key, want] of Object.entries(decoded)) {
          const shape = dict.take(key).shape;
          const got = dict.takeDevice(key, shape);
          if (key === 'd.big') expect(got.chunks.length).toBeGreaterThan(1);
          const reference = ops.upload(want, shape, dtype);
          expect(Array.from(await ops.read(got)), key).toEqual(Array.from(await ops.read(reference)));
          ops.release(reference);
          ops.release(got);
        }
        expect(() => dict.takeDevice('e.skipped', [5])).toThrow(/skipped/);
        dict.releaseUntaken();
        expect(rt.pool.stats.liveBytes).toBe(0);
      });
    }
  }
});
