import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiffusionConfig } from '../../../../src/api/config.js';
import { ConfigValidationError } from '../../../../src/api/errors.js';
import { parseArgs } from '../../../../src/cli/args.js';
import { generateCommand, generateOptionsFrom } from '../../../../src/cli/commands/generate.js';
import { engineConfigOf } from '../../../../src/cli/engine-options.js';
import { modelSpecOf } from '../../../../src/executors/webgpu/options.js';
import { CheckpointFormatError } from '../../../../src/io/single-file/errors.js';
import { splitCheckpointName } from '../../../../src/io/single-file/open-single-file.js';
import { SingleFileSource } from '../../../../src/io/single-file/single-file-source.js';
import { cachedModelSource } from '../../../../src/io/sources/cached-source.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { ModelConfigError } from '../../../../src/models/errors.js';
import { singleFileFixtures } from '../../../helpers/single-file-fixtures.js';

const [fx] = await singleFileFixtures();
if (!fx) throw new Error('no single_file fixture found');
const checkpoint = `${(fx.source as LocalFolderSource).dir}/${fx.checkpoint}`;

describe('splitCheckpointName: the repo and the file of a checkpoint name', () => {
  it.each([
    ['/models/sd/v1-5.safetensors', '/models/sd', 'v1-5.safetensors'],
    ['./v1-5.safetensors', './', 'v1-5.safetensors'],
    ['v1-5.safetensors', './', 'v1-5.safetensors'],
    ['models/v1-5.safetensors', './models', 'v1-5.safetensors'],
    ['https://example.org/files/v1-5.safetensors?download=true', 'https://example.org/files', 'v1-5.safetensors'],
    ['stable-diffusion-v1-5/stable-diffusion-v1-5/v1-5-pruned-emaonly.safetensors', 'stable-diffusion-v1-5/stable-diffusion-v1-5', 'v1-5-pruned-emaonly.safetensors'],
    ['owner/name/sub/dir/model.safetensors', 'owner/name', 'sub/dir/model.safetensors'],
  ])('%s → %s + %s', (name, repo, path) => {
    expect(splitCheckpointName(name)).toEqual({ repo, path });
  });
});

describe('cachedModelSource: a .safetensors name is a single-file checkpoint', () => {
  it('opens it with its configFrom as a diffusers repo', async () => {
    const source = await cachedModelSource(checkpoint, { configFrom: fx.configFromDir });
    expect(source).toBeInstanceOf(SingleFileSource);
    expect(source.id).toBe(`file/${checkpoint}`);
    expect((source as SingleFileSource).weightPaths().sort()).toEqual(['text_encoder/model.safetensors', 'unet/diffusion_pytorch_model.safetensors', 'vae/diffusion_pytorch_model.safetensors']);
    // The config repo's files come through; its weights never do.
    expect(JSON.parse(await source.readText('unet/config.json'))).toMatchObject({ _class_name: 'UNet2DConditionModel' });
    await expect(source.fetchFile('unet/diffusion_pytorch_model.fp16.safetensors')).rejects.toMatchObject({ name: 'ModelFileNotFoundError' });
    expect(await source.stat!('unet/diffusion_pytorch_model.safetensors')).toMatchObject({ size: expect.any(Number) });
  });

  it("without configFrom, opens the inferred architecture's published repo, and says so when it cannot", async () => {
    const base = new LocalFolderSource(fx.configFromDir);
    const location = { source: fx.source, path: fx.checkpoint };
    const asked: string[] = [];
    const source = await SingleFileSource.open(location, { openRepo: async (name) => (asked.push(name), base) });
    expect(asked).toEqual(['stable-diffusion-v1-5/stable-diffusion-v1-5']);
    expect(source.configFrom).toBe(base);
    const err = await SingleFileSource.open(location).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelConfigError);
    expect((err as Error).message).toContain('stable-diffusion-v1-5/stable-diffusion-v1-5');
  });

  it('refuses pickle names before anything is read', async () => {
    await expect(cachedModelSource('/nowhere/model.ckpt')).rejects.toBeInstanceOf(CheckpointFormatError);
    await expect(cachedModelSource('https://example.org/model.pt')).rejects.toBeInstanceOf(CheckpointFormatError);
  });
});

describe('configFrom reaches the engine host', () => {
  it('DiffusionConfig takes a string and refuses anything else, naming the field', () => {
    const config = new DiffusionConfig({ modelNameOrPath: checkpoint, configFrom: fx.configFromDir });
    expect(modelSpecOf(config, 'webgpu')).toMatchObject({ modelNameOrPath: checkpoint, configFrom: fx.configFromDir });
    expect(new DiffusionConfig({ modelNameOrPath: 'org/model' }).configFrom).toBeNull();
    expect(() => new DiffusionConfig({ configFrom: 3 as unknown as string })).toThrow(ConfigValidationError);
  });

  it('the CLI: --model <file.safetensors> --config-from <folder>', async () => {
    const choice = generateOptionsFrom(parseArgs(generateCommand, ['x', '--model', checkpoint, '--config-from', fx.configFromDir])).engine;
    expect(await engineConfigOf(choice)).toMatchObject({ executorClass: 'webgpu', modelNameOrPath: checkpoint, configFrom: resolve(fx.configFromDir) });
  });
});
