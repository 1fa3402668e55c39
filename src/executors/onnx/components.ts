import type { DecoderKind } from '../../api/request.js';
import type { JsonObject } from '../../io/diffusers-repo.js';
import type { FetchFileOptions, ModelSource } from '../../io/sources/model-source.js';
import type { CLIPTokenizer } from '../../models/tokenizer/clip-tokenizer.js';
import { DEFAULT_SAMPLE_SIZE } from '../../models/unet/config.js';
import type { DiffusionComponents } from '../../pipelines/components.js';
import type { UNetConditioning } from '../../pipelines/conditioning.js';
import { hostLatents, type HostTensor } from '../../schedulers/latents.js';
import { RequestValidationError } from '../../api/errors.js';
import { OnnxModelSignatureError } from './errors.js';
import { ONNX_NETWORK_FILES, readOnnxStableDiffusion, type OnnxNetwork, type OnnxStableDiffusionFiles } from './layout.js';
import {
  chooseExecutionProvider,
  createCheckedSession,
  loadOrt,
  type CheckedSession,
  type OnnxExecutionProvider,
  type OnnxSignature,
  type OrtApi,
  type OrtFeedType,
  type OrtTensor,
} from './session.js';

/** Why a request for another decoder than the model's VAE is refused. */
export const ONNX_DECODER_HINT = "the onnx executor decodes with the model's VAE only; it has no TAESD";

/** The inputs and outputs of the published ONNX Stable Diffusion exports. */
const SIGNATURES: Record<OnnxNetwork, OnnxSignature> = {
  textEncoder: { inputs: { input_ids: ['int32', 'int64'] }, outputs: ['last_hidden_state'] },
  unet: {
    // diffusers' ONNX exports take an int64 timestep; older and third-party ones a float.
    inputs: { sample: ['float32'], timestep: ['int64', 'int32', 'float32'], encoder_hidden_states: ['float32'] },
    outputs: ['out_sample'],
  },
  vaeDecoder: { inputs: { latent_sample: ['float32'] }, outputs: ['sample'] },
};

/** Time spent in each network since the last `resetTimings`. */
export interface OnnxTimings {
  encodeMs: number;
  unetMs: number;
  decodeMs: number;
}

/**
 * `DiffusionComponents` over three onnxruntime-web sessions. Latents live on the host as
 * Float32Arrays (`hostLatents`): each network call copies its inputs in and its output out,
 * which is cheap next to the network itself and keeps the scheduler on the CPU.
 */
export class OnnxDiffusionComponents implements DiffusionComponents<HostTensor> {
  readonly latents = hostLatents;
  readonly latentChannels: number;
  readonly vaeScaleFactor: number;
  readonly sampleSize: number;
  readonly decoders: readonly DecoderKind[] = ['vae'];
  /** The EP the sessions run on. */
  readonly executionProvider: OnnxExecutionProvider;
  /** The VAE's `scaling_factor`; `decode` divides by it. */
  readonly vaeScalingFactor: number;
  readonly timings: OnnxTimings = { encodeMs: 0, unetMs: 0, decodeMs: 0 };
  readonly #ort: OrtApi;
  readonly #sessions: Record<OnnxNetwork, CheckedSession>;
  readonly #timestepRank: number;

  private constructor(ort: OrtApi, sessions: Record<OnnxNetwork, CheckedSession>, files: OnnxStableDiffusionFiles, ep: OnnxExecutionProvider) {
    this.#ort = ort;
    this.#sessions = sessions;
    this.executionProvider = ep;
    this.vaeScalingFactor = files.vaeScalingFactor;
    this.vaeScaleFactor = files.vaeScaleFactor;
    // An export without `unet/config.json` gets the size a UNet config without `sample_size` gets.
    this.sampleSize = files.sampleSize ?? DEFAULT_SAMPLE_SIZE;
    const unetInputs = sessions.unet.session.inputMetadata;
    const channels = unetInputs?.find((m) => m.name === 'sample')?.shape?.[1];
    this.latentChannels = typeof channels === 'number' ? channels : 4;
    // A scalar timestep input must be fed as rank 0; [1] and [batch] both take a [1] tensor.
    this.#timestepRank = unetInputs?.find((m) => m.name === 'timestep')?.shape?.length === 0 ? 0 : 1;
  }

  /**
   * Creates and checks the three sessions on `ep`. Throws `OnnxModelSignatureError` naming the
   * model file when a network has other inputs or outputs than an SD export.
   */
  static async create(ort: OrtApi, files: OnnxStableDiffusionFiles, ep: OnnxExecutionProvider, onSession?: (done: number, total: number) => void): Promise<OnnxDiffusionComponents> {
    const names = Object.keys(ONNX_NETWORK_FILES) as OnnxNetwork[];
    // One at a time: sessions of large models each hold a copy of the weights while they initialise.
    const sessions: Partial<Record<OnnxNetwork, CheckedSession>> = {};
    onSession?.(0, names.length);
    try {
      for (const name of names) {
        sessions[name] = await createCheckedSession(ort, files.networks[name], ONNX_NETWORK_FILES[name], ep, SIGNATURES[name]);
        onSession?.(Object.keys(sessions).length, names.length);
      }
    } catch (err) {
      await Promise.allSettled(Object.values(sessions).map((s) => s.session.release()));
      throw err;
    }
    return new OnnxDiffusionComponents(ort, sessions as Record<OnnxNetwork, CheckedSession>, files, ep);
  }

  resetTimings(): void {
    Object.assign(this.timings, { encodeMs: 0, unetMs: 0, decodeMs: 0 });
  }

