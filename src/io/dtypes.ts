import { fromHalfBits } from '../webgpu/half.js';

/** Element types a safetensors file may declare that this library reads. */
export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I8' | 'U8' | 'BOOL';

/** Bytes per element of each supported dtype. */
export const DTYPE_BYTES: Readonly<Record<SafetensorsDType, number>> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  // I8 and U8 also hold the packed values of pre-quantized weights (see `src/quant/prequantized-format.ts`).
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Whether `dtype` is one this library reads. */
export function isSupportedDType(dtype: string): dtype is SafetensorsDType {
  return Object.hasOwn(DTYPE_BYTES, dtype);
}

/**
 * Decoded element data. Float dtypes become Float32Array; I32, I8 and I64 become Int32Array
 * (I64 stays BigInt64Array only when a value does not fit in int32); U8 and BOOL become Uint8Array.
 */
export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array;

/**
 * Decodes little-endian tensor bytes. `bytes.byteLength` must be a multiple of the dtype's size.
 * The result never aliases `bytes`, so callers may reuse their buffers.
 */
export function decodeTensorBytes(dtype: SafetensorsDType, bytes: Uint8Array): TensorData {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  switch (dtype) {
    case 'F32': {
      // A copy is a memcpy on little-endian hosts (all that run WebGPU); it also aligns the data.
      if (LITTLE_ENDIAN) return new Float32Array(bytes.slice().buffer);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case 'F16': {
      const table = f16Table();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[view.getUint16(i * 2, true)]!;
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return new Float32Array(bits.buffer);
    }
    case 'F64': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    }
    case 'I64':
      return decodeI64(view, n);
    case 'I32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    case 'I8': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      return out;
    }
    case 'U8':
    case 'BOOL':
      return bytes.slice();
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

let f16ToF32: Float32Array | null = null;

/** All 65536 half-precision values as float32 (256 KiB), built on first use: a lookup beats decoding per element. */
function f16Table(): Float32Array {
  if (!f16ToF32) {
    f16ToF32 = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16ToF32[h] = fromHalfBits(h);
  }
  return f16ToF32;
}

function decodeI64(view: DataView, n: number): Int32Array | BigInt64Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const lo = view.getInt32(i * 8, true);
    const hi = view.getInt32(i * 8 + 4, true);
    // The value fits in int32 exactly when the high word is the sign extension of the low word.
    if (hi !== lo >> 31) {
      const wide = new BigInt64Array(n);
      for (let j = 0; j < n; j++) wide[j] = view.getBigInt64(j * 8, true);
      return wide;
    }
    out[i] = lo;
  }
  return out;
}
