import { defaultQuantPolicy } from '../../../src/quant/policy.js';
import { quantizeCheckpoint } from '../../../src/quant/quantize-checkpoint.js';
import { encodeHalf } from '../../../src/webgpu/half.js';
import { randomNormal } from '../../helpers/rng.js';
import { buildSafetensors, chunkedStream, f32Bytes } from '../io/build-safetensors.js';

/** Test helpers: a small checkpoint of every kind of tensor, and its pre-quantized form. */

export const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A small checkpoint of every kind of tensor: quantized weights (F32 and BF16), kept ones (F32, F16), an integer one. */
export function sampleCheckpoint(): { bytes: Uint8Array; values: Map<string, Float32Array> } {
  const values = new Map<string, Float32Array>([
    ['down.conv.weight', randomNormal(8 * 8 * 3 * 3, 1, 0.1)],
    ['down.conv.bias', randomNormal(8, 2, 0.1)],
    ['attn.to_q.weight', randomNormal(12 * 40, 3, 0.1)],
    ['conv_in.weight', randomNormal(8 * 3 * 3 * 3, 4, 0.1)],
  ]);
  // BF16 keeps the top half of each f32: the values it stands for are those.
  const bf16Bits = new Uint16Array(16 * 16);
  const bf16 = new Float32Array(16 * 16);
  const raw = randomNormal(16 * 16, 5, 0.1);
  for (let i = 0; i < raw.length; i++) {
    bf16Bits[i] = new Uint32Array(Float32Array.of(raw[i]!).buffer)[0]! >>> 16;
    bf16[i] = new Float32Array(Uint32Array.of(bf16Bits[i]! << 16).buffer)[0]!;
  }
  values.set('mlp.fc1.weight', bf16);
  const bytes = buildSafetensors(
    [
      { name: 'down.conv.weight', dtype: 'F32', shape: [8, 8, 3, 3], bytes: f32Bytes([...values.get('down.conv.weight')!]) },
      { name: 'down.conv.bias', dtype: 'F16', shape: [8], bytes: bytesOf(encodeHalf(values.get('down.conv.bias')!)) },
      { name: 'position_ids', dtype: 'I64', shape: [1, 3], bytes: bytesOf(BigInt64Array.of(0n, 1n, 2n)) },
      { name: 'attn.to_q.weight', dtype: 'F32', shape: [12, 40], bytes: f32Bytes([...values.get('attn.to_q.weight')!]) },
      { name: 'conv_in.weight', dtype: 'F32', shape: [8, 3, 3, 3], bytes: f32Bytes([...values.get('conv_in.weight')!]) },
      { name: 'mlp.fc1.weight', dtype: 'BF16', shape: [16, 16], bytes: bytesOf(bf16Bits) },
    ],
    { metadata: { format: 'pt' } },
  );
  return { bytes, values };
}

/** The checkpoint quantized through `quantizeCheckpoint`, read back from a stream of `chunk`-byte pieces. */
export async function quantizeSample(bits: 8 | 4, groupSize: number, chunk: number): Promise<Uint8Array> {
  const { bytes } = sampleCheckpoint();
  const parts: Uint8Array[] = [];
  await quantizeCheckpoint(chunkedStream(bytes, chunk), 'sample.safetensors', defaultQuantPolicy({ bits, groupSize }), async (b) => void parts.push(b.slice()));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.byteLength) - p.byteLength);
  return out;
}
