import { throwIfAborted } from '../byte-source.js';
import { SafetensorsError } from '../errors.js';
import { parseSafetensorsHeader, readHeaderLength, type SafetensorsHeader } from '../safetensors-header.js';
import type { ModelSource } from '../sources/model-source.js';
import { refusePickleBytes } from './pickle-guard.js';

/**
 * Reads only the header of the safetensors file `path` of `source` (the stream is cancelled once
 * it is in): the 8-byte length, then the JSON. Pickle and zip bytes fail with
 * `CheckpointFormatError` before the length is even trusted; a malformed header with
 * `SafetensorsError` (a huge length is refused before anything is buffered for it).
 */
export async function readCheckpointHeader(source: ModelSource, path: string, file: string, signal?: AbortSignal): Promise<SafetensorsHeader> {
  const { stream, size } = await source.fetchFile(path, signal ? { signal } : {});
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let have = 0;
  let need = 8;
  let headerKnown = false;
  try {
    while (have < need) {
      throwIfAborted(signal);
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      have += value.byteLength;
      if (!headerKnown && have >= 8) {
        const prefix = join(chunks, have);
        refusePickleBytes(file, prefix);
        need = 8 + readHeaderLength(prefix, file, { fileSize: size });
        headerKnown = true;
      }
    }
    const bytes = join(chunks, have);
    if (!headerKnown) {
      refusePickleBytes(file, bytes);
      throw new SafetensorsError(file, null, `file is ${have} bytes, too short for the 8-byte header length`);
    }
    if (have < need) throw new SafetensorsError(file, null, `header of ${need - 8} bytes is cut short at ${have - 8} bytes (truncated file)`);
    return parseSafetensorsHeader(bytes, file, { fileSize: size });
  } finally {
    // Not awaited: a tee()d body settles its cancel only once every branch is cancelled.
    reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

function join(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
