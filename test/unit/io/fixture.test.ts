import { describe, expect, it } from 'vitest';
import { FixtureError } from '../../../src/io/errors.js';
import { findFixtures, loadFixture, loadFixtureFrom, type Fixture } from '../../../src/io/fixture.js';
import { BlobSource } from '../../../src/io/sources/blob-source.js';
import { DiffusersRepo } from '../../../src/io/diffusers-repo.js';
import { readSafetensors } from '../../../src/io/safetensors.js';
import { RecipeSource } from '../../../src/io/synthetic/recipe-source.js';
import { fixturePath, fixturesDir } from '../../helpers/fixtures.js';

const unetJson = {
  kind: 'unet',
  description: 'd',
  component_config: { sample_size: 8 },
  inputs: ['sample', 'timestep'],
  outputs: ['out_sample'],
  tolerance: { max_abs: 1e-3, max_rel_l2: 5e-4 },
  weights: 'model.safetensors',
  io_pairs: [['timestep', 'out_sample']],
};

function fromJson(value: unknown): Promise<Fixture> {
  return loadFixtureFrom(new BlobSource({ 'fixture.json': new Blob([JSON.stringify(value)]) }, 'mem'));
}

async function fixtureError(value: unknown): Promise<FixtureError> {
  const err = await fromJson(value).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FixtureError);
  expect((err as FixtureError).file).toBe('mem/fixture.json');
  return err as FixtureError;
}

