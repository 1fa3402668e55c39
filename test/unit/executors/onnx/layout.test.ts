import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DiffusionEngine } from '../../../../src/index.js';
import { OnnxModelFileError } from '../../../../src/executors/onnx/errors.js';
import { readOnnxStableDiffusion } from '../../../../src/executors/onnx/layout.js';
import { COMPONENTS } from '../../../../src/models/registry.js';
import { DEFAULT_SCALING_FACTOR } from '../../../../src/models/vae/config.js';
import { loadFixture, type PipelineFixture } from '../../../../tools/verify/fixture/fixture.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { fixturePath } from '../../../helpers/fixtures.js';

const FILES = [
  'model_index.json',
  'text_encoder/model.onnx',
  'unet/model.onnx',
  'vae_decoder/model.onnx',
  'scheduler/scheduler_config.json',
  'tokenizer/vocab.json',
  'tokenizer/merges.txt',
  'tokenizer/tokenizer_config.json',
  'tokenizer/special_tokens_map.json',
];

const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/**
 * A model folder whose files link to the ONNX fixture's, except those left out; `extra` files
 * are written as given, and `swap` links a path to another fixture file.
 */
async function modelFolder(leaveOut: readonly string[], extra: Record<string, string> = {}, swap: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'onnx-layout-'));
  dirs.push(dir);
  for (const file of FILES.filter((f) => !leaveOut.includes(f))) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await symlink(fixturePath('pipeline-sdturbo-tiny-onnx', swap[file] ?? file), join(dir, file));
  }
  for (const [file, text] of Object.entries(extra)) {
    await mkdir(join(dir, file, '..'), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  return dir;
}

describe('readOnnxStableDiffusion', () => {
  it('reads the published ONNX layout, with SD defaults where the optional configs are absent', async () => {
    const files = await readOnnxStableDiffusion(new LocalFolderSource(fixturePath('pipeline-sdturbo-tiny-onnx')));
    expect(files.modelIndex?._class_name).toBe('OnnxStableDiffusionPipeline');
    expect(files.schedulerConfig._class_name).toBe('EulerDiscreteScheduler');
    expect(files.vaeScalingFactor).toBe(DEFAULT_SCALING_FACTOR);
    expect(files.vaeScaleFactor).toBe(8);
    expect(files.sampleSize).toBeNull();
    for (const bytes of Object.values(files.networks)) expect(bytes.byteLength).toBeGreaterThan(0);
    expect(files.tokenizer.padTokenId).toBe(0);
  });

  it('reads a tokenizer that gives the fixture input_ids for its prompt', async () => {
    const dir = fixturePath('pipeline-sdturbo-tiny-onnx');
    const fx = (await loadFixture(dir)) as PipelineFixture;
    const expected = (await fx.readIo()).get('input_ids')!;
    const files = await readOnnxStableDiffusion(new LocalFolderSource(dir));
    expect(Array.from(files.tokenizer.call([fx.prompt]))).toEqual(Array.from(expected.data));
  });

  it('takes scaling factor, scale and sample size from vae_decoder/config.json and unet/config.json', async () => {
    const dir = await modelFolder([], {
      'vae_decoder/config.json': JSON.stringify({ scaling_factor: 0.13025, block_out_channels: [8, 8, 8] }),
      'unet/config.json': JSON.stringify({ sample_size: 96 }),
    });
    const files = await readOnnxStableDiffusion(new LocalFolderSource(dir));
    expect(files).toMatchObject({ vaeScalingFactor: 0.13025, vaeScaleFactor: 4, sampleSize: 96 });
  });

  it('accepts an export without model_index.json', async () => {
    const files = await readOnnxStableDiffusion(new LocalFolderSource(await modelFolder(['model_index.json'])));
    expect(files.modelIndex).toBeNull();
  });

  it.each(['unet/model.onnx', 'text_encoder/model.onnx', 'vae_decoder/model.onnx', 'scheduler/scheduler_config.json'])(
    'names the missing file %s in an OnnxModelFileError',
    async (missing) => {
      const err = await readOnnxStableDiffusion(new LocalFolderSource(await modelFolder([missing]))).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OnnxModelFileError);
      expect(err).toMatchObject({ name: 'OnnxModelFileError', file: missing });
      expect((err as Error).message).toContain(`"${missing}"`);
    },
  );

  it('names a missing tokenizer file', async () => {
    const err = await readOnnxStableDiffusion(new LocalFolderSource(await modelFolder(['tokenizer/merges.txt']))).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'TokenizerFileError' });
    expect((err as { file: string }).file).toMatch(/tokenizer\/merges\.txt$/);
  });

  it('points at the webgpu executor when model_index.json describes a PyTorch repo', async () => {
    const dir = await modelFolder(['model_index.json', 'unet/model.onnx'], { 'model_index.json': JSON.stringify({ _class_name: 'StableDiffusionPipeline' }) });
    await expect(readOnnxStableDiffusion(new LocalFolderSource(dir))).rejects.toThrow(/names StableDiffusionPipeline, not an ONNX pipeline/);
  });

  it('fails DiffusionEngine.create with the typed error when a network file is missing', async () => {
    const dir = await modelFolder(['vae_decoder/model.onnx']);
    await expect(DiffusionEngine.create({ executorClass: 'onnx', modelNameOrPath: dir })).rejects.toMatchObject({
      name: 'OnnxModelFileError',
      file: 'vae_decoder/model.onnx',
    });
  });

  it('fails DiffusionEngine.create with OnnxModelSignatureError naming unet/model.onnx when it holds another network', async () => {
    const dir = await modelFolder([], {}, { 'unet/model.onnx': 'vae_decoder/model.onnx' });
    const err = await DiffusionEngine.create({ executorClass: 'onnx', modelNameOrPath: dir }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'OnnxModelSignatureError', file: 'unet/model.onnx' });
    expect((err as Error).message).toContain('declares inputs [latent_sample]');
  }, 60_000);

  it('rejects a VAE config whose scaling_factor is not a positive number, naming file and key', async () => {
    const dir = await modelFolder([], { 'vae_decoder/config.json': JSON.stringify({ scaling_factor: 'big' }) });
    await expect(readOnnxStableDiffusion(new LocalFolderSource(dir))).rejects.toThrow(/vae_decoder\/config\.json: "scaling_factor" is "big"/);
  });

  it.each([[[]], [[8, 'wide']], [Array(65).fill(8)]])('rejects a VAE config whose block_out_channels is %j, naming file and key', async (blocks) => {
    const dir = await modelFolder([], { 'vae_decoder/config.json': JSON.stringify({ block_out_channels: blocks }) });
    const err = await readOnnxStableDiffusion(new LocalFolderSource(dir)).then(
      () => expect.fail('expected a refusal'),
      (e: unknown) => e as Error,
    );
    expect(err).toMatchObject({ name: 'OnnxModelFileError', code: 'ONNX_MODEL_FILE', file: 'vae_decoder/config.json' });
    expect(err.message).toMatch(/vae_decoder\/config\.json: "block_out_channels" is array\(\d+\); expected a non-empty list of at most 64 positive integers/);
  });

  it("scales as the registry's VAE does, reading only block_out_channels of a full diffusers VAE config", async () => {
    const full = { _class_name: 'AutoencoderKL', block_out_channels: [128, 256, 512, 512], down_block_types: Array(4).fill('DownEncoderBlock2D'), up_block_types: Array(4).fill('UpDecoderBlock2D'), norm_num_groups: 32, scaling_factor: 0.18215 };
    const dir = await modelFolder([], { 'vae_decoder/config.json': JSON.stringify(full) });
    const files = await readOnnxStableDiffusion(new LocalFolderSource(dir));
    expect(files.vaeScaleFactor).toBe(COMPONENTS.vae_decoder.scaleFactor(COMPONENTS.vae_decoder.parseConfig(full, 'vae/config.json')));
    expect(files.vaeScaleFactor).toBe(8);
  });

  it('rejects a sample_size past the bound every loader shares (1024 latents), naming file and limit', async () => {
    const dir = await modelFolder([], { 'unet/config.json': JSON.stringify({ sample_size: 1e9 }) });
    await expect(readOnnxStableDiffusion(new LocalFolderSource(dir))).rejects.toThrow(/unet\/config\.json: "sample_size" is 1000000000; expected a positive number of at most 1024/);
  });
});
