import type { ByteStream } from '../byte-source.js';
import { DTYPE_BYTES } from '../dtypes.js';
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
 * streams. Nothing is held but the chunk in hand (and a tensor written transposed, gathered
 * whole first: SDXL's text projection, a few MB): the bytes of other components are passed over,
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
  const ranges = ordered
    .filter((t) => t.end > t.begin)
    .map((t): CopyRange => {
      const range = { begin: dataStart + t.begin, end: dataStart + t.end, name: t.source.name };
      if (!t.transpose) return range;
      return { ...range, transpose: { rows: t.source.shape[0]!, cols: t.source.shape[1]!, elementBytes: DTYPE_BYTES[t.source.dtype] } };
    });
  const size = head.byteLength + offset;
  return { size, open: (openCheckpoint, checkpointName) => ({ stream: copyRanges(head, ranges, openCheckpoint, checkpointName), size }) };
}

/** Bytes `[begin, end)` of the checkpoint file, for tensor `name`; `transpose`: a [rows, cols] matrix to write as [cols, rows]. */
interface CopyRange {
  begin: number;
  end: number;
  name: string;
  transpose?: { rows: number; cols: number; elementBytes: number };
}

/** A row-major [rows, cols] matrix's bytes as its transpose's (element by element, as unsigned words: the bits kept). */
function transposeBytes(bytes: Uint8Array<ArrayBuffer>, { rows, cols, elementBytes }: NonNullable<CopyRange['transpose']>): Uint8Array {
  const words = { 1: Uint8Array, 2: Uint16Array, 4: Uint32Array, 8: BigUint64Array }[elementBytes as 1 | 2 | 4 | 8];
  // `bytes` is a fresh buffer of its own, so a word view of it is aligned.
  const from = new words(bytes.buffer, bytes.byteOffset, rows * cols);
  const to = new words(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) to[j * rows + i] = from[i * cols + j]!;
  return new Uint8Array(to.buffer);
}

/** `head`, then the bytes of `ranges` (sorted, disjoint file offsets) of the checkpoint, in order; a transposed range once it is whole. */
function copyRanges(
  head: Uint8Array,
  ranges: readonly CopyRange[],
  openCheckpoint: () => Promise<ByteStream>,
  checkpointName: string,
): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let position = 0;
  let index = 0;
  let headSent = false;
  // The bytes of the transposed range in hand, gathered until it is whole.
  let gathered: Uint8Array<ArrayBuffer> | null = null;
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
        if (r.transpose) {
          gathered ??= new Uint8Array(r.end - r.begin);
          if (to > from) gathered.set(value.subarray(from - start, to - start), from - r.begin);
          if (r.end > position) break;
          pieces.push(transposeBytes(gathered, r.transpose));
          gathered = null;
        } else {
          if (to > from) pieces.push(value.subarray(from - start, to - start));
          if (r.end > position) break;
        }
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
