/** Test-only writer of safetensors bytes, with knobs to produce malformed files. */
export interface BuildEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Raw little-endian bytes of the tensor. */
  bytes: Uint8Array;
  /** Overrides the offsets written to the header (to make bad files). */
  offsets?: [number, number];
}

export interface BuildOptions {
  metadata?: Record<string, string>;
  /** Header key order: `reverse` writes entries in the opposite order of their data. */
  order?: 'data' | 'reverse';
  /** Overrides the header length field. */
  headerLength?: number;
  /** Raw header text, replacing the generated JSON. */
  headerText?: string;
}

export function buildSafetensors(entries: BuildEntry[], options: BuildOptions = {}): Uint8Array<ArrayBuffer> {
  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  let offset = 0;
  const placed = entries.map((e) => {
    const offsets = e.offsets ?? [offset, offset + e.bytes.byteLength];
    offset += e.bytes.byteLength;
    return { e, offsets };
  });
  const ordered = options.order === 'reverse' ? [...placed].reverse() : placed;
  for (const { e, offsets } of ordered) header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: offsets };
  // Pad with spaces to a multiple of 8, as the reference writer does.
  let text = options.headerText ?? JSON.stringify(header);
  while ((8 + new TextEncoder().encode(text).byteLength) % 8 !== 0) text += ' ';
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(options.headerLength ?? json.byteLength), true);
  out.set(json, 8);
  let at = 8 + json.byteLength;
  for (const e of entries) {
    out.set(e.bytes, at);
    at += e.bytes.byteLength;
  }
  return out;
}

export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** A stream that delivers `bytes` in chunks of `size` bytes, one per pull. */
export function chunkedStream(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.byteLength) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

/** A stream that delivers `bytes` and then never ends: a reader that wants more would hang. */
export function neverEndingStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) controller.enqueue(bytes);
      sent = true;
      return new Promise(() => undefined);
    },
  });
}
