import type { TensorDType, TensorLike, TensorOps } from '../../src/webgpu/kernels/ops.js';
import { FixtureError } from '../../src/io/errors.js';
import { loadFixture, type ComponentFixture, type FixtureTensor, type Tolerance } from './fixture/fixture.js';
import { streamStateDictToDevice, type DeviceStateDict } from '../../src/models/device-state-dict.js';
import { COMPONENT_KINDS, COMPONENTS } from '../../src/models/registry.js';
import { DiagonalGaussian } from '../../src/models/vae/diagonal-gaussian.js';
import type { DecoderMemory } from '../../src/models/vae/decoder-resnet.js';
import { compareTensors, type CompareResult } from './compare.js';
import { GpuOps } from '../../src/webgpu/kernels/gpu-ops.js';
import { defaultQuantPolicy, QUANTIZED_DTYPES, type QuantizedDType } from '../../src/quant/policy.js';

export interface ComponentRunOptions {
  /**
   * Run the fixture's float16 weights (`weights_fp16`), uploaded as f16, and judge by
   * `tolerance_fp16`. Inputs stay float32: activation precision is the backend's choice.
   * Throws `FixtureError` when the fixture has no float16 weights.
   */
  fp16?: boolean;
  /**
   * Store activations as f16 (GPU ops on a shader-f16 device only; see
   * `GpuRuntime.activationDtype`) and judge by {@link F16_ACTIVATIONS_TOLERANCE} instead of the
   * fixture's float32 bounds: f16 storage rounds every intermediate to 11 bits.
   */
  activations?: 'f32' | 'f16';
  /**
   * Load the weights as the engine's `dtype: 'int8' | 'int4'` does (the policy's weights
   * quantized as they stream, the rest f16) and judge by `tolerance` (default: report only,
   * no bound), since quantization error is the model's, not the kernels'.
   */
  quantize?: { dtype: QuantizedDType; tolerance?: Tolerance };
  /** The VAE decoder's working set (`vae_decoder` only): a small one runs it over channel ranges, as at 1024². */
  decoderMemory?: DecoderMemory;
}

/** No bound: the comparison is reported, never failed (how a quantized run is measured before its bound is pinned). */
const REPORT_ONLY: Tolerance = { maxAbs: Infinity, maxRelL2: Infinity };

/**
 * What f16 activations are held to against the float32 reference: a relative L2 error of
 * 5e-3, over three times what the full-size fixtures measure (text encoders 1.0e-3 to 1.4e-3,
 * UNets 1.3e-3 to 1.5e-3), and no absolute bound, since an intermediate of magnitude ~20 is
 * stored in f16 steps of 1/64.
 */
export const F16_ACTIVATIONS_TOLERANCE: Tolerance = { maxAbs: Infinity, maxRelL2: 5e-3 };

/** The kinds of component fixture this runner executes: every kind of the component registry. */
export { COMPONENT_KINDS };

/**
 * Runs one component fixture (`unet`, `vae_decoder`, `vae_encoder`, `taesd_decoder`,
 * `text_encoder`) on `ops`:
 * builds the model from the fixture's config and weights, feeds its inputs, and compares each
 * output with the expected one under the fixture's tolerance. `fixture` is a fixture directory
 * (Node) or an already loaded fixture (any source, e.g. HTTP in a browser).
 *
 * The weights stream straight to the device, one tensor at a time, as the pipeline loader
 * streams them: the host never holds a whole component (a full-size UNet is 3.4 GB of float32),
 * and synthetic-recipe weights are generated chunk by chunk as they stream.
 */
