import type { ByteStream } from '../byte-source.js';
import { RecipeTensor, type RecipeTensorSpec } from './recipe.js';

/** Bytes generated per stream chunk: enough to amortise the calls, little next to a model. */
export const DEFAULT_RECIPE_CHUNK_BYTES = 4 << 20;

/**
 * A recipe state dict as the safetensors file `synthetic.py materialize` would write: the
 * tensors in `tensors.json` order, back to back, metadata `{"format": "pt"}`, the header padded
 * with spaces to a multiple of 8 bytes. Nothing is stored: any byte range is computed when it is
 * read, so a 3.4 GB UNet costs the host one chunk at a time.
 *
 * Data is written little-endian through typed arrays, i.e. for little-endian hosts (all that run WebGPU).
 */
export class RecipeSafetensorsFile {
  readonly tensors: readonly RecipeTensor[];
  /** The 8-byte header length and the JSON header. */
  readonly header: Uint8Array;
  /** Where each tensor's data begins, relative to the end of the header (its `data_offsets[0]`). */
  readonly offsets: readonly number[];
  /** Bytes of tensor data. */
  readonly dataLength: number;

  /** `seed` is the recipe seed, an unsigned 32-bit integer. */
  constructor(specs: readonly RecipeTensorSpec[], seed: number) {
    this.tensors = specs.map((s) => new RecipeTensor(s, seed));
    const offsets: number[] = [];
    let end = 0;
    const entries = this.tensors.map((t) => {
      offsets.push(end);
      const begin = end;
      end += t.byteLength;
      return `${JSON.stringify(t.spec.name)}:{"dtype":"${t.spec.dtype}","shape":[${t.spec.shape.join(',')}],"data_offsets":[${begin},${end}]}`;
    });
    this.offsets = offsets;
    this.dataLength = end;
    // Built as text, not JSON.stringify of an object: that would move integer-like keys first.
    let json = `{"__metadata__":{"format":"pt"}${entries.map((e) => `,${e}`).join('')}}`;
    json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).byteLength) % 8)) % 8);
    const text = new TextEncoder().encode(json);
    this.header = new Uint8Array(8 + text.byteLength);
    new DataView(this.header.buffer).setBigUint64(0, BigInt(text.byteLength), true);
    this.header.set(text, 8);
  }

  /** Bytes in the whole file. */
  get size(): number {
    return this.header.byteLength + this.dataLength;
  }

  /** Writes bytes [position, position + out.length) of the file into `out`. */
  read(position: number, out: Uint8Array): void {
    if (!Number.isSafeInteger(position) || position < 0 || position + out.byteLength > this.size) {
      throw new RangeError(`bytes [${position}, ${position + out.byteLength}) are outside the ${this.size}-byte recipe file`);
    }
    let at = 0;
    if (position < this.header.byteLength) {
      const n = Math.min(this.header.byteLength - position, out.byteLength);
      out.set(this.header.subarray(position, position + n));
      at = n;
    }
    let data = position + at - this.header.byteLength;
    let k = this.#tensorAt(data);
    while (at < out.byteLength) {
      const tensor = this.tensors[k]!;
      const within = data - this.offsets[k]!;
      const n = Math.min(tensor.byteLength - within, out.byteLength - at);
      if (n > 0) writeTensorBytes(tensor, within, out.subarray(at, at + n));
      at += n;
      data += n;
      k++;
    }
  }

  /** The file as a stream of chunks of at most `chunkBytes`, each generated when the reader pulls it. */
  open(chunkBytes = DEFAULT_RECIPE_CHUNK_BYTES): ByteStream {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0) throw new RangeError(`chunkBytes must be a positive integer, got ${chunkBytes}`);
    let position = 0;
    const size = this.size;
    const stream = new ReadableStream<Uint8Array>(
      {
        pull: (controller) => {
          if (position >= size) {
            controller.close();
            return;
          }
          // A fresh buffer per chunk: readers may keep views of the chunks they were given.
          const chunk = new Uint8Array(Math.min(chunkBytes, size - position));
          this.read(position, chunk);
          position += chunk.byteLength;
          controller.enqueue(chunk);
        },
      },
      // One chunk queued ahead at most, so a slow reader never makes the file pile up in memory.
      { highWaterMark: 1 },
    );
    return { stream, size };
  }

  /** Index of the tensor whose data holds data byte `data` (the first non-empty one at or after it). */
  #tensorAt(data: number): number {
    let lo = 0;
    let hi = this.tensors.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.offsets[mid]! + this.tensors[mid]!.byteLength <= data) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Writes bytes [byteOffset, byteOffset + out.length) of `tensor`'s data. Element-aligned ranges
 * in aligned buffers are generated in place; others (odd chunk sizes) go through a small scratch.
 */
function writeTensorBytes(tensor: RecipeTensor, byteOffset: number, out: Uint8Array): void {
  const isIndex = tensor.rule === 'index';
  const size = isIndex ? 8 : 4;
  const first = Math.floor(byteOffset / size);
  const last = Math.ceil((byteOffset + out.byteLength) / size);
  const aligned = byteOffset % size === 0 && out.byteLength % size === 0 && out.byteOffset % 4 === 0;
  const words = aligned ? new Uint32Array(out.buffer, out.byteOffset, out.byteLength / 4) : new Uint32Array(((last - first) * size) / 4);
  if (isIndex) tensor.fillIndices(first, words);
  else tensor.fill(first, new Float32Array(words.buffer, words.byteOffset, words.length));
  if (!aligned) out.set(new Uint8Array(words.buffer, byteOffset - first * size, out.byteLength));
}
