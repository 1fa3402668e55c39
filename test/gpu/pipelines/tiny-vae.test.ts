import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiffusionEngine, type DiffusionRequestInit } from '../../../src/index.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { writeTaesdRepo } from '../helpers/taesd-repo.js';

/**
 * diffusers accepts an `AutoencoderTiny` in a Stable Diffusion pipeline's `vae` slot and decodes
 * with it as with any VAE (`decode(latents / scaling_factor)`, TAESD's factor being 1); `plan`
 * always did, and the pipeline now does too, through the same component registry. Built here
 * from the SD-Turbo tiny pipeline with the TAESD fixture's config and weights put in `vae/`.
 */
describe('a Stable Diffusion model whose vae/ is an AutoencoderTiny (webgpu, Node + Dawn)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'omni-tiny-vae-'));
  const base = fixturePath('pipeline-sdturbo-tiny');
  const taesdRepo = writeTaesdRepo(join(scratch, 'taesd'));

  // The same model with that AutoencoderTiny as its VAE.
  const tinyVaeModel = join(scratch, 'model');
  cpSync(base, tinyVaeModel, { recursive: true, filter: (src) => !src.startsWith(join(base, 'vae')) && !/io\.safetensors$|fixture\.json$/.test(src) });
  cpSync(taesdRepo, join(tinyVaeModel, 'vae'), { recursive: true });
  const index = JSON.parse(readFileSync(join(base, 'model_index.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(tinyVaeModel, 'model_index.json'), JSON.stringify({ ...index, vae: ['diffusers', 'AutoencoderTiny'] }));

  const engines: DiffusionEngine[] = [];
  afterAll(async () => {
    for (const e of engines) await e.close();
  });

  const request: DiffusionRequestInit = { prompt: 'a photo of a cat', numInferenceSteps: 1, guidanceScale: 0, height: 64, width: 64, seed: 3 };

  it('decodes exactly as the same weights do as the TAESD decoder of the original model', async () => {
    const tinyVae = await DiffusionEngine.create({ modelNameOrPath: tinyVaeModel, dtype: 'f32' });
    engines.push(tinyVae);
    const withTaesd = await DiffusionEngine.create({ modelNameOrPath: base, dtype: 'f32', taesd: taesdRepo });
    engines.push(withTaesd);
    const a = await tinyVae.generate({ ...request, decoder: 'vae' });
    const b = await withTaesd.generate({ ...request, decoder: 'taesd' });
    expect(a.error).toBeNull();
    expect(b.error).toBeNull();
    expect(a.images[0]!.width).toBe(64);
    expect(Array.from(a.images[0]!.data)).toEqual(Array.from(b.images[0]!.data));
  });

  it('refuses img2img, whose encoder half of an AutoencoderTiny is not run', async () => {
    const engine = engines[0]!;
    const image = { width: 64, height: 64, data: new Uint8ClampedArray(64 * 64 * 4).fill(128) };
    const failure = await engine.generate({ ...request, image }).then(
      () => expect.fail('expected img2img to be refused'),
      (err: unknown) => err as Error,
    );
    // Refused before any work by the job check (the pipeline declares no img2img), saying why and what runs it.
    expect(failure).toMatchObject({ name: 'RequestValidationError', code: 'REQUEST_INVALID', field: 'image' });
    expect(failure.message).toMatch(/expected absent: this model's vae\/ is an AutoencoderTiny, whose encoder omni-diffusion does not run; img2img needs a model whose vae\/ is an AutoencoderKL\.$/);
  });
});