export async function runComponentFixture<T extends TensorLike>(
  fixture: string | ComponentFixture,
  ops: TensorOps<T>,
  options: ComponentRunOptions = {},
): Promise<CompareResult[]> {
  const fx = typeof fixture === 'string' ? await loadFixture(fixture) : fixture;
  if (!isComponent(fx)) throw new FixtureError(fx.file, 'kind', `"${fx.kind}" is not a component fixture kind (${COMPONENT_KINDS.join(', ')})`);
  const weightsFile = options.fp16 ? fx.weightsFp16 : fx.weights;
  const tolerance = options.fp16 ? fx.toleranceFp16 : fx.tolerance;
  if (weightsFile === null || tolerance === null) throw new FixtureError(fx.file, 'weights_fp16', 'the fixture has no float16 weights');
  const quantized = options.quantize ?? null;
  const dtype: TensorDType = options.fp16 || quantized ? 'f16' : 'f32';
  const quantize = quantized ? defaultQuantPolicy(QUANTIZED_DTYPES[quantized.dtype]) : null;
  const f16Activations = options.activations === 'f16';
  if (f16Activations && !(ops instanceof GpuOps)) throw new FixtureError(fx.file, null, 'f16 activations need the WebGPU ops');
  const io = await fx.readIo();
  // Keys the model never uses are streamed past, not uploaded, as the pipeline loader does.
  const skip = COMPONENTS[fx.kind].unusedKey;
  const dict = await streamStateDictToDevice(ops, await fx.source.fetchFile(weightsFile), { file: `${fx.source.id}/${weightsFile}`, dtype, quantize, ...(skip ? { skip } : {}) });
  try {
    const judge = quantized ? (quantized.tolerance ?? REPORT_ONLY) : f16Activations ? F16_ACTIVATIONS_TOLERANCE : tolerance;
    if (!f16Activations) return await runModel(fx, ops, dict, new Run(ops, io, judge), dtype, options.decoderMemory);
    const rt = (ops as unknown as GpuOps).runtime;
    const previous = rt.activationDtype;
    rt.activationDtype = 'f16';
    try {
      return await runModel(fx, ops, dict, new Run(ops, io, judge), dtype, options.decoderMemory);
    } finally {
      rt.activationDtype = previous;
    }
  } finally {
    // The uploads no model took go back: ignored keys, or all of them when building failed
    // (a model that fails to build releases what it took itself).
    dict.releaseUntaken();
  }
}

