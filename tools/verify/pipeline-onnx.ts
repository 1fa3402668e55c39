import { loadOnnxStableDiffusion, type LoadOnnxOptions } from '../../src/executors/onnx/components.js';
import { FixtureError } from '../../src/io/errors.js';
import { loadFixture, type FixtureTensor, type PipelineFixture, type Tolerance } from './fixture/fixture.js';
import { pipelineFixtureRequest } from './fixture/request.js';
import type { DiffusionComponents } from '../../src/pipelines/components.js';
import { clipPromptEncoder } from '../../src/pipelines/conditioning.js';
import { runTextToImage, type TextToImageJob } from '../../src/pipelines/text-to-image.js';
import type { HostTensor } from '../../src/schedulers/latents.js';
import { createScheduler } from '../../src/schedulers/registry.js';
import { compareTensors, type CompareResult } from './compare.js';

/** Token ids must match exactly. */
const EXACT: Tolerance = { maxAbs: 0, maxRelL2: 0 };

/** Whether a pipeline fixture holds an ONNX export (its `fixture.json` has the `onnx` field). */
export function isOnnxPipelineFixture(fixture: PipelineFixture): boolean {
  return fixture.onnx !== null;
}

/**
 * Runs a `*-onnx` pipeline fixture through the `onnx` executor's components (onnxruntime-web,
 * wasm in Node) and the shared text-to-image loop, with the fixture's prompt, settings and
 * `initial_noise`, and compares every intermediate the fixture stores: the token ids (exactly),
 * `prompt_embeds`/`negative_prompt_embeds` and `image` under `tolerance`, and
 * `initial_latents`, `unet_output_step_*`, `latents_step_*`, `final_latents` under the latents
 * tolerance. One result per compared tensor, in the fixture's order, inputs first.
 *
 * `fixture` is a fixture directory (Node) or an already loaded fixture (any source).
 */
export async function runOnnxPipelineFixture(fixture: string | PipelineFixture, options: Pick<LoadOnnxOptions, 'executionProvider'> = {}): Promise<CompareResult[]> {
  const fx = typeof fixture === 'string' ? await loadFixture(fixture) : fixture;
  if (fx.kind !== 'pipeline' || !isOnnxPipelineFixture(fx)) {
    throw new FixtureError(fx.file, fx.kind === 'pipeline' ? 'onnx' : 'kind', 'not an ONNX pipeline fixture (kind "pipeline" with an "onnx" field)');
  }
  const io = await fx.readIo();
  const tensor = (name: string): FixtureTensor => {
    const t = io.get(name);
    if (!t) throw new FixtureError(fx.file, 'outputs', `"${name}" is not in io.safetensors`);
    return t;
  };
  const latentsTolerance: Tolerance = { maxAbs: fx.tolerance.latentsMaxAbs, maxRelL2: fx.tolerance.latentsMaxRelL2 };
  const model = await loadOnnxStableDiffusion(fx.source, options);
  try {
    const results: CompareResult[] = [];
    const cfg = fx.guidanceScale > 1;
    const idChecks: Array<[string, string]> = [['input_ids', fx.prompt]];
    if (cfg && io.has('negative_input_ids')) idChecks.push(['negative_input_ids', fx.negativePrompt ?? '']);
    for (const [name, prompt] of idChecks) results.push(compareTensors(name, model.tokenizer.call([prompt]), tensor(name).data, EXACT));

    const recorded = new Map<string, Float32Array>();
    const unetOutputs: Float32Array[] = [];
    const inner = model.components;
    // The loop's networks, recording what the fixture stores between them.
    const components: DiffusionComponents<HostTensor> = {
      latents: inner.latents,
      latentChannels: inner.latentChannels,
      vaeScaleFactor: inner.vaeScaleFactor,
      sampleSize: inner.sampleSize,
      decoders: inner.decoders,
      unet: async (sample, t, conditioning) => {
        const out = await inner.unet(sample, t, conditioning);
        unetOutputs.push(out.data.slice());
        return out;
      },
      decode: (x, decoder) => inner.decode(x, decoder),
      sliceBatch: (x, start, end) => inner.sliceBatch(x, start, end),
      concatBatch: (a, b) => inner.concatBatch(a, b),
    };
    const noise = tensor('initial_noise').data;
    const scheduler = createScheduler<HostTensor>(fx.scheduler, model.schedulerConfig);
    // The fixture's request as the job the executor would resolve it to (the fixture fixes every field but the seed).
    const { numOutputsPerPrompt: numImages, ...settings } = pipelineFixtureRequest(fx, noise);
    const job: TextToImageJob = { ...settings, numImages, seed: 0, decoder: 'vae', returnTrajectoryLatents: true };
    const encodeText = async (ids: Int32Array, batch: number): Promise<HostTensor> => {
      const embeds = await inner.encodeText(ids, batch);
      const B = fx.numImages;
      recorded.set('prompt_embeds', cfg ? embeds.data.slice(embeds.data.length / 2) : embeds.data.slice());
      if (cfg) recorded.set('negative_prompt_embeds', embeds.data.slice(0, embeds.data.length / 2));
      if (batch !== (cfg ? 2 * B : B)) throw new RangeError(`The loop encoded ${batch} prompts; ${cfg ? 2 * B : B} were expected.`);
      return embeds;
    };
    const result = await runTextToImage(components, clipPromptEncoder((prompts) => model.tokenizer.call(prompts), encodeText), scheduler, job);
    const trajectory = result.trajectoryLatents ?? [];
    recorded.set('initial_latents', Float32Array.from(noise, (v) => v * scheduler.initNoiseSigma));
    trajectory.forEach((latents, i) => recorded.set(`latents_step_${i}`, latents));
    unetOutputs.forEach((out, i) => recorded.set(`unet_output_step_${i}`, out));
    if (trajectory.length > 0) recorded.set('final_latents', trajectory[trajectory.length - 1]!);
    recorded.set('image', result.images);

    for (const name of fx.outputs) {
      const actual = recorded.get(name);
      if (!actual) throw new FixtureError(fx.file, 'outputs', `names "${name}", which the ONNX pipeline run does not produce`);
      const isLatent = /^(initial_latents|final_latents|latents_step_\d+|unet_output_step_\d+)$/.test(name);
      results.push(compareTensors(name, actual, tensor(name).data, isLatent ? latentsTolerance : fx.tolerance));
    }
    return results;
  } finally {
    await model.components.release();
  }
}