describe('loadFixture', () => {
  it('reads every fixture, and every io.safetensors with all its inputs and outputs', async () => {
    const paths = await findFixtures(fixturesDir());
    const kinds = new Set<string>();
    for (const path of paths) {
      const fixture = await loadFixture(path);
      kinds.add(fixture.kind);
      if ('readIo' in fixture) {
        const io = await fixture.readIo();
        for (const name of [...fixture.inputs, ...fixture.outputs]) expect(io.get(name)!.data.length, `${path} ${name}`).toBeGreaterThan(0);
      }
      if (fixture.kind === 'tokenizer') expect((await fixture.readCases()).length).toBe(fixture.numCases);
    }
    expect([...kinds].sort()).toEqual(['pipeline', 'scheduler', 'taesd_decoder', 'text_encoder', 'tokenizer', 'unet', 'vae_decoder']);
    expect(paths.filter((p) => p.endsWith('.json')).length).toBeGreaterThan(100);
  });

  it('types the fields of a UNet fixture, fp16 weights and token ids included', async () => {
    const fixture = await loadFixture(fixturePath('unet-sd21-tiny'));
    if (fixture.kind !== 'unet') throw new Error(`kind ${fixture.kind}`);
    expect(fixture.weightsFp16).toBe('model.fp16.safetensors');
    expect(fixture.toleranceFp16).toEqual({ maxAbs: 0.02, maxRelL2: 0.01 });
    expect(fixture.ioPairs).toEqual([
      ['timestep', 'out_sample'],
      ['timestep_1', 'out_sample_1'],
    ]);
    const te = await loadFixture(fixturePath('text-encoder-clip-tiny'));
    if (te.kind !== 'text_encoder') throw new Error(`kind ${te.kind}`);
    const ids = (await te.readIo()).get('input_ids')!;
    expect(ids.data).toBeInstanceOf(Int32Array);
    expect(ids.shape[1]).toBe(77);
    expect(ids.data[0]).toBe(49406);
  });

  it('reads a scheduler case file with its trajectory as float32 arrays', async () => {
    const fixture = await loadFixture(fixturePath('schedulers', 'dpmpp_2m-leading-epsilon-2.json'));
    if (fixture.kind !== 'scheduler') throw new Error(`kind ${fixture.kind}`);
    expect(fixture.config.lambda_min_clipped).toBe(-Infinity);
    expect(fixture.trajectory).toHaveLength(fixture.timesteps.length);
    const size = fixture.shape.reduce((a, b) => a * b, 1);
    expect(fixture.initialSample).toHaveLength(size);
    expect(fixture.trajectory[0]!.prevSample).toBeInstanceOf(Float32Array);
    expect(fixture.tolerance.timestepsMaxAbs).toBeGreaterThan(0);
  });

  it('reads the pipeline fields, ONNX description included', async () => {
    const fixture = await loadFixture(fixturePath('pipeline-sdturbo-tiny-onnx'));
    if (fixture.kind !== 'pipeline') throw new Error(`kind ${fixture.kind}`);
    expect(fixture.negativePrompt).toBeNull();
    expect(fixture.onnx).not.toBeNull();
    expect(fixture.modelIndex.vae).toEqual(['diffusers', 'AutoencoderKL']);
    expect(fixture.tolerance.latentsMaxAbs).toBeGreaterThan(fixture.tolerance.maxAbs);
  });

  it('names the field of an unknown kind, a missing field, and a mistyped one', async () => {
    expect((await fixtureError({ ...unetJson, kind: 'unet3d' })).field).toBe('kind');
    const { weights: _w, ...noWeights } = unetJson;
    expect((await fixtureError(noWeights)).field).toBe('weights');
    expect((await fixtureError({ ...unetJson, tolerance: { max_abs: '1e-3', max_rel_l2: 1 } })).field).toBe('tolerance.max_abs');
    expect((await fixtureError({ ...unetJson, io_pairs: [['t', 'out_sample']] })).field).toBe('io_pairs[0]');
  });

  it('reports io.safetensors lacking a tensor that the fixture names', async () => {
    const fixture = await fromJson(unetJson);
    expect(fixture.kind).toBe('unet');
    const source = new BlobSource(
      { 'fixture.json': new Blob([JSON.stringify(unetJson)]), 'io.safetensors': new Blob([new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 123, 125])]) },
      'mem',
    );
    const withIo = await loadFixtureFrom(source);
    if (!('readIo' in withIo)) throw new Error('no io');
    const err = await withIo.readIo().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FixtureError);
    expect((err as FixtureError).message).toContain('"sample"');
  });

  it('reports a scheduler trajectory of the wrong length', async () => {
    const fixture = await loadFixture(fixturePath('schedulers', 'euler-leading-v_prediction-2.json'));
    const raw = { ...fixture.raw, trajectory: (fixture.raw.trajectory as unknown[]).slice(1) };
    expect((await fixtureError(raw)).field).toBe('trajectory');
  });

  describe('synthetic-recipe weights (full-size fixtures)', () => {
    const recipeWeights = { recipe: 'omni-synthetic-v1', seed: 7, tensors: 'tensors.json', file: 'model.safetensors' };
    const tensorsJson = JSON.stringify([{ name: 'conv_in.weight', shape: [2, 1, 3, 3], dtype: 'F32' }]);

    function withFiles(fixture: unknown, files: Record<string, string> = { 'tensors.json': tensorsJson }): Promise<Fixture> {
      const blobs = Object.fromEntries(Object.entries({ 'fixture.json': JSON.stringify(fixture), ...files }).map(([k, v]) => [k, new Blob([v])]));
      return loadFixtureFrom(new BlobSource(blobs, 'mem'));
    }

    async function recipeError(fixture: unknown, files?: Record<string, string>): Promise<FixtureError> {
      const err = await withFiles(fixture, files).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FixtureError);
      return err as FixtureError;
    }

    it('serves a component fixture\'s weights file from the recipe, and its other files from the folder', async () => {
      const fixture = await loadFixture(fixturePath('full', 'unet-sd15-full'));
      if (fixture.kind !== 'unet') throw new Error(`kind ${fixture.kind}`);
      expect(fixture.weights).toBe('model.safetensors');
      expect(fixture.synthetic).toHaveLength(1);
      expect(fixture.synthetic![0]).toMatchObject({ component: null, seed: 1592590338, path: 'model.safetensors', tensorsFile: 'tensors.json' });
      expect(fixture.synthetic![0]!.tensors).toHaveLength(686);
      expect(fixture.source).toBeInstanceOf(RecipeSource);
      // The UNet is 3.4 GB of float32: only its size is asked for here.
      const { size, stream } = await fixture.source.fetchFile('model.safetensors');
      await stream.cancel();
      expect(size).toBeGreaterThan(3.4e9);
      expect((await fixture.readIo()).get('sample')!.shape).toEqual([2, 4, 16, 16]);
    });

    it('serves each component of a pipeline fixture where a diffusers repo has its weights', async () => {
      const fixture = await loadFixture(fixturePath('full', 'pipeline-sdturbo-full-512'));
      if (fixture.kind !== 'pipeline') throw new Error(`kind ${fixture.kind}`);
      expect(fixture.synthetic!.map((f) => [f.component, f.path])).toEqual([
        ['unet', 'unet/diffusion_pytorch_model.safetensors'],
        ['vae', 'vae/diffusion_pytorch_model.safetensors'],
        ['text_encoder', 'text_encoder/model.safetensors'],
      ]);
      const repo = await DiffusersRepo.open(fixture.source);
      const { path, file } = await repo.openWeights('vae');
      await file.stream.cancel();
      expect(path).toBe('vae/diffusion_pytorch_model.safetensors');
      expect((await repo.readConfig('vae')).latent_channels).toBe(4);
      // Plain fixtures keep reading from their folder.
      const plain = await loadFixture(fixturePath('pipeline-sdturbo-tiny'));
      expect(plain.kind === 'pipeline' && plain.synthetic).toBeNull();
    });

    it('generates the recipe values into a small fixture\'s weights file', async () => {
      const fixture = await withFiles({ ...unetJson, weights: recipeWeights });
      const tensors = await readSafetensors(await fixture.source.fetchFile('model.safetensors'));
      const w = tensors.get('conv_in.weight')!;
      expect(w.shape).toEqual([2, 1, 3, 3]);
      // s_k = f32(sqrt(3)/3) for fan_in 9; every value lies within ±s_k.
      expect(Math.max(...Array.from(w.data as Float32Array, Math.abs))).toBeLessThanOrEqual(Math.fround(Math.sqrt(3) / 3));
    });

    it('names the field of an unknown recipe and of each malformed recipe field', async () => {
      const component = (weights: unknown) => ({ ...unetJson, weights });
      expect((await recipeError(component({ ...recipeWeights, recipe: 'omni-synthetic-v2' }))).field).toBe('weights.recipe');
      expect((await recipeError(component({ ...recipeWeights, recipe: 'omni-synthetic-v2' }))).message).toMatch(/omni-synthetic-v2.*omni-synthetic-v1/);
      expect((await recipeError(component({ ...recipeWeights, seed: 2 ** 32 }))).field).toBe('weights.seed');
      expect((await recipeError(component({ ...recipeWeights, seed: 1.5 }))).field).toBe('weights.seed');
      expect((await recipeError(component({ ...recipeWeights, tensors: '../tensors.json' }))).field).toBe('weights.tensors');
      const { file: _f, ...noFile } = recipeWeights;
      expect((await recipeError(component(noFile))).field).toBe('weights.file');
      expect((await recipeError(component(5))).field).toBe('weights');
      const pipeline = { ...(await loadFixture(fixturePath('pipeline-sdturbo-tiny'))).raw };
      const entry = { seed: 1, tensors: 'tensors.json', file: 'unet/diffusion_pytorch_model.safetensors' };
      expect((await recipeError({ ...pipeline, weights: { recipe: 'x', components: {} } })).field).toBe('weights.recipe');
      expect((await recipeError({ ...pipeline, weights: { recipe: 'omni-synthetic-v1', components: {} } })).field).toBe('weights.components');
      expect((await recipeError({ ...pipeline, weights: { recipe: 'omni-synthetic-v1', components: { unet: { ...entry, seed: -1 } } } })).field).toBe(
        'weights.components.unet.seed',
      );
      expect((await recipeError({ ...pipeline, weights: { recipe: 'omni-synthetic-v1', components: { unet: entry, vae: entry } } })).field).toBe(
        'weights.components.vae.file',
      );
      expect((await recipeError({ ...pipeline, weights: 'model.safetensors' })).field).toBe('weights');
    });

    it('reports a malformed or missing tensors.json by file and entry', async () => {
      const bad = await recipeError({ ...unetJson, weights: recipeWeights }, { 'tensors.json': JSON.stringify([{ name: 'a', shape: [1], dtype: 'BF16' }]) });
      expect([bad.file, bad.field]).toEqual(['mem/tensors.json', '[0].dtype']);
      const missing = await recipeError({ ...unetJson, weights: recipeWeights }, {});
      expect([missing.file, missing.field]).toEqual(['mem/tensors.json', null]);
    });
  });
});