/** Builds the fixture's model from `dict` (through the component registry, as the pipeline does), runs it on the inputs and records each comparison. */
async function runModel<T extends TensorLike>(
  fx: ComponentFixture,
  ops: TensorOps<T>,
  dict: DeviceStateDict<T>,
  run: Run<T>,
  dtype: TensorDType,
  decoderMemory?: DecoderMemory,
): Promise<CompareResult[]> {
  const configName = `${fx.file} (component_config)`;

  switch (fx.kind) {
    case 'unet': {
      const model = COMPONENTS.unet.load(ops, COMPONENTS.unet.parseConfig(fx.config, configName), dict, { dtype });
      try {
        const sample = run.input('sample');
        const ehs = run.input('encoder_hidden_states');
        const cond = fx.inputs.includes('timestep_cond') ? run.input('timestep_cond') : undefined;
        // SDXL's added conditions; the time ids are host numbers (pixels), as the pipeline passes them.
        const added =
          fx.inputs.includes('text_embeds') && fx.inputs.includes('time_ids')
            ? { textEmbeds: run.input('text_embeds'), timeIds: Array.from(run.tensor('time_ids').data) }
            : undefined;
        for (const [timestepName, outputName] of fx.ioPairs) {
          const t = run.tensor(timestepName);
          await run.check(outputName, model.forward(sample, Array.from(t.data), ehs, cond, added));
        }
      } finally {
        run.releaseInputs();
        model.release();
      }
      break;
    }
    case 'vae_decoder': {
      const model = COMPONENTS.vae_decoder.load(ops, COMPONENTS.vae_decoder.parseConfig(fx.config, configName), dict, { dtype });
      try {
        await run.check('image', model.decode(run.input('latents'), decoderMemory));
      } finally {
        run.releaseInputs();
        model.release();
      }
      break;
    }
    case 'taesd_decoder': {
      const model = COMPONENTS.taesd_decoder.load(ops, COMPONENTS.taesd_decoder.parseConfig(fx.config, configName), dict, { dtype });
      try {
        await run.check('image', model.decode(run.input('latents')));
      } finally {
        run.releaseInputs();
        model.release();
      }
      break;
    }
    case 'vae_encoder': {
      const config = COMPONENTS.vae_encoder.parseConfig(fx.config, configName);
      const model = COMPONENTS.vae_encoder.load(ops, config, dict, { dtype });
      try {
        const moments = model.encode(run.input('image'));
        const shape = [...moments.shape];
        const values = await ops.read(moments);
        // `scaled_mean` is what img2img starts from before sampling: (mean - shift) · scaling_factor.
        const mean = new DiagonalGaussian(values, shape).mean.map((m) => (m - config.shiftFactor) * config.scalingFactor);
        if (fx.outputs.includes('moments')) await run.check('moments', moments);
        else ops.release(moments);
        if (fx.outputs.includes('scaled_mean')) await run.check('scaled_mean', ops.upload(mean, [shape[0]!, shape[1]! / 2, shape[2]!, shape[3]!]));
      } finally {
        run.releaseInputs();
        model.release();
      }
      break;
    }
    case 'text_encoder': {
      const model = COMPONENTS.text_encoder.load(ops, COMPONENTS.text_encoder.parseConfig(fx.config, configName), dict, { dtype });
      try {
        const ids = run.tensor('input_ids');
        if (!(ids.data instanceof Int32Array) || ids.shape.length !== 2) throw new FixtureError(fx.file, 'inputs', '"input_ids" must be integer ids [B, L]');
        const out = model.forward(ids.data, [ids.shape[0]!, ids.shape[1]!], { penultimate: fx.outputs.includes('penultimate_hidden_state') });
        // Each output the fixture lists is checked (and released by the check); the rest, and
        // whatever a failed check leaves unchecked, are released here. A listed output the model
        // did not produce (`text_embeds` from a config without the projection) is an error.
        const produced = new Map<string, T | undefined>([
          ['last_hidden_state', out.lastHiddenState],
          ['pooler_output', out.poolerOutput],
          ['penultimate_hidden_state', out.penultimateHiddenState],
          ['text_embeds', out.textEmbeds],
        ]);
        try {
          for (const name of fx.outputs) {
            const actual = produced.get(name);
            if (!actual) throw new FixtureError(fx.file, 'outputs', `"${name}" is not an output of ${model.config.withProjection ? 'CLIPTextModelWithProjection' : 'CLIPTextModel'}`);
            produced.delete(name);
            await run.check(name, actual);
          }
        } finally {
          for (const rest of produced.values()) if (rest) ops.release(rest);
        }
      } finally {
        model.release();
      }
      break;
    }
  }
  return run.results;
}

function isComponent(fx: { kind: string }): fx is ComponentFixture {
  return (COMPONENT_KINDS as readonly string[]).includes(fx.kind);
}

/** The inputs uploaded for one fixture run, and the comparisons made so far. */
class Run<T extends TensorLike> {
  readonly results: CompareResult[] = [];
  private readonly inputs: T[] = [];

  constructor(
    private readonly ops: TensorOps<T>,
    private readonly io: Map<string, FixtureTensor>,
    private readonly tolerance: Tolerance,
  ) {}

  tensor(name: string): FixtureTensor {
    const t = this.io.get(name);
    if (!t) throw new FixtureError('io.safetensors', name, 'tensor missing');
    return t;
  }

  /** Uploads a float input; released by `releaseInputs`. */
  input(name: string): T {
    const t = this.tensor(name);
    const x = this.ops.upload(Float32Array.from(t.data), t.shape);
    this.inputs.push(x);
    return x;
  }

  /** Reads `actual` back, releases it, and records its comparison with the expected output `name`. */
  async check(name: string, actual: T): Promise<void> {
    const expected = this.tensor(name);
    const got = await this.ops.read(actual);
    this.ops.release(actual);
    if (actual.shape.length !== expected.shape.length || actual.shape.some((d, i) => d !== expected.shape[i])) {
      throw new FixtureError('io.safetensors', name, `the model gave shape [${actual.shape}], expected [${expected.shape}]`);
    }
    this.results.push(compareTensors(name, got, expected.data, this.tolerance));
  }

  releaseInputs(): void {
    for (const x of this.inputs.splice(0)) this.ops.release(x);
  }
}
