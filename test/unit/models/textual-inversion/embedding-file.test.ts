import { beforeAll, describe, expect, it } from 'vitest';
import { isOmniDiffusionError } from '../../../../src/api/errors.js';
import { FileTooLargeError, SafetensorsError } from '../../../../src/io/errors.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { addTextualInversionTokens } from '../../../../src/models/textual-inversion/add-tokens.js';
import { MAX_EMBEDDING_FILE_BYTES, MAX_EMBEDDING_VECTORS, readEmbeddingFile, type TextualInversionEmbedding } from '../../../../src/models/textual-inversion/embedding-file.js';
import { EmbeddingFileError, EmbeddingPickleError } from '../../../../src/models/textual-inversion/errors.js';
import type { CLIPTokenizer } from '../../../../src/models/tokenizer/clip-tokenizer.js';
import { loadCLIPTokenizer } from '../../../../src/models/tokenizer/load.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { buildSafetensors, chunkedStream, f32Bytes, type BuildEntry } from '../../io/build-safetensors.js';

const H = 4;
const f32 = (name: string, shape: number[], values?: number[]): BuildEntry => ({
  name,
  dtype: 'F32',
  shape,
  bytes: f32Bytes(values ?? Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => i / 10)),
});

async function refusal(bytes: Uint8Array | ReadableStream<Uint8Array>, file = 'emb.safetensors', options: { token?: string; hiddenSize?: number } = {}): Promise<Error> {
  const err = await readEmbeddingFile(bytes, { file, hiddenSize: H, ...options }).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof Error)) throw new Error(`${file} was accepted`);
  return err;
}

describe('readEmbeddingFile: the layouts in use', () => {
  it('reads an A1111 / kohya file, its token the file name unless one is given', async () => {
    const bytes = buildSafetensors([f32('emb_params', [2, H])]);
    const e = await readEmbeddingFile(bytes, { file: 'some/dir/my-style.safetensors', hiddenSize: H });
    expect(e).toMatchObject({ format: 'a1111', key: 'emb_params', token: 'my-style', numVectors: 2, hiddenSize: H });
    expect(Array.from(e.vectors)).toEqual(Array.from(new Float32Array([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])));
    expect((await readEmbeddingFile(bytes, { file: 'x.safetensors', token: '<tok>' })).token).toBe('<tok>');
  });

  it('reads the string_to_param form, ignoring its integer tensors', async () => {
    const bytes = buildSafetensors([f32('string_to_param.*', [3, H]), { name: 'string_to_token.*', dtype: 'I64', shape: [], bytes: new Uint8Array(8) }]);
    expect(await readEmbeddingFile(bytes, { file: 'old.safetensors' })).toMatchObject({ format: 'a1111', token: 'old', numVectors: 3 });
  });

  it('reads a diffusers file, its key the token, also a single [hidden] vector and float16', async () => {
    expect(await readEmbeddingFile(buildSafetensors([f32('<cat-toy>', [2, H])]), { file: 'learned_embeds.safetensors' })).toMatchObject({
      format: 'diffusers',
      token: '<cat-toy>',
      numVectors: 2,
    });
    expect(await readEmbeddingFile(buildSafetensors([f32('<one>', [H])]), { file: 'learned_embeds.safetensors' })).toMatchObject({ token: '<one>', numVectors: 1, hiddenSize: H });
    const half = buildSafetensors([{ name: '<h>', dtype: 'F16', shape: [1, 2], bytes: new Uint8Array([0x00, 0x3c, 0x00, 0xc0]) }]);
    expect(Array.from((await readEmbeddingFile(half, { file: 'h.safetensors' })).vectors)).toEqual([1, -2]);
  });

  it('reads a file whose header length begins like a pickle (640 = 80 02 00 00 …)', async () => {
    const entries = [f32('<t>', [1, H])];
    const plain = new TextDecoder().decode(buildSafetensors(entries).subarray(8)).trimEnd();
    const json = JSON.parse(plain.slice(0, plain.lastIndexOf('}') + 1)) as object;
    const bytes = buildSafetensors(entries, { headerText: JSON.stringify(json).padEnd(640) });
    expect(Array.from(bytes.subarray(0, 2))).toEqual([0x80, 0x02]);
    expect((await readEmbeddingFile(bytes, { file: 't.safetensors' })).token).toBe('<t>');
  });
});

