import { describe, expect, it } from 'vitest';
import { DiffusersRepo } from '../../../src/io/diffusers-repo.js';
import { DiffusersRepoError, JsonParseError } from '../../../src/io/errors.js';
import { BlobSource } from '../../../src/io/sources/blob-source.js';
import { LocalFolderSource } from '../../../src/io/sources/local-folder-source.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { buildSafetensors, f32Bytes } from './build-safetensors.js';

const modelIndex = JSON.stringify({
  _class_name: 'StableDiffusionPipeline',
  unet: ['diffusers', 'UNet2DConditionModel'],
  text_encoder: ['transformers', 'CLIPTextModel'],
  safety_checker: [null, null],
  scheduler: ['diffusers', 'DPMSolverMultistepScheduler'],
});

function weights(value: number): Blob {
  return new Blob([buildSafetensors([{ name: 'w', dtype: 'F32', shape: [1], bytes: f32Bytes([value]) }])]);
}

describe('DiffusersRepo', () => {
  it('reads the components, configs, tokenizer and weights of a fixture pipeline', async () => {
    const repo = await DiffusersRepo.open(new LocalFolderSource(fixturePath('pipeline-sd15-tiny')));
    expect(repo.modelIndex.className).toBe('StableDiffusionPipeline');
    expect(Object.keys(repo.modelIndex.components).sort()).toEqual(['scheduler', 'text_encoder', 'tokenizer', 'unet', 'vae']);
    expect(repo.component('text_encoder')).toEqual({ library: 'transformers', className: 'CLIPTextModel' });
    expect((await repo.readConfig('unet'))._class_name).toBe('UNet2DConditionModel');
    expect((await repo.readConfig('scheduler'))._class_name).toBe('EulerDiscreteScheduler');
    const tokenizer = await repo.readTokenizerFiles();
    expect(tokenizer.vocab['<|endoftext|>']).toBe(49407);
    expect(tokenizer.merges.startsWith('#version')).toBe(true);
    expect(tokenizer.specialTokensMap).not.toBeNull();
    const { path, tensors } = await repo.loadWeights('text_encoder');
    expect(path).toBe('text_encoder/model.safetensors');
    expect(tensors.has('text_model.final_layer_norm.weight')).toBe(true);
  });

  it('prefers the variant file and falls back to the plain one, per component', async () => {
    const source = new BlobSource({
      'model_index.json': new Blob([modelIndex]),
      'unet/diffusion_pytorch_model.fp16.safetensors': weights(16),
      'unet/diffusion_pytorch_model.safetensors': weights(32),
      'text_encoder/model.safetensors': weights(1),
    });
    const repo = await DiffusersRepo.open(source, { variant: 'fp16' });
    expect(repo.weightCandidates('text_encoder')).toEqual([
      'text_encoder/model.fp16.safetensors',
      'text_encoder/diffusion_pytorch_model.fp16.safetensors',
      'text_encoder/model.safetensors',
      'text_encoder/diffusion_pytorch_model.safetensors',
    ]);
    const unet = await repo.loadWeights('unet');
    expect(unet.path).toBe('unet/diffusion_pytorch_model.fp16.safetensors');
    expect((unet.tensors.get('w')!.data as Float32Array)[0]).toBe(16);
    expect((await repo.loadWeights('text_encoder')).path).toBe('text_encoder/model.safetensors');
    const plain = await DiffusersRepo.open(source);
    expect((await plain.loadWeights('unet')).path).toBe('unet/diffusion_pytorch_model.safetensors');
  });

  it('names the missing file or component', async () => {
    const source = new BlobSource({ 'model_index.json': new Blob([modelIndex]) });
    const repo = await DiffusersRepo.open(source);
    const weightsErr = await repo.openWeights('unet').catch((e: unknown) => e);
    expect(weightsErr).toBeInstanceOf(DiffusersRepoError);
    expect((weightsErr as Error).message).toContain('unet/diffusion_pytorch_model.safetensors');
    const configErr = await repo.readConfig('scheduler').catch((e: unknown) => e);
    expect(configErr).toBeInstanceOf(DiffusersRepoError);
    expect((configErr as DiffusersRepoError).path).toBe('scheduler/scheduler_config.json');
    expect(() => repo.component('vae')).toThrow(/no component "vae"/);
    expect(repo.hasComponent('safety_checker')).toBe(false);
    const noIndex = await DiffusersRepo.open(new BlobSource({})).catch((e: unknown) => e);
    expect((noIndex as DiffusersRepoError).path).toBe('model_index.json');
  });

  it('reads a scheduler config with -Infinity, and names the file of a broken config', async () => {
    const source = new BlobSource({
      'model_index.json': new Blob([modelIndex]),
      'scheduler/scheduler_config.json': new Blob(['{"_class_name": "DPMSolverMultistepScheduler", "lambda_min_clipped": -Infinity}']),
      'unet/config.json': new Blob(['{"sample_size": 64,']),
    });
    const repo = await DiffusersRepo.open(source);
    expect((await repo.readConfig('scheduler')).lambda_min_clipped).toBe(-Infinity);
    const err = await repo.readConfig('unet').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JsonParseError);
    expect((err as JsonParseError).file).toBe('blobs/unet/config.json');
  });

  it('rejects a model_index.json without a pipeline class', async () => {
    const repo = DiffusersRepo.open(new BlobSource({ 'model_index.json': new Blob(['{"unet": ["diffusers", "UNet2DConditionModel"]}']) }));
    await expect(repo).rejects.toThrow(/no "_class_name"/);
  });
});
