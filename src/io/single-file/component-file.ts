import type { ByteStream } from '../byte-source.js';
import { SafetensorsError } from '../errors.js';
import type { MappedTensor } from './checkpoint-layout.js';

/** A component's weights as a safetensors file of their own: its header, and the bytes it has. */
export interface ComponentFile {
  /** The whole file's size in bytes. */
  size: number;
  /** The file's bytes, the data pulled from `openCheckpoint`'s stream as it is read. */
  open(openCheckpoint: () => Promise<ByteStream>, checkpointName: string): ByteStream;
}

/**
 * One component of a single-file checkpoint as a diffusers weights file: a safetensors header of
 * the component's tensors under their diffusers names and shapes (in the checkpoint's data
 * order, offsets packed), then their bytes copied from one pass over the checkpoint's data as it
 * streams. Nothing is held but the chunk in hand: the bytes of other components are passed over,
 * and the read stops after the component's last tensor.
 */
export function componentFile(tensors: readonly MappedTensor[], dataStart: number): ComponentFile {
  const ordered = [...tensors].sort((a, b) => a.begin - b.begin);
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of ordered) {
    const bytes = t.end - t.begin;
    header[t.key] = { dtype: t.source.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Padded with spaces to 8 bytes, as the reference writer aligns the data section.
  const headerLength = Math.ceil(json.byteLength / 8) * 8;
  const head = new Uint8Array(8 + headerLength).fill(0x20);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerLength), true);
  head.set(json, 8);
  // Empty tensors have no bytes to copy.
  const ranges = ordered.filter((t) => t.end > t.begin).map((t) => ({ begin: dataStart + t.begin, end: dataStart + t.end, name: t.source.name }));
  const size = head.byteLength + offset;
  return { size, open: (openCheckpoint, checkpointName) => ({ stream: copyRanges(head, ranges, openCheckpoint, checkpointName), size }) };
}

/** `head`, then the bytes of `ranges` (sorted, disjoint file offsets) of the checkpoint, in order. */
function copyRanges(
  head: Uint8Array,
  ranges: ReadonlyArray<{ begin: number; end: number; name: string }>,
  openCheckpoint: () => Promise<ByteStream>,
  checkpointName: string,
): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let position = 0;
  let index = 0;
  let headSent = false;
  const done = (): void => {
    reader?.cancel().catch(() => undefined);
    reader = null;
  };
  /** Enqueues the next piece: the header, or the next checkpoint chunk's bytes that belong to the file. */
  const pullNext = async (controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> => {
    if (!headSent) {
      headSent = true;
      controller.enqueue(head);
      return;
    }
    for (;;) {
      if (index >= ranges.length) {
        done();
        controller.close();
        return;
      }
      reader ??= (await openCheckpoint()).stream.getReader();
      const { done: ended, value } = await reader.read();
      if (ended) {
        const r = ranges[index]!;
        throw new SafetensorsError(checkpointName, r.name, `file ends at byte ${position}, inside this tensor's bytes [${r.begin}, ${r.end}) (truncated file)`);
      }
      const start = position;
      position += value.byteLength;
      const pieces: Uint8Array[] = [];
      while (index < ranges.length) {
        const r = ranges[index]!;
        if (r.begin >= position) break;
        const from = Math.max(r.begin, start);
        const to = Math.min(r.end, position);
        if (to > from) pieces.push(value.subarray(from - start, to - start));
        if (r.end > position) break;
        index++;
      }
      if (pieces.length > 0) {
        for (const p of pieces) controller.enqueue(p);
        return;
      }
    }
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          await pullNext(controller);
        } catch (err) {
          done();
          throw err;
        }
      },
      cancel() {
        done();
      },
    },
    { highWaterMark: 0 },
  );
}