  /** `last_hidden_state` [B, 77, D] of the text encoder for token ids [B, 77]. */
  async encodeText(inputIds: Int32Array, batch: number): Promise<HostTensor> {
    const start = performance.now();
    const length = inputIds.length / batch;
    const ids = this.#feed('textEncoder', 'input_ids', inputIds, [batch, length]);
    const out = await this.#run('textEncoder', { input_ids: ids }, 'last_hidden_state');
    this.timings.encodeMs += performance.now() - start;
    return out;
  }

  async unet(sample: HostTensor, timestep: number, conditioning: UNetConditioning<HostTensor>): Promise<HostTensor> {
    const start = performance.now();
    const encoderHiddenStates = conditioning.encoderHiddenStates;
    const type = this.#sessions.unet.inputTypes.timestep!;
    // Integer timestep inputs get the timestep truncated, as diffusers' ONNX pipeline does
    // (`np.array([t], dtype=int64)`); only linspace-spaced Euler-type schedules are fractional.
    const t = type === 'float32' ? Float32Array.of(timestep) : type === 'int64' ? BigInt64Array.of(BigInt(Math.trunc(timestep))) : Int32Array.of(Math.trunc(timestep));
    const out = await this.#run(
      'unet',
      {
        sample: new this.#ort.Tensor('float32', sample.data, sample.shape),
        timestep: new this.#ort.Tensor(type, t, this.#timestepRank === 0 ? [] : [1]),
        encoder_hidden_states: new this.#ort.Tensor('float32', encoderHiddenStates.data, encoderHiddenStates.shape),
      },
      'out_sample',
    );
    this.timings.unetMs += performance.now() - start;
    return out;
  }

  async decode(latents: HostTensor, decoder: DecoderKind): Promise<HostTensor> {
    // The executor refuses it by name before any work (`resolveJob`); a caller running the loop itself gets the same error.
    if (decoder !== 'vae') throw new RequestValidationError('decoder', decoder, `'vae' (${ONNX_DECODER_HINT})`);
    const start = performance.now();
    const scaled = Float32Array.from(latents.data, (v) => v / this.vaeScalingFactor);
    const out = await this.#run('vaeDecoder', { latent_sample: new this.#ort.Tensor('float32', scaled, latents.shape) }, 'sample');
    const data = out.data;
    // The decoder's output is in [-1, 1]; images are in [0, 1].
    for (let i = 0; i < data.length; i++) data[i] = data[i]! / 2 + 0.5;
    this.timings.decodeMs += performance.now() - start;
    return out;
  }

  sliceBatch(x: HostTensor, start: number, end: number): HostTensor {
    const row = x.data.length / x.shape[0]!;
    return { shape: [end - start, ...x.shape.slice(1)], data: x.data.slice(start * row, end * row) };
  }

  concatBatch(a: HostTensor, b: HostTensor): HostTensor {
    const data = new Float32Array(a.data.length + b.data.length);
    data.set(a.data);
    data.set(b.data, a.data.length);
    return { shape: [a.shape[0]! + b.shape[0]!, ...a.shape.slice(1)], data };
  }

  /** Releases the three sessions. */
  async release(): Promise<void> {
    await Promise.allSettled(Object.values(this.#sessions).map((s) => s.session.release()));
  }

  #feed(network: OnnxNetwork, input: string, ids: Int32Array, dims: number[]): OrtTensor {
    const type: OrtFeedType = this.#sessions[network].inputTypes[input]!;
    if (type === 'int64') return new this.#ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), dims);
    return new this.#ort.Tensor('int32', ids, dims);
  }

  async #run(network: OnnxNetwork, feeds: Record<string, OrtTensor>, output: string): Promise<HostTensor> {
    const results = await this.#sessions[network].session.run(feeds);
    const out = results[output];
    if (!out || !(out.data instanceof Float32Array)) {
      throw new OnnxModelSignatureError(ONNX_NETWORK_FILES[network], `output "${output}" is ${out ? out.type : 'missing'}; expected float32.`);
    }
    return { shape: [...out.dims], data: out.data };
  }
}

/** An ONNX Stable Diffusion model, loaded: its networks, tokenizer, scheduler config and model index. */
export interface OnnxStableDiffusion {
  components: OnnxDiffusionComponents;
  tokenizer: CLIPTokenizer;
  schedulerConfig: JsonObject;
  /** `model_index.json`, or null when the export has none. */
  modelIndex: JsonObject | null;
}

/** Options of {@link loadOnnxStableDiffusion}. */
export interface LoadOnnxOptions extends FetchFileOptions {
  /** Force an EP; left out, WebGPU where the browser has it, else wasm. */
  executionProvider?: OnnxExecutionProvider;
  /** After each session is created (the `compile` phase of a load): `done` of `total`. */
  onSession?: (done: number, total: number) => void;
}

/**
 * Reads an ONNX Stable Diffusion export from `source` and creates its sessions. Throws
 * `ExecutorUnavailableError` when onnxruntime-web cannot be loaded or the EP asked for cannot
 * run here, `OnnxModelFileError` when a file is missing, `OnnxModelSignatureError` when a
 * network is not an SD export.
 */
export async function loadOnnxStableDiffusion(source: ModelSource, options: LoadOnnxOptions = {}): Promise<OnnxStableDiffusion> {
  const ort = await loadOrt();
  const ep = await chooseExecutionProvider(options.executionProvider);
  const { executionProvider: _ep, onSession, ...fetchOptions } = options;
  const files = await readOnnxStableDiffusion(source, fetchOptions);
  const components = await OnnxDiffusionComponents.create(ort, files, ep, onSession);
  return { components, tokenizer: files.tokenizer, schedulerConfig: files.schedulerConfig, modelIndex: files.modelIndex };
}
