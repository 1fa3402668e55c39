import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AbortError } from '../../../src/api/errors.js';
import type { ByteProgress } from '../../../src/io/byte-source.js';
import { SafetensorsError } from '../../../src/io/errors.js';
import { parseSafetensorsHeader, readSafetensors, streamSafetensors } from '../../../src/io/safetensors.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { buildSafetensors, chunkedStream, f32Bytes, neverEndingStream } from './build-safetensors.js';

/** Byte equality of two typed arrays (vitest's deep equality is too slow for megabytes). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.constructor === b.constructor && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

const small = () =>
  buildSafetensors(
    [
      { name: 'a', dtype: 'F32', shape: [2, 2], bytes: f32Bytes([1, 2, 3, 4]) },
      { name: 'empty', dtype: 'F32', shape: [0, 3], bytes: new Uint8Array(0) },
      { name: 'b', dtype: 'F32', shape: [3], bytes: f32Bytes([5, 6, 7]) },
    ],
    { metadata: { format: 'pt' }, order: 'reverse' },
  );

async function expectSafetensorsError(promise: Promise<unknown>, tensor: string | null, pattern: RegExp): Promise<SafetensorsError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SafetensorsError);
  const typed = err as SafetensorsError;
  expect(typed.name).toBe('SafetensorsError');
  expect(typed.file).toBe('bad.safetensors');
  expect(typed.tensor).toBe(tensor);
  expect(typed.message).toMatch(pattern);
  expect(typed.message).toContain('bad.safetensors');
  return typed;
}

describe('safetensors header', () => {
  it('sorts entries by offset, whatever their order in the header, and keeps the metadata', () => {
    const header = parseSafetensorsHeader(small(), 'x.safetensors');
    expect(header.entries.map((e) => e.name)).toEqual(['a', 'empty', 'b']);
    expect(header.metadata).toEqual({ format: 'pt' });
    expect(header.dataLength).toBe(28);
    expect(header.dataStart % 8).toBe(0);
  });

  it('rejects a header length over the cap without reading on', async () => {
    const bytes = buildSafetensors([{ name: 'a', dtype: 'F32', shape: [1], bytes: f32Bytes([1]) }], { headerLength: 2 ** 40 });
    await expectSafetensorsError(streamSafetensors(neverEndingStream(bytes), { file: 'bad.safetensors' }), null, /exceeds the cap/);
    await expectSafetensorsError(streamSafetensors(bytes, { file: 'bad.safetensors', maxHeaderBytes: 8 }), null, /exceeds the cap of 8 bytes/);
  });

  it('rejects a header that is not a JSON object', async () => {
    const notJson = buildSafetensors([], { headerText: '{"a": ' });
    await expectSafetensorsError(readSafetensors(notJson, { file: 'bad.safetensors' }), null, /header is not valid JSON at line 1, column \d+: expected a value/);
    const array = buildSafetensors([], { headerText: '[]' });
    await expectSafetensorsError(readSafetensors(array, { file: 'bad.safetensors' }), null, /not a JSON object/);
  });

  it('rejects overlapping offsets, naming both tensors', async () => {
    const bytes = buildSafetensors([
      { name: 'first', dtype: 'F32', shape: [2], bytes: f32Bytes([1, 2]) },
      { name: 'second', dtype: 'F32', shape: [2], bytes: f32Bytes([3, 4]), offsets: [4, 12] },
    ]);
    const err = await expectSafetensorsError(readSafetensors(bytes, { file: 'bad.safetensors' }), 'second', /overlap/);
    expect(err.message).toContain('"first"');
  });

  it('rejects an unknown dtype', async () => {
    const bytes = buildSafetensors([{ name: 'w', dtype: 'F8_E4M3', shape: [4], bytes: new Uint8Array(4) }]);
    await expectSafetensorsError(readSafetensors(bytes, { file: 'bad.safetensors' }), 'w', /unknown or unsupported dtype "F8_E4M3"/);
  });

  it('rejects a dtype and shape that disagree with the byte length', async () => {
    const bytes = buildSafetensors([{ name: 'w', dtype: 'F16', shape: [3], bytes: f32Bytes([1, 2, 3]) }]);
    await expectSafetensorsError(readSafetensors(bytes, { file: 'bad.safetensors' }), 'w', /F16 × shape \[3\] is 6 bytes, but data_offsets \[0, 12\] span 12/);
  });

  it('rejects offsets past the end of a file of known size', async () => {
    const bytes = small();
    const blob = new Blob([bytes.subarray(0, bytes.byteLength - 4)]);
    await expectSafetensorsError(readSafetensors(blob, { file: 'bad.safetensors' }), 'b', /run past the end of the file/);
  });
});

describe('streamSafetensors', () => {
  it('fails with the tensor being read when the stream ends early', async () => {
    const bytes = small();
    const truncated = chunkedStream(bytes.subarray(0, bytes.byteLength - 5), 16);
    await expectSafetensorsError(readSafetensors(truncated, { file: 'bad.safetensors' }), 'b', /truncated file/);
  });

  it('fails when the stream ends inside the header or its length', async () => {
    const bytes = small();
    await expectSafetensorsError(readSafetensors(chunkedStream(bytes.subarray(0, 20), 3), { file: 'bad.safetensors' }), null, /cut short/);
    await expectSafetensorsError(readSafetensors(chunkedStream(bytes.subarray(0, 5), 3), { file: 'bad.safetensors' }), null, /too short/);
  });

  it('stops reading a file of known size once the last tensor is complete', async () => {
    const bytes = small();
    const tensors = await readSafetensors({ stream: neverEndingStream(bytes), size: bytes.byteLength });
    expect([...tensors.keys()]).toEqual(['a', 'empty', 'b']);
    expect([...(tensors.get('b')!.data as Float32Array)]).toEqual([5, 6, 7]);
    expect(tensors.get('empty')!.shape).toEqual([0, 3]);
  });

  it('throws AbortError when the signal fires', async () => {
    const controller = new AbortController();
    const run = streamSafetensors(chunkedStream(small(), 4), {
      signal: controller.signal,
      onHeader: () => controller.abort(),
    });
    await expect(run).rejects.toBeInstanceOf(AbortError);
  });

  it('reads the weights of a fixture in chunks of 7 and 4099 bytes exactly as in one piece', async () => {
    const path = fixturePath('vae-decoder-tiny', 'model.safetensors');
    const bytes = new Uint8Array(readFileSync(path));
    const whole = await readSafetensors({ nodePath: path });
    for (const size of [7, 4099]) {
      const progress: ByteProgress[] = [];
      const chunked = await readSafetensors(chunkedStream(bytes, size), { onProgress: (p) => progress.push(p) });
      expect([...chunked.keys()]).toEqual([...whole.keys()]);
      for (const [name, t] of whole) {
        expect(chunked.get(name)!.shape).toEqual(t.shape);
        expect(sameBytes(chunked.get(name)!.data, t.data), name).toBe(true);
      }
      const last = progress.at(-1)!;
      expect(last.loaded).toBe(bytes.byteLength);
      expect(last.total).toBe(bytes.byteLength);
      expect(progress.every((p, i) => i === 0 || p.loaded >= progress[i - 1]!.loaded)).toBe(true);
    }
  });

  it('hands out raw chunks that reassemble into each tensor, in offset order', async () => {
    const bytes = new Uint8Array(readFileSync(fixturePath('text-encoder-clip-tiny', 'model.safetensors')));
    const header = parseSafetensorsHeader(bytes, 'model.safetensors');
    const byName = new Map(header.entries.map((e) => [e.name, e]));
    const seen: string[] = [];
    const assembled = new Map<string, Uint8Array>();
    await streamSafetensors(chunkedStream(bytes, 4099), {
      onTensorChunk: (name, offset, chunk) => {
        if (seen.at(-1) !== name) seen.push(name);
        const entry = byName.get(name)!;
        const buf = assembled.get(name) ?? new Uint8Array(entry.end - entry.begin);
        buf.set(chunk, offset);
        assembled.set(name, buf);
      },
    });
    const nonEmpty = header.entries.filter((e) => e.end > e.begin);
    expect(seen).toEqual(nonEmpty.map((e) => e.name));
    for (const e of nonEmpty) {
      expect(sameBytes(assembled.get(e.name)!, bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end)), e.name).toBe(true);
    }
  });

  it('reads from a Blob, an ArrayBuffer and a Node path alike', async () => {
    const path = fixturePath('unet-lcm-tiny', 'io.safetensors');
    const bytes = new Uint8Array(readFileSync(path));
    const fromPath = await readSafetensors({ nodePath: path });
    const fromBlob = await readSafetensors(new Blob([bytes]));
    const fromBuffer = await readSafetensors(bytes.slice().buffer);
    for (const [name, t] of fromPath) {
      expect(sameBytes(fromBlob.get(name)!.data, t.data), name).toBe(true);
      expect(sameBytes(fromBuffer.get(name)!.data, t.data), name).toBe(true);
    }
  });
});
