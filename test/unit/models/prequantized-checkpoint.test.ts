import { describe, expect, it } from 'vitest';
import { QuantizedWeightError } from '../../../src/io/errors.js';
import type { SafetensorsEntry } from '../../../src/io/safetensors-header.js';
import { streamStateDictToDevice } from '../../../src/models/device-state-dict.js';
import { checkPrequantizedHeader } from '../../../src/models/prequantized-checkpoint.js';
import { parseQuantizationConfig, quantizationConfigJson } from '../../../src/quant/quantization-config.js';
import { quantizeRows } from '../../../src/quant/quantize.js';
import { groupsPerRow, rowsOf, type QuantScheme } from '../../../src/quant/scheme.js';
import type { TensorDType, TensorOps } from '../../../src/webgpu/kernels/ops.js';
import { chunkedStream } from '../io/build-safetensors.js';
import { bytesOf, quantizeSample, sampleCheckpoint } from '../quant/sample-checkpoint.js';

/** A host tensor: floats, or a quantized weight's packed bytes and scales (one row of `groups` each, unpadded). */
interface HostTensor {
  shape: readonly number[];
  dtype: TensorDType | 'quantized';
  values?: Float32Array;
  packed?: Uint8Array;
  scales?: Uint16Array;
  groups?: number;
}

