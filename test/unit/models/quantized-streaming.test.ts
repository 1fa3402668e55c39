import { describe, expect, it } from 'vitest';
import { streamStateDictToDevice } from '../../../src/models/device-state-dict.js';
import { defaultQuantPolicy } from '../../../src/quant/policy.js';
import { quantizeRows, type QuantizedRows } from '../../../src/quant/quantize.js';
import { groupsPerRow, rowsOf, type QuantScheme } from '../../../src/quant/scheme.js';
import type { TensorDType, TensorOps } from '../../../src/webgpu/kernels/ops.js';
import { randomNormal } from '../../helpers/rng.js';
import { buildSafetensors, chunkedStream, f32Bytes } from '../io/build-safetensors.js';

/** A host tensor: floats, or a quantized weight's rows as the device would receive them. */
interface HostTensor {
  shape: readonly number[];
  dtype: TensorDType | 'quantized';
  values?: Float32Array;
  words?: Uint32Array;
  scales?: Uint16Array;
  rowsWritten?: number;
}

/** Ops that quantize-stream on the host: rows must arrive whole and in order, as `GpuOps` expects. */
function hostOps(): TensorOps<HostTensor> {
  const ops = {
    emptyForWrite: (shape: readonly number[], dtype: TensorDType): HostTensor => ({ shape, dtype, values: new Float32Array(shape.reduce((a, b) => a * b, 1)) }),
    writeElements(t: HostTensor, offset: number, values: Float32Array): void {
      t.values!.set(values, offset);
    },
    emptyQuantized(shape: readonly number[], scheme: QuantScheme): HostTensor {
      const { rows, k } = rowsOf(shape);
      return { shape, dtype: 'quantized', words: new Uint32Array((rows * k * scheme.bits) / 32), scales: new Uint16Array(rows * groupsPerRow(k, scheme.groupSize)), rowsWritten: 0 };
    },
    writeQuantizedRows(t: HostTensor, firstRow: number, q: QuantizedRows): void {
      if (firstRow !== t.rowsWritten) throw new Error(`rows out of order: ${firstRow} after ${t.rowsWritten}`);
      const wordsPerRow = t.words!.length / rowsOf(t.shape).rows;
      const rows = q.words.length / wordsPerRow;
      t.words!.set(q.words, firstRow * wordsPerRow);
      t.scales!.set(q.scales, (firstRow * q.scales.length) / rows);
      t.rowsWritten = firstRow + rows;
    },
    upload: (values: Float32Array, shape: readonly number[], dtype: TensorDType = 'f32'): HostTensor => ({ shape, dtype, values }),
    reshape: (t: HostTensor, shape: readonly number[]): HostTensor => ({ ...t, shape }),
    release: (): void => undefined,
  };
  return ops as unknown as TensorOps<HostTensor>;
}

const WEIGHTS = [
  ['attn.to_q.weight', [12, 40]],
  ['mlp.fc1.weight', [16, 24]],
  // Rows of 12 values fill 8-bit words but not 4-bit ones: int4 leaves this weight f16.
  ['proj.weight', [6, 12]],
  ['norm.weight', [40]],
] as const;

function checkpoint(): { bytes: Uint8Array; values: Map<string, Float32Array> } {
  const values = new Map(WEIGHTS.map(([name, shape], i) => [name as string, randomNormal(shape.reduce((a: number, b: number) => a * b, 1), i + 1, 0.1)]));
  const bytes = buildSafetensors(WEIGHTS.map(([name, shape]) => ({ name, dtype: 'F32' as const, shape: [...shape], bytes: f32Bytes([...values.get(name)!]) })));
  return { bytes, values };
}

describe('quantizing while a checkpoint streams (dtype int8 / int4)', () => {
  for (const [dtype, scheme] of [
    ['int8', { bits: 8, groupSize: 8 }],
    ['int4', { bits: 4, groupSize: 8 }],
  ] as const) {
    it(`${dtype}: selected weights arrive as quantizeRows packs them, row by row from 7-byte pieces; the rest stay f16`, async () => {
      const { bytes, values } = checkpoint();
      const logged: string[] = [];
      const dict = await streamStateDictToDevice(hostOps(), chunkedStream(bytes, 7), {
        file: 'unet.safetensors',
        dtype: 'f16',
        quantize: defaultQuantPolicy(scheme),
        onQuantFallback: (m) => logged.push(m),
      });
      const packable = new Set(dtype === 'int8' ? ['attn.to_q.weight', 'mlp.fc1.weight', 'proj.weight'] : ['attn.to_q.weight', 'mlp.fc1.weight']);
      for (const [name, shape] of WEIGHTS) {
        const t = dict.takeDevice(name, [...shape]);
        if (packable.has(name)) {
          expect(t.dtype, name).toBe('quantized');
          expect(t.rowsWritten, name).toBe(shape[0]);
          const want = quantizeRows(values.get(name)!, shape[1]!, scheme);
          expect([...t.words!], name).toEqual([...want.words]);
          expect([...t.scales!], name).toEqual([...want.scales]);
        } else {
          expect(t.dtype, name).toBe('f16');
          expect([...t.values!], name).toEqual([...values.get(name)!]);
        }
      }
      if (dtype === 'int8') expect(logged).toEqual([]);
      else {
        // One message per checkpoint, naming the file, the weight, its shape and why.
        expect(logged).toHaveLength(1);
        expect(logged[0]).toContain('unet.safetensors');
        expect(logged[0]).toContain('1 weight(s) stay f16 instead of int4');
        expect(logged[0]).toContain('proj.weight [6, 12]');
        expect(logged[0]).toMatch(/rows of 12 values/);
      }
    });
  }
});
