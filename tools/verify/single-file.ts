import { readJsonObject } from '../../src/io/diffusers-repo.js';
import { FixtureError } from '../../src/io/errors.js';
import { LocalFolderSource } from '../../src/io/sources/local-folder-source.js';
import type { CompareResult } from './compare.js';
import type { PipelineFixture } from './fixture/fixture.js';
import type { SingleFileFixture } from './fixture/single-file.js';
import { runPipelineFixture, type PipelineRunOptions } from './pipeline.js';

/**
 * Runs a `single_file` fixture: `DiffusionEngine` loads the checkpoint by its path (the model a
 * user names, `configFrom` the fixture's `config_from` folder), runs the fixture's prompt,
 * settings and initial noise, and every stored output is compared as for a `pipeline` fixture
 * (`runPipelineFixture`: the same fields, the same tolerances, token ids exactly).
 */
export async function runSingleFileFixture(fx: SingleFileFixture, options: PipelineRunOptions = {}): Promise<CompareResult[]> {
  if (!(fx.source instanceof LocalFolderSource)) throw new FixtureError(fx.file, 'checkpoint', 'a single_file fixture runs from a local folder');
  const modelIndex = await readJsonObject(new LocalFolderSource(fx.configFromDir), 'model_index.json');
  const className = modelIndex._class_name;
  const view: PipelineFixture = {
    ...fx,
    kind: 'pipeline',
    modelIndex,
    componentsAlsoFixtures: {},
    onnx: null,
    pipeline: typeof className === 'string' ? className : 'StableDiffusionPipeline',
    microConditioning: null,
    stepNoise: null,
    synthetic: null,
  };
  const config = { ...options.config, modelNameOrPath: `${fx.source.dir}/${fx.checkpoint}`, configFrom: fx.configFromDir };
  return runPipelineFixture(view, { ...options, config });
}