/** The ops a pre-quantized checkpoint streams into, on the host, checking that every write is whole words as the device's are. */
function hostOps(): { ops: TensorOps<HostTensor>; live: Set<HostTensor> } {
  const live = new Set<HostTensor>();
  const ops = {
    emptyForWrite(shape: readonly number[], dtype: TensorDType): HostTensor {
      const t = { shape, dtype, values: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
      live.add(t);
      return t;
    },
    writeElements(t: HostTensor, offset: number, values: Float32Array): void {
      t.values!.set(values, offset);
    },
    emptyQuantized(shape: readonly number[], scheme: QuantScheme): HostTensor {
      const { rows, k } = rowsOf(shape);
      const groups = groupsPerRow(k, scheme.groupSize);
      const t = { shape, dtype: 'quantized' as const, packed: new Uint8Array((rows * k * scheme.bits) / 8), scales: new Uint16Array(rows * groups), groups };
      live.add(t);
      return t;
    },
    writeQuantizedValueBytes(t: HostTensor, byteOffset: number, bytes: Uint8Array): void {
      if (byteOffset % 4 !== 0 || bytes.byteLength % 4 !== 0) throw new Error(`unaligned write of ${bytes.byteLength} bytes at ${byteOffset}`);
      t.packed!.set(bytes, byteOffset);
    },
    writeQuantizedScaleRows(t: HostTensor, firstRow: number, scales: Uint16Array): void {
      if (scales.length % t.groups! !== 0) throw new Error(`${scales.length} scales are not whole rows of ${t.groups}`);
      t.scales!.set(scales, firstRow * t.groups!);
    },
    upload(values: Float32Array, shape: readonly number[], dtype: TensorDType = 'f32'): HostTensor {
      return ops.emptyForWrite(shape, dtype);
    },
    reshape: (t: HostTensor, shape: readonly number[]): HostTensor => ({ ...t, shape }),
    release: (t: HostTensor): void => void live.delete(t),
  };
  return { ops: ops as unknown as TensorOps<HostTensor>, live };
}

const MODULES = [
  ['down.conv.weight', [8, 8, 3, 3]],
  ['attn.to_q.weight', [12, 40]],
  ['mlp.fc1.weight', [16, 16]],
] as const;

describe('streaming a pre-quantized checkpoint to the device', () => {
  for (const [bits, groupSize] of [
    [8, 16],
    [4, 32],
  ] as const) {
    it(`int${bits}: packed values and scales land as quantizeRows made them, in 5-byte pieces; the _scale keys are no leftovers`, async () => {
      const file = await quantizeSample(bits, groupSize, 1 << 20);
      const config = parseQuantizationConfig(quantizationConfigJson({ bits, groupSize }, MODULES), 'config.json');
      const { ops, live } = hostOps();
      let uploaded = 0;
      const dict = await streamStateDictToDevice(ops, chunkedStream(file, 5), { file: 'q.safetensors', dtype: 'f16', prequantized: config, onUpload: (n) => (uploaded += n) });
      expect(dict.keys().filter((k) => k.endsWith('_scale'))).toEqual([]);
      const { values } = sampleCheckpoint();
      let expectedBytes = 0;
      for (const [name, shape] of MODULES) {
        const t = dict.takeDevice(name, shape);
        const { rows, k } = rowsOf(shape);
        const q = quantizeRows(values.get(name)!, k, { bits, groupSize });
        expect(t.dtype).toBe('quantized');
        expect(t.shape).toEqual(shape);
        expect(Buffer.from(t.packed!).equals(Buffer.from(bytesOf(q.words))), name).toBe(true);
        expect([...t.scales!]).toEqual([...q.scales]);
        expectedBytes += q.words.byteLength + rows * groupsPerRow(k, groupSize) * 2;
      }
      for (const [name, shape] of [
        ['down.conv.bias', [8]],
        ['conv_in.weight', [8, 3, 3, 3]],
      ] as const) {
        expect(dict.takeDevice(name, shape).dtype).toBe('f16');
        expectedBytes += shape.reduce((a, b) => a * b, 2);
      }
      dict.ignore('position_ids');
      expect(() => dict.finish()).not.toThrow();
      expect(uploaded).toBe(expectedBytes);
      dict.releaseUntaken();
      expect(live.size).toBe(5);
    });
  }

  it('a module the model skips is checked but not uploaded, nor are its scales', async () => {
    const file = await quantizeSample(8, 16, 1 << 20);
    const config = parseQuantizationConfig(quantizationConfigJson({ bits: 8, groupSize: 16 }, MODULES), 'config.json');
    const { ops, live } = hostOps();
    const dict = await streamStateDictToDevice(ops, chunkedStream(file, 64), { file: 'q.safetensors', dtype: 'f16', prequantized: config, skip: (k) => k.startsWith('down.') });
    expect(dict.has('down.conv.weight')).toBe(true);
    expect([...live].filter((t) => t.dtype === 'quantized')).toHaveLength(2);
    expect(() => dict.takeDevice('down.conv.weight', [8, 8, 3, 3])).toThrow(/skipped while streaming/);
  });

  it('frees what it allocated when the header disagrees with the config', async () => {
    const file = await quantizeSample(8, 16, 1 << 20);
    const config = parseQuantizationConfig(quantizationConfigJson({ bits: 4, groupSize: 16 }, MODULES), 'config.json');
    const { ops, live } = hostOps();
    const err = await streamStateDictToDevice(ops, chunkedStream(file, 64), { file: 'q.safetensors', dtype: 'f16', prequantized: config }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuantizedWeightError);
    expect({ tensor: (err as QuantizedWeightError).tensor, field: (err as QuantizedWeightError).field }).toEqual({ tensor: 'down.conv.weight', field: 'dtype' });
    expect(live.size).toBe(0);
  });
});

describe('checkPrequantizedHeader', () => {
  const K = 'attn.to_q.weight';
  const config = parseQuantizationConfig(quantizationConfigJson({ bits: 8, groupSize: 16 }, [[K, [12, 40]]]), 'config.json');
  const entry = (name: string, dtype: string, shape: number[]): SafetensorsEntry => ({ name, dtype: dtype as SafetensorsEntry['dtype'], shape, begin: 0, end: 0 });
  const good = [entry(K, 'I8', [12, 40]), entry(`${K}_scale`, 'F16', [12, 3]), entry('attn.to_q.bias', 'F16', [12])];
  const without = (name: string): SafetensorsEntry[] => good.filter((e) => e.name !== name);
  const cases: ReadonlyArray<{ why: string; entries: SafetensorsEntry[]; tensor: string; field: string; expected: string; actual: string | null }> = [
    { why: 'no packed values', entries: without(K), tensor: K, field: 'missing', expected: 'I8 [12, 40]', actual: null },
    { why: 'packed values as F16', entries: [entry(K, 'F16', [12, 40]), ...without(K)], tensor: K, field: 'dtype', expected: 'I8', actual: 'F16' },
    { why: 'packed values as U8 (int4)', entries: [entry(K, 'U8', [12, 20]), ...without(K)], tensor: K, field: 'dtype', expected: 'I8', actual: 'U8' },
    { why: 'the int4 packed shape', entries: [entry(K, 'I8', [12, 20]), ...without(K)], tensor: K, field: 'shape', expected: '[12, 40]', actual: '[12, 20]' },
    { why: 'no scales', entries: without(`${K}_scale`), tensor: `${K}_scale`, field: 'missing', expected: 'F16 [12, 3]', actual: null },
    { why: 'scales as F32', entries: [entry(`${K}_scale`, 'F32', [12, 3]), ...without(`${K}_scale`)], tensor: `${K}_scale`, field: 'dtype', expected: 'F16', actual: 'F32' },
    { why: 'scales of another group size', entries: [entry(`${K}_scale`, 'F16', [12, 1]), ...without(`${K}_scale`)], tensor: `${K}_scale`, field: 'shape', expected: '[12, 3]', actual: '[12, 1]' },
  ];

  it('accepts a header that matches', () => {
    expect(() => checkPrequantizedHeader('q.safetensors', good, config)).not.toThrow();
  });

  it.each(cases)('refuses $why: QuantizedWeightError naming the file, $tensor and $field', ({ entries, tensor, field, expected, actual }) => {
    let err: unknown;
    try {
      checkPrequantizedHeader('unet/q.safetensors', entries, config);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(QuantizedWeightError);
    const e = err as QuantizedWeightError;
    expect({ file: e.file, tensor: e.tensor, field: e.field, expected: e.expected, actual: e.actual }).toEqual({ file: 'unet/q.safetensors', tensor, field, expected, actual });
    expect(e.message).toContain('unet/q.safetensors');
    expect(e.message).toContain(tensor);
  });
});
