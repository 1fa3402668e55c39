import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiffusionEngine, type DiffusionImage, type DiffusionRequestInit, type LoadProgress } from '../../../src/index.js';
import type { ByteStream } from '../../../src/io/byte-source.js';
import { ModelFileNotFoundError } from '../../../src/io/errors.js';
import type { FetchFileOptions, FileStat } from '../../../src/io/sources/model-source.js';
import { LocalFolderSource } from '../../../src/io/sources/local-folder-source.js';
import { ModelConfigError } from '../../../src/models/errors.js';
import { StableDiffusionPipeline } from '../../../src/pipelines/stable-diffusion.js';
import type { TextToImageJob } from '../../../src/pipelines/text-to-image.js';
import type { WeightFile } from '../../../src/pipelines/weight-files.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { gpuContext } from '../helpers/device.js';

/**
 * The config field `vae` (diffusers' `vae=AutoencoderKL.from_pretrained(...)`), on the tiny SDXL
 * pipeline: its own VAE's config and weights, written as a VAE repo (config.json and weights at
 * the root) with `force_upcast` false, as `madebyollin/sdxl-vae-fp16-fix` has it.
 */
const SDXL = fixturePath('pipeline-sdxl-tiny');
const VAE_WEIGHTS = join(SDXL, 'vae', 'diffusion_pytorch_model.safetensors');
const vaeConfig = JSON.parse(readFileSync(join(SDXL, 'vae', 'config.json'), 'utf8')) as Record<string, unknown>;
const scratch = mkdtempSync(join(tmpdir(), 'omni-vae-override-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A VAE repo under `scratch`: `config` (over the fixture VAE's) and `files` (name → source file, or bytes) at its root. */
function vaeRepo(name: string, config: Record<string, unknown>, files: Record<string, string | Uint8Array> = { 'diffusion_pytorch_model.safetensors': VAE_WEIGHTS }): string {
  const dir = join(scratch, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...vaeConfig, ...config }));
  for (const [file, from] of Object.entries(files)) {
    if (typeof from === 'string') cpSync(from, join(dir, file));
    else writeFileSync(join(dir, file), from);
  }
  return dir;
}

/**
 * The SDXL fixture as a model whose `vae/` is gone (model_index.json still lists it): every
 * path asked for is recorded, and one under `vae/` is not found, as in a repo without it.
 */