describe('readEmbeddingFile: malformed files get typed errors naming the file and key', () => {
  const good = buildSafetensors([f32('emb_params', [2, H])]);

  it.each(['x.pt', 'x.bin', 'x.ckpt', 'x.PTH'])('refuses %s by its name, unread, saying pickles run code and how to convert', async (file) => {
    const err = await refusal(good, file);
    expect(err).toBeInstanceOf(EmbeddingPickleError);
    expect(err.message).toMatch(/arbitrary code/);
    expect(err.message).toMatch(/safetensors/);
    expect((err as EmbeddingPickleError).file).toBe(file);
  });

  it.each([
    ['pickle protocol 2', [0x80, 0x02, 0x7d, 0x71, 0x00, 0x28, 0x58, 0x0e, 0x00, 0x00]],
    ['pickle protocol 4', [0x80, 0x04, 0x95, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]],
    ["torch.save's zip", [0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00]],
  ])('refuses %s bytes under a .safetensors name', async (_what, bytes) => {
    expect(await refusal(new Uint8Array(bytes))).toBeInstanceOf(EmbeddingPickleError);
  });

  it.each([
    ['a 3-d tensor', [f32('emb_params', [1, 2, H])], /shape \[1, 2, 4\]/],
    ['no vectors', [f32('emb_params', [0, H])], /shape \[0, 4\]/],
    ['a scalar', [f32('emb_params', [])], /shape \[\]/],
    ['more vectors than a prompt holds', [f32('emb_params', [MAX_EMBEDDING_VECTORS + 1, 1])], /76 vectors, more than the 75/],
  ])('refuses %s', async (_what, entries, message) => {
    const err = await refusal(buildSafetensors(entries), 'emb.safetensors', { hiddenSize: undefined });
    expect(err).toBeInstanceOf(EmbeddingFileError);
    expect(err).toMatchObject({ file: 'emb.safetensors', key: 'emb_params' });
    expect(err.message).toMatch(message);
  });

  it.each([NaN, Infinity, -Infinity])('refuses a vector holding %s', async (bad) => {
    const err = await refusal(buildSafetensors([f32('<t>', [2, H], [0, 1, 2, 3, 4, bad, 6, 7])]));
    expect(err).toMatchObject({ key: '<t>' });
    expect(err.message).toMatch(/value 5 \(vector 1\)/);
  });

  it('refuses another hidden size, naming both', async () => {
    const err = await refusal(good, 'emb.safetensors', { hiddenSize: 768 });
    expect(err).toBeInstanceOf(EmbeddingFileError);
    expect(err).toMatchObject({ key: 'emb_params' });
    expect(err.message).toMatch(/4 values.*768/);
  });

  it('refuses no candidate and several candidates, and names SDXL files as such', async () => {
    const none = await refusal(buildSafetensors([{ name: 'ids', dtype: 'I32', shape: [1], bytes: new Uint8Array(4) }]));
    expect(none).toBeInstanceOf(EmbeddingFileError);
    expect(none.message).toMatch(/no float tensor/);
    expect((await refusal(buildSafetensors([]))).message).toMatch(/no tensors/);
    const two = await refusal(buildSafetensors([f32('<a>', [1, H]), f32('<b>', [1, H])]));
    expect(two).toMatchObject({ key: null });
    expect(two.message).toMatch(/2 float tensors \("<a>", "<b>"\)/);
    expect((await refusal(buildSafetensors([f32('clip_l', [1, H]), f32('clip_g', [1, 8])]))).message).toMatch(/SDXL/);
  });

  it('refuses an empty token, given or as the key', async () => {
    expect(await refusal(good, 'emb.safetensors', { token: '' })).toMatchObject({ key: 'emb_params' });
    expect((await refusal(buildSafetensors([f32('', [1, H])]))).message).toMatch(/token is empty/);
  });

  it('refuses a huge header length, a truncated file, and a file over the cap, with the io errors', async () => {
    const huge = new Uint8Array(good);
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(await refusal(huge)).toBeInstanceOf(SafetensorsError);
    expect(await refusal(good.subarray(0, good.length - 3))).toBeInstanceOf(SafetensorsError);
    expect(await refusal(good.subarray(0, 5))).toBeInstanceOf(SafetensorsError);
    expect(await refusal(new Uint8Array(0))).toBeInstanceOf(SafetensorsError);
    expect(await refusal(new Uint8Array(MAX_EMBEDDING_FILE_BYTES + 1))).toBeInstanceOf(FileTooLargeError);
    // A stream of unknown size is cut off at the cap rather than buffered on.
    expect(await refusal(chunkedStream(new Uint8Array(MAX_EMBEDDING_FILE_BYTES + 8), 1 << 20))).toBeInstanceOf(FileTooLargeError);
  });

  it('never crashes or hangs on random and mutated bytes: each file is read or refused with a typed error', async () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed % n;
    };
    const inputs: Uint8Array[] = [];
    for (let i = 0; i < 150; i++) inputs.push(Uint8Array.from({ length: rand(64) }, () => rand(256)));
    for (let i = 0; i < 300; i++) {
      const bytes = new Uint8Array(good);
      for (let k = 1 + rand(4); k > 0; k--) bytes[rand(bytes.length)] = rand(256);
      inputs.push(rand(4) === 0 ? bytes.subarray(0, rand(bytes.length)) : bytes);
    }
    const started = Date.now();
    for (const bytes of inputs) {
      const outcome = await readEmbeddingFile(bytes, { file: 'fuzz.safetensors', hiddenSize: H }).then(
        (e) => e,
        (e: unknown) => e,
      );
      if (outcome instanceof Error) expect(isOmniDiffusionError(outcome), `${outcome.name}: ${outcome.message}`).toBe(true);
      else expect((outcome as TextualInversionEmbedding).vectors.every(Number.isFinite)).toBe(true);
    }
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('addTextualInversionTokens', () => {
  let tokenizer: CLIPTokenizer;
  beforeAll(async () => {
    tokenizer = await loadCLIPTokenizer(new LocalFolderSource(fixturePath('pipeline-sd15-tiny')), 'tokenizer');
  });
  const embedding = (token: string, numVectors: number, file = `${token}.safetensors`): TextualInversionEmbedding => ({
    file,
    key: 'emb_params',
    format: 'a1111',
    token,
    numVectors,
    hiddenSize: H,
    vectors: Float32Array.from({ length: numVectors * H }, (_, i) => i + numVectors),
  });

  it('adds every embedding\'s tokens after the vocabulary and stacks their vectors in id order', () => {
    const out = addTextualInversionTokens(tokenizer, [embedding('<a>', 2), embedding('<b>', 1)], H);
    expect(out.firstId).toBe(49408);
    expect(out.count).toBe(3);
    expect([...out.tokenizer.addedTokens.entries()]).toEqual([
      ['<a>', 49408],
      ['<a>_1', 49409],
      ['<b>', 49410],
    ]);
    expect(Array.from(out.vectors)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4]);
    expect(tokenizer.addedTokens.size).toBe(0);
  });

  it('refuses a token the vocabulary has, a clash between embeddings, and another hidden size, naming file and key', () => {
    const inVocab = (() => {
      try {
        addTextualInversionTokens(tokenizer, [embedding('cat</w>', 1, 'cat.safetensors')], H);
      } catch (e) {
        return e;
      }
    })();
    expect(inVocab).toBeInstanceOf(EmbeddingFileError);
    expect(inVocab).toMatchObject({ file: 'cat.safetensors', key: 'emb_params' });
    expect(() => addTextualInversionTokens(tokenizer, [embedding('<a>', 1), embedding('<a>', 1, 'other.safetensors')], H)).toThrow(/other\.safetensors.*another embedding/);
    // `<a>_1` of a two-vector `<a>` clashes with an embedding named `<a>_1`.
    expect(() => addTextualInversionTokens(tokenizer, [embedding('<a>_1', 1), embedding('<a>', 2)], H)).toThrow(/"<a>_1" is already/);
    expect(() => addTextualInversionTokens(tokenizer, [embedding('<a>', 1)], 768)).toThrow(EmbeddingFileError);
  });
});
