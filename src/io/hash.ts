/**
 * An incremental SHA-256, fed chunk by chunk while a file streams, so a multi-GB download is
 * checked without a second read. Node uses `node:crypto`; browsers, which have no incremental
 * digest in `crypto.subtle`, use `@noble/hashes` (audited, loaded only when a download is
 * checked). `setSha256Factory` plugs in another (a WASM one).
 */
export interface IncrementalHash {
  update(chunk: Uint8Array): void;
  /** The digest as lower-case hex; call once, after the last `update`. */
  digestHex(): string;
}

/** Makes a fresh hash, or null where none is available (then only sizes are checked). */
export type HashFactory = () => Promise<IncrementalHash | null>;

let factory: HashFactory = defaultSha256;

/** Replaces how SHA-256 hashes are made (the browser store's seam); returns the previous factory. */
export function setSha256Factory(next: HashFactory): HashFactory {
  const previous = factory;
  factory = next;
  return previous;
}

/** A fresh SHA-256 (`node:crypto` in Node, `@noble/hashes` elsewhere), or what the set factory makes. */
export function createSha256(): Promise<IncrementalHash | null> {
  return factory();
}

async function defaultSha256(): Promise<IncrementalHash | null> {
  const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
  if (typeof node !== 'string') return jsSha256();
  const { createHash } = await import('node:crypto');
  const hash = createHash('sha256');
  return {
    update: (chunk) => void hash.update(chunk),
    digestHex: () => hash.digest('hex'),
  };
}

/** The incremental SHA-256 browsers use: `@noble/hashes`, imported on first use. */
export async function jsSha256(): Promise<IncrementalHash> {
  const [{ sha256 }, { bytesToHex }] = await Promise.all([import('@noble/hashes/sha2.js'), import('@noble/hashes/utils.js')]);
  const hash = sha256.create();
  return { update: (chunk) => void hash.update(chunk), digestHex: () => bytesToHex(hash.digest()) };
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The SHA-256 in an ETag-like header value (`"<64 hex>"`, maybe weak-prefixed), or null when it
 * holds something else (a git blob id, an S3 MD5).
 */
export function sha256FromEtag(value: string | null): string | null {
  if (value === null) return null;
  const bare = value.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
  return SHA256_HEX.test(bare) ? bare : null;
}
