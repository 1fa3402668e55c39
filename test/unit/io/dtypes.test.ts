import { describe, expect, it } from 'vitest';
import { fromHalfBits } from '../../../src/webgpu/half.js';
import { decodeTensorBytes } from '../../../src/io/dtypes.js';
import { readSafetensors } from '../../../src/io/safetensors.js';
import { fixturePath } from '../../helpers/fixtures.js';

function u16Bytes(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  values.forEach((v, i) => new DataView(out.buffer).setUint16(i * 2, v, true));
  return out;
}

function i64Bytes(values: bigint[]): Uint8Array {
  return new Uint8Array(new BigInt64Array(values).buffer);
}

describe('dtype decoding', () => {
  it('decodes F16 normals, subnormals, zeros, infinities and NaN', () => {
    const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x3555];
    const out = decodeTensorBytes('F16', u16Bytes(bits)) as Float32Array;
    expect(out).toBeInstanceOf(Float32Array);
    expect([...out.slice(0, 9)]).toEqual([1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 0, -0, Infinity, -Infinity]);
    expect(Number.isNaN(out[9])).toBe(true);
    expect(out[10]).toBeCloseTo(1 / 3, 3);
    expect(Object.is(fromHalfBits(0x8000), -0)).toBe(true);
  });

  it('decodes BF16 as the top half of a float32', () => {
    const f = new Float32Array([1, -2.5, 3.140625, 1e30]);
    const top = [...new Uint32Array(f.buffer)].map((b) => b >>> 16);
    const out = decodeTensorBytes('BF16', u16Bytes(top)) as Float32Array;
    expect(out[0]).toBe(1);
    expect(out[1]).toBe(-2.5);
    expect(out[2]).toBe(3.140625);
    expect(Math.abs(out[3]! - 1e30) / 1e30).toBeLessThan(2 ** -7);
  });

  it('decodes I64 token ids into Int32Array, and to BigInt64Array only when a value needs 64 bits', () => {
    const small = decodeTensorBytes('I64', i64Bytes([49406n, 0n, -1n, 2147483647n, -2147483648n]));
    expect(small).toBeInstanceOf(Int32Array);
    expect([...small]).toEqual([49406, 0, -1, 2147483647, -2147483648]);
    const wide = decodeTensorBytes('I64', i64Bytes([1n, 2n ** 40n, -(2n ** 33n)]));
    expect(wide).toBeInstanceOf(BigInt64Array);
    expect([...wide]).toEqual([1n, 2n ** 40n, -(2n ** 33n)]);
  });

  it('decodes I32, U8 and BOOL without aliasing the input bytes', () => {
    const bytes = new Uint8Array(new Int32Array([-7, 9]).buffer);
    expect([...decodeTensorBytes('I32', bytes)]).toEqual([-7, 9]);
    const flags = new Uint8Array([0, 1, 1]);
    const decoded = decodeTensorBytes('BOOL', flags);
    flags[0] = 5;
    expect([...decoded]).toEqual([0, 1, 1]);
  });

  it('reads the fp16 fixture weights as the float32 ones rounded to half precision', async () => {
    const f32 = await readSafetensors({ nodePath: fixturePath('unet-sd21-tiny', 'model.safetensors') });
    const f16 = await readSafetensors({ nodePath: fixturePath('unet-sd21-tiny', 'model.fp16.safetensors') });
    expect([...f16.keys()].sort()).toEqual([...f32.keys()].sort());
    let worst = 0;
    for (const [name, t] of f16) {
      expect(t.dtype).toBe('F16');
      const ref = f32.get(name)!.data as Float32Array;
      const half = t.data as Float32Array;
      for (let i = 0; i < ref.length; i++) {
        const x = ref[i]!;
        // Round-to-nearest error: half an ulp, 2^-11 relative for normals, 2^-25 absolute below.
        worst = Math.max(worst, Math.abs(half[i]! - x) / Math.max(Math.abs(x), 2 ** -14));
      }
    }
    expect(worst).toBeLessThanOrEqual(2 ** -11);
    expect(worst).toBeGreaterThan(0);
  });
});
