import { describe, expect, it } from 'vitest';
import { parseSafetensorsHeader } from '../../../src/io/safetensors-header.js';
import { SafetensorsError } from '../../../src/io/errors.js';
import { defaultQuantPolicy } from '../../../src/quant/policy.js';
import { quantizeRows } from '../../../src/quant/quantize.js';
import { quantizeCheckpoint } from '../../../src/quant/quantize-checkpoint.js';
import { encodeHalf } from '../../../src/webgpu/half.js';
import { buildSafetensors, chunkedStream, f32Bytes } from '../io/build-safetensors.js';
import { bytesOf, quantizeSample, sampleCheckpoint } from './sample-checkpoint.js';

describe('quantizeCheckpoint', () => {
  for (const [bits, groupSize] of [
    [8, 16],
    [4, 32],
  ] as const) {
    it(`int${bits}, groups of ${groupSize}, streamed in 7-byte pieces: the selected weights packed as quantizeRows packs them, the rest f16 or as they were`, async () => {
      const { values } = sampleCheckpoint();
      const out = await quantizeSample(bits, groupSize, 7);
      const header = parseSafetensorsHeader(out, 'out.safetensors', { fileSize: out.byteLength });
      expect(header.metadata).toEqual({ format: 'pt' });
      expect(header.dataStart % 8).toBe(0);
      expect(header.dataStart + header.dataLength).toBe(out.byteLength);
      const tensor = (name: string): { dtype: string; shape: number[]; bytes: Uint8Array } => {
        const e = header.entries.find((x) => x.name === name)!;
        return { dtype: e.dtype, shape: e.shape, bytes: out.subarray(header.dataStart + e.begin, header.dataStart + e.end) };
      };
      // Data order: the input's, each packed weight followed by its scales.
      expect(header.entries.map((e) => e.name)).toEqual([
        'down.conv.weight',
        'down.conv.weight_scale',
        'down.conv.bias',
        'position_ids',
        'attn.to_q.weight',
        'attn.to_q.weight_scale',
        'conv_in.weight',
        'mlp.fc1.weight',
        'mlp.fc1.weight_scale',
      ]);
      for (const [name, shape] of [
        ['down.conv.weight', [8, 8, 3, 3]],
        ['attn.to_q.weight', [12, 40]],
        ['mlp.fc1.weight', [16, 16]],
      ] as const) {
        const k = shape.slice(1).reduce((a, b) => a * b, 1);
        const q = quantizeRows(values.get(name)!, k, { bits, groupSize });
        const packed = tensor(name);
        expect([packed.dtype, packed.shape]).toEqual([bits === 8 ? 'I8' : 'U8', [shape[0], (k * bits) / 8]]);
        expect(Buffer.from(packed.bytes).equals(Buffer.from(bytesOf(q.words))), name).toBe(true);
        const scales = tensor(`${name}_scale`);
        expect([scales.dtype, scales.shape]).toEqual(['F16', [shape[0], Math.ceil(k / groupSize)]]);
        expect(Buffer.from(scales.bytes).equals(Buffer.from(bytesOf(q.scales))), `${name}_scale`).toBe(true);
      }
      // Kept weights: f16 (rounded to nearest even), integers as they were.
      const kept = tensor('conv_in.weight');
      expect([kept.dtype, kept.shape]).toEqual(['F16', [8, 3, 3, 3]]);
      expect(Buffer.from(kept.bytes).equals(Buffer.from(bytesOf(encodeHalf(values.get('conv_in.weight')!))))).toBe(true);
      expect(Buffer.from(tensor('down.conv.bias').bytes).equals(Buffer.from(bytesOf(encodeHalf(values.get('down.conv.bias')!))))).toBe(true);
      expect(tensor('position_ids')).toEqual({ dtype: 'I64', shape: [1, 3], bytes: bytesOf(BigInt64Array.of(0n, 1n, 2n)) });
    });
  }

  it('writes the same bytes whatever the pieces the input arrives in', async () => {
    const whole = await quantizeSample(4, 16, 1 << 20);
    for (const chunk of [1, 5, 64]) expect(Buffer.from(await quantizeSample(4, 16, chunk)).equals(Buffer.from(whole)), `pieces of ${chunk}`).toBe(true);
  });

  it('refuses an input whose weight already has a _scale tensor beside it', async () => {
    const bytes = buildSafetensors([
      { name: 'a.weight', dtype: 'F32', shape: [4, 8], bytes: f32Bytes(Array<number>(32).fill(0.5)) },
      { name: 'a.weight_scale', dtype: 'F16', shape: [4, 1], bytes: new Uint8Array(8) },
    ]);
    const err = await quantizeCheckpoint(chunkedStream(bytes, 64), 'in.safetensors', defaultQuantPolicy({ bits: 8, groupSize: 128 }), async () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as SafetensorsError).tensor).toBe('a.weight_scale');
  });
});
