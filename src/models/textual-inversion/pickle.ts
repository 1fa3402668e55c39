import { EmbeddingPickleError } from './errors.js';

/** Extensions of files that PyTorch writes with pickle: refused by name, before any byte is read. */
const PICKLE_EXTENSIONS = ['.pt', '.pth', '.bin', '.ckpt', '.pkl'];

/** Throws `EmbeddingPickleError` when `file`'s name says it is a pickle. */
export function refusePickleName(file: string): void {
  const lower = file.toLowerCase();
  const ext = PICKLE_EXTENSIONS.find((e) => lower.endsWith(e));
  if (ext) throw new EmbeddingPickleError(file, `"${ext}" files are Python pickles`);
}

/**
 * Throws `EmbeddingPickleError` when `bytes` start like a pickle (the PROTO opcode 0x80 with
 * protocol 2–5, what `torch.save` writes) or like torch's zip format (`PK\x03\x04`), whatever
 * the file is called. Both could also be the low bytes of a safetensors header length (640, say,
 * is `80 02 00 00`), so a start that goes on as safetensors do (the length's high bytes zero,
 * then the header's `{`) is left to the safetensors reader.
 */
export function refusePickleBytes(file: string, bytes: Uint8Array): void {
  const safetensorsLike = bytes.length >= 9 && bytes[4] === 0 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0 && bytes[8] === 0x7b;
  if (safetensorsLike) return;
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5) {
    throw new EmbeddingPickleError(file, 'its bytes are a Python pickle, not safetensors');
  }
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    throw new EmbeddingPickleError(file, "its bytes are a zip archive (torch.save's format, which holds a pickle), not safetensors");
  }
}
