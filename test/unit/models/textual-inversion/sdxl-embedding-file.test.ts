import { describe, expect, it } from 'vitest';
import { isOmniDiffusionError } from '../../../../src/api/errors.js';
import { DiffusersRepo } from '../../../../src/io/diffusers-repo.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { ModelConfigError } from '../../../../src/models/errors.js';
import { readEmbeddingFile, readTextualInversionFile, type ReadTextualInversionOptions } from '../../../../src/models/textual-inversion/embedding-file.js';
import { EmbeddingFileError } from '../../../../src/models/textual-inversion/errors.js';
import { COMPONENTS } from '../../../../src/models/registry.js';
import { readTextSide, type TextSide } from '../../../../src/pipelines/text-side.js';
import { readTextualInversions } from '../../../../src/pipelines/textual-inversion.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { randomNormal } from '../../../helpers/rng.js';
import { buildSafetensors, f32Bytes, type BuildEntry } from '../../io/build-safetensors.js';

const L = 6;
const G = 10;
const sizes = { clipL: L, clipG: G };

function f32(name: string, shape: number[], values?: Float32Array): BuildEntry {
  const n = shape.reduce((a, b) => a * b, 1);
  return { name, dtype: 'F32', shape, bytes: f32Bytes(Array.from(values ?? randomNormal(n, n + name.length))) };
}

/** An SDXL embedding file of `n` vectors per encoder (random vectors), and the vectors it holds. */
function sdxlFile(n: number, widths = { l: L, g: G }): { bytes: Uint8Array; l: Float32Array; g: Float32Array } {
  const l = randomNormal(n * widths.l, 11);
  const g = randomNormal(n * widths.g, 12);
  return { bytes: buildSafetensors([f32('clip_l', [n, widths.l], l), f32('clip_g', [n, widths.g], g)]), l, g };
}

async function refusal(bytes: Uint8Array, options: Partial<ReadTextualInversionOptions> = {}): Promise<EmbeddingFileError> {
  const err = await readTextualInversionFile(bytes, { file: 'style.safetensors', sdxlHiddenSizes: sizes, ...options }).then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof EmbeddingFileError)) throw new Error(`expected an EmbeddingFileError, got ${String(err)}`);
  expect(isOmniDiffusionError(err)).toBe(true);
  expect(err.file).toBe(options.file ?? 'style.safetensors');
  return err;
}

async function textSide(name: string): Promise<TextSide> {
  const source = new LocalFolderSource(fixturePath(name));
  const repo = await DiffusersRepo.open(source);
  const unet = COMPONENTS.unet.parseConfig(await repo.readConfig('unet'), `${name}/unet/config.json`);
  return readTextSide(repo, source, unet);
}

