import { describe, expect, it } from 'vitest';
import { readAllBytes } from '../../../../src/io/byte-source.js';
import { DiffusersRepo } from '../../../../src/io/diffusers-repo.js';
import { ModelFileNotFoundError, ModelSourceError } from '../../../../src/io/errors.js';
import { readSafetensors } from '../../../../src/io/safetensors.js';
import { BlobSource } from '../../../../src/io/sources/blob-source.js';
import { isModelSource } from '../../../../src/io/sources/model-source.js';
import { RecipeSafetensorsFile } from '../../../../src/io/synthetic/recipe-file.js';
import { RecipeSource } from '../../../../src/io/synthetic/recipe-source.js';
import { RecipeTensor, type RecipeTensorSpec } from '../../../../src/io/synthetic/recipe.js';

const UNET: RecipeTensorSpec[] = [
  { name: 'conv_in.weight', shape: [4, 4, 3, 3], dtype: 'F32' },
  { name: 'conv_in.bias', shape: [4], dtype: 'F32' },
];
const TEXT: RecipeTensorSpec[] = [
  { name: 'text_model.embeddings.token_embedding.weight', shape: [10, 8], dtype: 'F32' },
  { name: 'text_model.embeddings.position_ids', shape: [1, 77], dtype: 'I64' },
];

/** A pipeline folder without weight files, as the full-size pipeline fixture is. */
function folder(): BlobSource {
  const json = (v: unknown) => new Blob([JSON.stringify(v)]);
  return new BlobSource(
    {
      'model_index.json': json({ _class_name: 'StableDiffusionPipeline', unet: ['diffusers', 'UNet2DConditionModel'], text_encoder: ['transformers', 'CLIPTextModel'] }),
      'unet/config.json': json({ in_channels: 4 }),
      'text_encoder/config.json': json({ hidden_size: 8 }),
    },
    'mem',
  );
}

function source(chunkBytes?: number): RecipeSource {
  return new RecipeSource(
    folder(),
    [
      { path: 'unet/diffusion_pytorch_model.safetensors', seed: 11, tensors: UNET },
      { path: './text_encoder/model.safetensors', seed: 0xffffffff, tensors: TEXT },
    ],
    chunkBytes === undefined ? {} : { chunkBytes },
  );
}

describe('RecipeSource', () => {
  it('serves each recipe file as a safetensors file of the recipe values, with its size', async () => {
    const s = source();
    expect(isModelSource(s)).toBe(true);
    expect(s.paths()).toEqual(['unet/diffusion_pytorch_model.safetensors', 'text_encoder/model.safetensors']);
    const file = await s.fetchFile('unet/diffusion_pytorch_model.safetensors');
    expect(file.size).toBe(new RecipeSafetensorsFile(UNET, 11).size);
    const tensors = await readSafetensors(file, { file: 'unet' });
    const want = new Float32Array(4 * 4 * 9);
    new RecipeTensor(UNET[0]!, 11).fill(0, want);
    expect(tensors.get('conv_in.weight')!.data).toEqual(want);
    const text = await readSafetensors(await s.fetchFile('text_encoder/model.safetensors'));
    expect([...(text.get('text_model.embeddings.position_ids')!.data as Int32Array)]).toEqual(Array.from({ length: 77 }, (_, i) => i));
  });

  it('hands out no chunk above its chunk size, and the same bytes for any chunk size', async () => {
    const bytes = async (s: RecipeSource) => {
      const { stream } = await s.fetchFile('text_encoder/model.safetensors');
      const sizes: number[] = [];
      const reader = stream.getReader();
      const parts: Uint8Array[] = [];
      for (let r = await reader.read(); !r.done; r = await reader.read()) {
        sizes.push(r.value.byteLength);
        parts.push(r.value);
      }
      return { all: Buffer.concat(parts), biggest: Math.max(...sizes) };
    };
    const small = await bytes(source(13));
    const big = await bytes(source());
    expect(small.biggest).toBeLessThanOrEqual(13);
    expect(small.all.equals(big.all)).toBe(true);
  });

  it('reads every other path from the wrapped source, and reports its missing files as it does', async () => {
    const s = source();
    expect(JSON.parse(await s.readText('unet/config.json'))).toEqual({ in_channels: 4 });
    await expect(s.fetchFile('vae/config.json')).rejects.toBeInstanceOf(ModelFileNotFoundError);
    expect(s.file('unet/config.json')).toBeNull();
    expect(s.file('text_encoder/model.safetensors')!.tensors).toHaveLength(2);
    expect(s.id).not.toBe(folder().id);
  });

  it('is the weights a diffusers repo loader finds, under the usual file names', async () => {
    const repo = await DiffusersRepo.open(source());
    const { path, tensors } = await repo.loadWeights('text_encoder');
    expect(path).toBe('text_encoder/model.safetensors');
    expect([...tensors.keys()]).toEqual(TEXT.map((t) => t.name));
    const { path: unetPath, file } = await repo.openWeights('unet');
    expect(unetPath).toBe('unet/diffusion_pytorch_model.safetensors');
    expect((await readAllBytes(file.stream)).byteLength).toBe(file.size);
  });

  it('refuses a path named twice, a path outside the model and a seed that is not a u32', () => {
    const make = (files: Array<{ path: string; seed: number }>) => () => new RecipeSource(folder(), files.map((f) => ({ ...f, tensors: UNET })));
    expect(make([{ path: 'a.safetensors', seed: 1 }, { path: './a.safetensors', seed: 2 }])).toThrow(ModelSourceError);
    expect(make([{ path: '../a.safetensors', seed: 1 }])).toThrow(ModelSourceError);
    expect(make([{ path: 'a.safetensors', seed: 2 ** 32 }])).toThrow(/unsigned 32-bit/);
    expect(make([{ path: 'a.safetensors', seed: -1 }])).toThrow(ModelSourceError);
  });
});