class WithoutVaeFolder extends LocalFolderSource {
  readonly asked: string[] = [];
  override fetchFile(path: string, options?: FetchFileOptions): Promise<ByteStream> {
    this.asked.push(path);
    return path.startsWith('vae/') ? Promise.reject(this.#missing(path)) : super.fetchFile(path, options);
  }
  override stat(path: string, options?: { signal?: AbortSignal }): Promise<FileStat> {
    this.asked.push(path);
    return path.startsWith('vae/') ? Promise.reject(this.#missing(path)) : super.stat(path, options);
  }
  #missing(path: string): ModelFileNotFoundError {
    return new ModelFileNotFoundError(path, this.dir, `${this.id} has no ${path} (this test removed vae/)`);
  }
}

const fp16Fix = vaeRepo('fp16-fix', { force_upcast: false });
const request: DiffusionRequestInit = { prompt: 'a red fox in the snow', negativePrompt: 'blurry', numInferenceSteps: 2, guidanceScale: 5, height: 64, width: 64, seed: 11 };

const engines: DiffusionEngine[] = [];
afterAll(async () => {
  for (const e of engines) await e.close();
});

async function engine(config: Parameters<typeof DiffusionEngine.create>[0], onLoadProgress?: (e: LoadProgress) => void): Promise<DiffusionEngine> {
  const e = await DiffusionEngine.create(config, onLoadProgress ? { onLoadProgress } : {});
  engines.push(e);
  return e;
}

function pixels(image: DiffusionImage | undefined): number[] {
  expect(image).toBeDefined();
  return Array.from(image!.data);
}

describe('a VAE override (config field vae) on SDXL (webgpu, Node + Dawn)', () => {
  it('decodes as the model’s own VAE does with the same weights in f32, reading nothing under the model’s vae/, and names its file vae/… in load progress', async () => {
    const own = await engine({ modelNameOrPath: SDXL, dtype: 'f32' });
    const model = new WithoutVaeFolder(SDXL);
    const events: LoadProgress[] = [];
    const overridden = await engine({ modelNameOrPath: model, dtype: 'f32', vae: fp16Fix }, (e) => events.push(e));
    expect(model.asked.filter((p) => p.startsWith('vae/'))).toEqual([]);
    expect(model.asked).toContain('unet/diffusion_pytorch_model.safetensors');

    const a = await own.generate(request);
    const b = await overridden.generate(request);
    expect(b.images[0]).toMatchObject({ width: 64, height: 64 });
    expect(pixels(b.images[0])).toEqual(pixels(a.images[0]));

    const resolved = events.find((e) => e.status === 'resolve');
    expect(resolved?.files).toContainEqual({ file: 'vae/diffusion_pytorch_model.safetensors', bytes: statSync(VAE_WEIGHTS).size });
    expect(resolved?.files.map((f) => f.file).sort()).toEqual(
      ['text_encoder/model.safetensors', 'text_encoder_2/model.safetensors', 'unet/diffusion_pytorch_model.safetensors', 'vae/diffusion_pytorch_model.safetensors'].sort(),
    );
    const vaeBytes = events.filter((e) => (e.status === 'download' || e.status === 'cached') && e.file === 'vae/diffusion_pytorch_model.safetensors');
    expect(vaeBytes.length).toBeGreaterThan(0);
  });

  it('encodes img2img init images with the override’s encoder, streamed from its file on the first img2img request', async () => {
    const [own, overridden] = engines as [DiffusionEngine, DiffusionEngine];
    const data = new Uint8ClampedArray(64 * 64 * 4);
    for (let i = 0; i < data.length; i += 4) data.set([(i / 4) % 64 << 2, 90, 200, 255], i);
    const img2img: DiffusionRequestInit = { ...request, image: { width: 64, height: 64, data }, strength: 0.6 };
    const a = await own.generate(img2img);
    const b = await overridden.generate(img2img);
    expect(pixels(b.images[0])).toEqual(pixels(a.images[0]));
  });
});

describe('a VAE override at the pipeline level', () => {
  const job = (o: Partial<TextToImageJob> = {}): TextToImageJob => ({
    prompt: 'a red fox in the snow',
    negativePrompt: null,
    numInferenceSteps: 1,
    guidanceScale: 0,
    height: 64,
    width: 64,
    seed: 4,
    numImages: 1,
    decoder: 'vae',
    returnTrajectoryLatents: false,
    ...o,
  });

  async function decoded(vae: string | null, activations: 'f32' | 'f16'): Promise<Float32Array> {
    const ctx = await gpuContext();
    const pipeline = await StableDiffusionPipeline.load(new LocalFolderSource(SDXL), ctx.runtime, { dtype: 'f32', activations, vae: vae === null ? null : new LocalFolderSource(vae) });
    try {
      return (await pipeline.generate(job())).images;
    } finally {
      pipeline.release();
    }
  }

  it('takes its force_upcast for the decode precision: false decodes in f16 activations, true (as SDXL’s own VAE) in f32', async () => {
    const ctx = await gpuContext();
    expect(ctx.capabilities.shaderF16).toBe(true);
    const own = await decoded(null, 'f16');
    const upcast = await decoded(vaeRepo('upcast', { force_upcast: true }), 'f16');
    const fix = await decoded(fp16Fix, 'f16');
    // Same weights, same f16 UNet: with force_upcast the decode is the own VAE's f32 one bit for bit…
    expect(Array.from(upcast)).toEqual(Array.from(own));
    // …without it the decoder runs in f16, close to it but not the same.
    expect(Array.from(fix)).not.toEqual(Array.from(own));
    const maxDiff = fix.reduce((m, v, i) => Math.max(m, Math.abs(v - own[i]!)), 0);
    expect(maxDiff).toBeLessThan(0.05);
  });

  it('with a variant, reads diffusion_pytorch_model.<variant>.safetensors before the plain file, and names it in progress', async () => {
    // The plain file is not a checkpoint: reading it would fail the load.
    const repo = vaeRepo('variant', { force_upcast: false }, { 'diffusion_pytorch_model.fp16.safetensors': VAE_WEIGHTS, 'diffusion_pytorch_model.safetensors': new Uint8Array(16) });
    const ctx = await gpuContext();
    const listed: WeightFile[] = [];
    const read = new Set<string>();
    const pipeline = await StableDiffusionPipeline.load(new LocalFolderSource(SDXL), ctx.runtime, {
      dtype: 'f32',
      variant: 'fp16',
      vae: new LocalFolderSource(repo),
      onWeightFiles: (files) => listed.push(...files),
      onProgress: (p) => read.add(p.file),
    });
    pipeline.release();
    expect(listed).toContainEqual({ file: 'vae/diffusion_pytorch_model.fp16.safetensors', bytes: statSync(VAE_WEIGHTS).size });
    expect(read).toContain('vae/diffusion_pytorch_model.fp16.safetensors');
    expect(read).not.toContain('vae/diffusion_pytorch_model.safetensors');
  });

  it('refuses a VAE whose latent_channels differ from the UNet’s out_channels, naming its config.json and the field, before reading weights', async () => {
    const ctx = await gpuContext();
    const wide = new LocalFolderSource(vaeRepo('wide', { latent_channels: 16 }, {}));
    const err = await StableDiffusionPipeline.load(new LocalFolderSource(SDXL), ctx.runtime, { dtype: 'f32', vae: wide }).then(
      () => expect.fail('expected ModelConfigError'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelConfigError);
    expect(err).toMatchObject({ file: `${wide.id}/config.json`, field: 'latent_channels', value: 16 });
    expect((err as Error).message).toMatch(/latent_channels = 16 is not supported: expected 4, the latent channels of .*pipeline-sdxl-tiny's UNet \(unet\/config\.json out_channels\)/);
  });

  it('fails a VAE repo without weights naming every file it tried', async () => {
    const ctx = await gpuContext();
    const empty = vaeRepo('empty', { force_upcast: false }, {});
    await expect(StableDiffusionPipeline.load(new LocalFolderSource(SDXL), ctx.runtime, { dtype: 'f32', variant: 'fp16', vae: new LocalFolderSource(empty) })).rejects.toThrow(
      /the VAE \(config field `vae`\) has no safetensors weights at its root \(tried diffusion_pytorch_model\.fp16\.safetensors, diffusion_pytorch_model\.safetensors\)/,
    );
  });
});