describe('readTextualInversionFile: SDXL embeddings (clip_l, clip_g)', () => {
  it('reads both tensors under one token, the file name unless one is given, vectors as written', async () => {
    const { bytes, l, g } = sdxlFile(3);
    const read = await readTextualInversionFile(bytes, { file: 'civitai/my-sdxl-style.safetensors', sdxlHiddenSizes: sizes });
    if (read.kind !== 'sdxl') throw new Error(`read as ${read.kind}`);
    const e = read.embedding;
    expect(e).toMatchObject({ file: 'civitai/my-sdxl-style.safetensors', token: 'my-sdxl-style', numVectors: 3 });
    expect(e.clipL).toMatchObject({ key: 'clip_l', format: 'sdxl', token: 'my-sdxl-style', numVectors: 3, hiddenSize: L });
    expect(e.clipG).toMatchObject({ key: 'clip_g', format: 'sdxl', token: 'my-sdxl-style', numVectors: 3, hiddenSize: G });
    expect(Array.from(e.clipL.vectors)).toEqual(Array.from(l));
    expect(Array.from(e.clipG.vectors)).toEqual(Array.from(g));
    const named = await readTextualInversionFile(bytes, { file: 'x.safetensors', token: '<sdxl>' });
    expect(named.kind === 'sdxl' && named.embedding.token).toBe('<sdxl>');
  });

  it('reads one-encoder files as before', async () => {
    const read = await readTextualInversionFile(buildSafetensors([f32('emb_params', [2, L])]), { file: 'a.safetensors', hiddenSize: L });
    expect(read.kind).toBe('single');
    expect(read.embedding).toMatchObject({ token: 'a', numVectors: 2 });
  });

  it('refuses different vector counts, naming the file and both keys', async () => {
    const bytes = buildSafetensors([f32('clip_l', [2, L]), f32('clip_g', [3, G])]);
    const err = await refusal(bytes);
    expect(err.message).toMatch(/"clip_l" has 2 vectors/);
    expect(err.message).toMatch(/"clip_g" 3/);
  });

  it.each([
    ['clip_l', { l: L + 1, g: G }, L + 1, L],
    ['clip_g', { l: L, g: G - 1 }, G - 1, G],
  ])('refuses a %s of the wrong width, naming the key', async (key, widths, got, want) => {
    const err = await refusal(sdxlFile(1, widths).bytes);
    expect(err.key).toBe(key);
    expect(err.message).toContain(`${got} values`);
    expect(err.message).toContain(`hidden size is ${want}`);
  });

  it.each(['clip_l', 'clip_g'])('refuses a file with %s only', async (key) => {
    const err = await refusal(buildSafetensors([f32(key, [1, key === 'clip_l' ? L : G])]));
    expect(err.key).toBe(key);
    expect(err.message).toMatch(/both clip_l .* and clip_g/);
  });

  it('refuses NaN and infinity, naming the key and the vector', async () => {
    const g = randomNormal(2 * G, 3);
    g[G + 4] = Number.NaN;
    const err = await refusal(buildSafetensors([f32('clip_l', [2, L]), f32('clip_g', [2, G], g)]));
    expect(err.key).toBe('clip_g');
    expect(err.message).toMatch(/value 14 \(vector 1\) is NaN/);
    const l = randomNormal(L, 4);
    l[0] = Number.POSITIVE_INFINITY;
    expect((await refusal(buildSafetensors([f32('clip_l', [1, L], l), f32('clip_g', [1, G])]))).key).toBe('clip_l');
  });

  it('refuses another float tensor beside them, a non-float one, and a bad shape', async () => {
    expect((await refusal(buildSafetensors([f32('clip_l', [1, L]), f32('clip_g', [1, G]), f32('emb_params', [1, L])]))).key).toBe('emb_params');
    const ints = buildSafetensors([{ name: 'clip_l', dtype: 'I32', shape: [1, L], bytes: new Uint8Array(4 * L) }, f32('clip_g', [1, G])]);
    expect((await refusal(ints)).message).toMatch(/dtype is I32/);
    expect((await refusal(buildSafetensors([f32('clip_l', [1, 1, L]), f32('clip_g', [1, G])]))).message).toMatch(/shape \[1, 1, 6\]/);
  });

  it('is not read as a one-encoder embedding, by name', async () => {
    const err = await readEmbeddingFile(sdxlFile(1).bytes, { file: 'style.safetensors' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddingFileError);
    expect((err as Error).message).toMatch(/SDXL embedding/);
  });
});

const sdxl = await textSide('pipeline-sdxl-tiny');
const sd15 = await textSide('pipeline-sd15-tiny');

describe('readTextualInversions: each kind of file on the kind of model it fits', () => {
  const l = sdxl.first.config.hiddenSize;
  const g = sdxl.second!.config.hiddenSize;

  it('adds an SDXL file’s token to both tokenizers, after each vocabulary, clip_l rows for text_encoder and clip_g for text_encoder_2', async () => {
    const file = sdxlFile(2, { l, g });
    const { text, tokens, tokens2 } = await readTextualInversions(sdxl, [{ source: file.bytes, file: 'sdxl-style.safetensors' }]);
    for (const [pair, t, vectors, width] of [
      [text.first, tokens, file.l, l],
      [text.second!, tokens2, file.g, g],
    ] as const) {
      expect(t).toMatchObject({ firstId: pair.config.vocabSize, count: 2, hiddenSize: width });
      expect(Array.from(t!.vectors)).toEqual(Array.from(vectors));
      expect(pair.tokenizer.addedTokens.get('sdxl-style')).toBe(pair.config.vocabSize);
      expect(pair.tokenizer.addedTokens.get('sdxl-style_1')).toBe(pair.config.vocabSize + 1);
    }
    // The model's own text side is left as it was.
    expect(sdxl.first.tokenizer.hasToken('sdxl-style')).toBe(false);
  });

  it('refuses a one-encoder file on SDXL, saying which models each fits', async () => {
    const err = await readTextualInversions(sdxl, [{ source: buildSafetensors([f32('emb_params', [1, l])]), file: 'sd15-style.safetensors' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddingFileError);
    expect(err).toMatchObject({ file: 'sd15-style.safetensors', key: 'emb_params' });
    expect((err as Error).message).toMatch(/one-encoder embedding .*SD 1\.x and SD 2\.x.*this model is SDXL/);
  });

  it('refuses an SDXL file on a one-encoder model, saying which models each fits', async () => {
    const d = sd15.first.config.hiddenSize;
    const err = await readTextualInversions(sd15, [{ source: sdxlFile(1, { l: d, g: 2 * d }).bytes, file: 'xl.safetensors' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddingFileError);
    expect(err).toMatchObject({ file: 'xl.safetensors' });
    expect((err as Error).message).toMatch(/SDXL embedding .*fits SDXL models.*one text encoder \(SD 1\.x, SD 2\.x\)/);
  });

  it('refuses SDXL widths that are not the model’s, and a token already taken, naming the key', async () => {
    const wide = await readTextualInversions(sdxl, [{ source: sdxlFile(1, { l, g: g + 2 }).bytes, file: 'wide.safetensors' }]).catch((e: unknown) => e);
    expect(wide).toMatchObject({ file: 'wide.safetensors', key: 'clip_g' });
    const taken = await readTextualInversions(sdxl, [{ source: sdxlFile(1, { l, g }).bytes, file: 'a.safetensors', token: 'photo' }]).catch((e: unknown) => e);
    expect(taken).toBeInstanceOf(EmbeddingFileError);
    expect(taken).toMatchObject({ key: 'clip_l' });
  });

  it('refuses a text_encoder_2 whose vocab_size is not tokenizer_2’s', async () => {
    const off: TextSide = { ...sdxl, second: { ...sdxl.second!, config: { ...sdxl.second!.config, vocabSize: sdxl.second!.config.vocabSize + 1 } } };
    const err = await readTextualInversions(off, [{ source: sdxlFile(1, { l, g }).bytes, file: 'a.safetensors' }]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelConfigError);
    expect((err as Error).message).toMatch(/text_encoder_2\/config\.json/);
  });
});
