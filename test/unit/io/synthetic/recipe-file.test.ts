import { describe, expect, it } from 'vitest';
import { readAllBytes } from '../../../../src/io/byte-source.js';
import { parseSafetensorsHeader, readSafetensors, streamSafetensors } from '../../../../src/io/safetensors.js';
import { RecipeSafetensorsFile } from '../../../../src/io/synthetic/recipe-file.js';
import { RecipeTensor, type RecipeTensorSpec } from '../../../../src/io/synthetic/recipe.js';

/** A small state dict with every rule, an odd-sized tensor before an I64 one (so it starts 4 bytes off 8), and a scalar. */
const SPECS: RecipeTensorSpec[] = [
  { name: 'conv_in.weight', shape: [8, 3, 3, 3], dtype: 'F32' },
  { name: 'conv_in.bias', shape: [7], dtype: 'F32' },
  { name: 'text_model.embeddings.position_ids', shape: [1, 77], dtype: 'I64' },
  { name: 'norm.weight', shape: [33], dtype: 'F32' },
  { name: 'empty.weight', shape: [0, 4], dtype: 'F32' },
  { name: 'scale', shape: [], dtype: 'F32' },
  { name: '0', shape: [5], dtype: 'F32' },
];
const SEED = 1592590338;

/** The tensor's values straight from the recipe. */
function expected(spec: RecipeTensorSpec, seed = SEED): Float32Array | Int32Array {
  const t = new RecipeTensor(spec, seed);
  if (spec.dtype === 'I64') return Int32Array.from({ length: t.count }, (_, i) => i);
  const out = new Float32Array(t.count);
  t.fill(0, out);
  return out;
}

async function bytesOf(file: RecipeSafetensorsFile, chunkBytes: number): Promise<{ bytes: Uint8Array; chunks: number[] }> {
  const { stream, size } = file.open(chunkBytes);
  expect(size).toBe(file.size);
  const chunks: number[] = [];
  const counted = stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        chunks.push(chunk.byteLength);
        controller.enqueue(chunk);
      },
    }),
  );
  return { bytes: await readAllBytes(counted), chunks };
}

describe('RecipeSafetensorsFile', () => {
  it('is a safetensors file our reader parses: tensors.json order, metadata {"format": "pt"}, the recipe values', async () => {
    const file = new RecipeSafetensorsFile(SPECS, SEED);
    const header = parseSafetensorsHeader(file.header, 'virtual', { fileSize: file.size });
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.entries.map((e) => e.name)).toEqual(SPECS.map((s) => s.name));
    expect(header.dataStart % 8).toBe(0);
    expect(header.dataStart + header.dataLength).toBe(file.size);
    // The header keys are written in tensors.json order, integer-like names included.
    // (Read from the text: JSON.parse itself would move "0" first.)
    const text = new TextDecoder().decode(file.header.subarray(8));
    const positions = ['__metadata__', ...SPECS.map((s) => s.name)].map((name) => text.indexOf(`"${name}":{`));
    expect(positions.every((p, i) => p >= 0 && (i === 0 || p > positions[i - 1]!))).toBe(true);
    const tensors = await readSafetensors(file.open(64), { file: 'virtual' });
    for (const spec of SPECS) {
      const t = tensors.get(spec.name)!;
      expect(t.shape).toEqual(spec.shape);
      expect(t.dtype).toBe(spec.dtype);
      expect(t.data).toEqual(expected(spec));
    }
  });

  it('gives the same bytes whatever the chunk size, and never a chunk above it', async () => {
    const file = new RecipeSafetensorsFile(SPECS, SEED);
    const { bytes: reference } = await bytesOf(file, file.size);
    expect(reference.byteLength).toBe(file.size);
    for (const chunkBytes of [1, 3, 7, 8, 100, 4099]) {
      const { bytes, chunks } = await bytesOf(file, chunkBytes);
      expect(bytes).toEqual(reference);
      expect(Math.max(...chunks)).toBeLessThanOrEqual(chunkBytes);
    }
    // Any range read directly, at any offset of any buffer.
    for (const [position, n] of [
      [0, 5],
      [3, 61],
      [file.header.byteLength - 3, 10],
      [file.header.byteLength + 1001, 613],
      [file.size - 9, 9],
    ] as const) {
      const backing = new Uint8Array(n + 1);
      file.read(position, backing.subarray(1));
      expect(backing.subarray(1)).toEqual(reference.subarray(position, position + n));
    }
    expect(() => file.read(file.size - 1, new Uint8Array(2))).toThrow(RangeError);
    expect(() => file.open(0)).toThrow(RangeError);
  });

  it('streams the 50.6 M-element token embedding in bounded chunks, with the test vector sum', async () => {
    const spec: RecipeTensorSpec = { name: 'text_model.embeddings.token_embedding.weight', shape: [49408, 1024], dtype: 'F32' };
    const file = new RecipeSafetensorsFile([spec], 0xdeadbeef);
    const chunkBytes = 4 << 20;
    let sum = 0;
    let biggest = 0;
    let at = 0;
    const { stream } = file.open(chunkBytes);
    await streamSafetensors(stream, {
      file: 'virtual',
      // Chunks as they arrive; no whole tensor is assembled.
      onTensorChunk: (_name, byteOffset, bytes) => {
        expect(byteOffset).toBe(at);
        at += bytes.byteLength;
        biggest = Math.max(biggest, bytes.byteLength);
        const values = new Float32Array(bytes.slice().buffer);
        for (let i = 0; i < values.length; i++) sum += values[i]!;
      },
    });
    expect(at).toBe(49408 * 1024 * 4);
    expect(biggest).toBeLessThanOrEqual(chunkBytes);
    expect(Math.abs(sum - 120.16735817137406) / 120.16735817137406).toBeLessThanOrEqual(1e-12);
  });
});
