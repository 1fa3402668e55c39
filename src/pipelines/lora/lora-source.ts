import type { ByteSource } from '../../io/byte-source.js';
import { createSha256 } from '../../io/hash.js';
import { cachedModelSource } from '../../io/sources/cached-source.js';
import type { LoraSource } from '../../api/request.js';

/** A LoRA named by a request: the key its uploaded weights are cached under, its name for errors, and how to read it. */
export interface LoraHandle {
  readonly key: string;
  readonly file: string;
  /** Opens the file's bytes; only called when the LoRA is not uploaded already. */
  open(): Promise<ByteSource>;
}

/**
 * Identifies a LoRA named by a request without reading it where it can: a string is a URL
 * (`https://…/x.safetensors`), a local file path (Node: absolute or `./`), or a Hub path
 * `owner/repo/path/in/repo.safetensors` (remote files go through the download cache like model
 * files), keyed by itself; a `File` by its name, size and date. Bytes, and a `Blob` without a
 * name, are keyed by their contents, so a LoRA sent again with the next request is not
 * uploaded again.
 */
export async function loraHandle(source: LoraSource): Promise<LoraHandle> {
  if (typeof source === 'string') return { key: `path:${source}`, file: source, open: () => openNamed(source) };
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const bytes = source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    return inMemory(bytes, 'lora.safetensors');
  }
  const named = source as Blob & { name?: string; lastModified?: number };
  if (named.name !== undefined) return { key: `file:${named.name}:${source.size}:${named.lastModified ?? 0}`, file: named.name, open: () => Promise.resolve(source) };
  return inMemory(new Uint8Array(await source.arrayBuffer()), 'lora.safetensors');
}

async function inMemory(bytes: Uint8Array, file: string): Promise<LoraHandle> {
  return { key: await contentKey(bytes), file, open: () => Promise.resolve(bytes) };
}

/** A URL, a local path or a Hub path `owner/repo/file…`, opened through the model sources (and their cache). */
async function openNamed(source: string): Promise<ByteSource> {
  const cut = source.lastIndexOf('/');
  if (/^https?:\/\//i.test(source) || /^(?:\/|\.{1,2}[\\/]|[A-Za-z]:[\\/]|~[\\/]|file:\/\/)/.test(source) || cut < 0) {
    const dir = cut < 0 ? '.' : source.slice(0, cut) || '/';
    const model = await cachedModelSource(/^https?:|^file:|^[\\/.~]|^[A-Za-z]:/.test(dir) ? dir : `./${dir}`);
    return model.fetchFile(source.slice(cut + 1));
  }
  const parts = source.split('/');
  const model = await cachedModelSource(parts.slice(0, 2).join('/'));
  return model.fetchFile(parts.slice(2).join('/'));
}

/** A key of the bytes themselves (SHA-256). */
async function contentKey(bytes: Uint8Array): Promise<string> {
  const hash = await createSha256();
  // Without a hash the bytes cannot be told apart from others of their length: a key of their
  // own makes them upload once per request, never match another LoRA's weights.
  if (!hash) return `bytes:${bytes.byteLength}:unhashed:${Math.random()}`;
  hash.update(bytes);
  return `bytes:${hash.digestHex()}`;
}
