import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatComparison } from '../../../../tools/verify/compare.js';
import { findFixtures, loadFixture, type PipelineFixture } from '../../../../tools/verify/fixture/fixture.js';
import { runPipelineFixture } from '../../../../tools/verify/pipeline.js';
import { runSingleFileFixture } from '../../../../tools/verify/single-file.js';
import { readJsonObject } from '../../../../src/io/diffusers-repo.js';
import { SingleFileSource } from '../../../../src/io/single-file/single-file-source.js';
import { BlobSource } from '../../../../src/io/sources/blob-source.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { fixturesOfKind } from '../../../helpers/fixture-kind.js';
import { fixturesDir } from '../../../helpers/fixtures.js';
import { ldmCheckpointOf } from '../../../helpers/ldm-checkpoint.js';
import { singleFileFixtures } from '../../../helpers/single-file-fixtures.js';

// Every single_file fixture, found by kind (under the fixtures and their community/ folder).
const fixtures = (await singleFileFixtures()).map((fx) => ({ name: basename(fx.file.replace(/\/fixture\.json$/, '')), fx }));

describe('every single_file fixture: DiffusionEngine loads the original-layout checkpoint by path (WebGPU on Dawn)', () => {
  it('finds the single_file fixtures', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  it.each(fixtures)('$name: the token ids exactly, every stored output within the pipeline tolerances', async ({ name, fx }) => {
    const results = await runSingleFileFixture(fx, { config: { gpuLimits: 'default' } });
    console.log(results.map((r) => `${name} ${formatComparison(r)}`).join('\n'));
    expect(results.map((r) => r.name)).toEqual(expect.arrayContaining(fx.outputs));
    expect(results.filter((r) => !r.pass).map(formatComparison)).toEqual([]);
  });
});

// The SD 2.x pipeline fixtures (an OpenCLIP text encoder: gelu), found by kind and config, each
// written back as an SD 2.x original-layout checkpoint (OpenCLIP text tower) by the test helper.
const sd2 = (
  await Promise.all(
    (await findFixtures(fixturesDir())).map(async (path) => {
      const fx = await loadFixture(path);
      if (fx.kind !== 'pipeline' || fx.onnx !== null || fx.synthetic !== null || fx.pipeline !== 'StableDiffusionPipeline') return [];
      const text = await readJsonObject(new LocalFolderSource(path), 'text_encoder/config.json');
      return text.hidden_act === 'gelu' ? [{ name: basename(path), fx: fx as PipelineFixture, dir: path }] : [];
    }),
  )
).flat();

describe('SD 2.x single-file checkpoints (OpenCLIP text tower), made from the SD 2.x pipeline fixtures', () => {
  it('finds an SD 2.x pipeline fixture', () => {
    expect(sd2.length).toBeGreaterThan(0);
  });

  it.each(sd2)('$name as one checkpoint: every stored output of the pipeline fixture within its tolerances', async ({ name, fx, dir }) => {
    const base = new LocalFolderSource(dir);
    const file = new BlobSource({ 'model.safetensors': new Blob([(await ldmCheckpointOf(base, 'open_clip')) as Uint8Array<ArrayBuffer>]) });
    const source = await SingleFileSource.open({ source: file, path: 'model.safetensors' }, { configFrom: base });
    expect(source.architecture).toBe('sd2');
    const results = await runPipelineFixture(fx, { config: { modelNameOrPath: source, gpuLimits: 'default' } });
    console.log(results.map((r) => `${name} (sd2 single file) ${formatComparison(r)}`).join('\n'));
    expect(results.map((r) => r.name)).toEqual(expect.arrayContaining(fx.outputs));
    expect(results.filter((r) => !r.pass).map(formatComparison)).toEqual([]);
  });
});

// The SDXL pipeline fixtures (safetensors weights), found by kind and `pipeline` field, each
// written back as an SDXL checkpoint in SGM layout (conditioner.embedders.*) by the test helper.
const sdxl = (await fixturesOfKind('pipeline')).flatMap(({ name, path, fx }) => (fx.pipeline === 'StableDiffusionXLPipeline' && fx.onnx === null && fx.synthetic === null ? [{ name, fx, dir: path }] : []));

describe('SDXL single-file checkpoints (SGM layout), made from the SDXL pipeline fixtures', () => {
  it('finds the SDXL pipeline fixtures', () => {
    expect(sdxl.map((f) => f.name)).toContain('pipeline-sdxl-tiny');
  });

  it.each(sdxl)('$name as one checkpoint, loaded by path: every stored output of the pipeline fixture within its tolerances', async ({ name, fx, dir }) => {
    const folder = await mkdtemp(join(tmpdir(), 'omni-sdxl-single-file-'));
    try {
      const checkpoint = join(folder, 'sd_xl_base.safetensors');
      await writeFile(checkpoint, await ldmCheckpointOf(new LocalFolderSource(dir), 'sdxl'));
      const results = await runPipelineFixture(fx, { config: { modelNameOrPath: checkpoint, configFrom: dir, gpuLimits: 'default' } });
      console.log(results.map((r) => `${name} (sdxl single file) ${formatComparison(r)}`).join('\n'));
      expect(results.map((r) => r.name)).toEqual(expect.arrayContaining(fx.outputs));
      expect(results.filter((r) => !r.pass).map(formatComparison)).toEqual([]);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
