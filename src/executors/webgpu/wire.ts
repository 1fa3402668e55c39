import type { DiffusionConfig } from '../../engine/config.js';
import type { DiffusionOutput } from '../../engine/output.js';
import { readImageInput } from '../../engine/image-input.js';
import type { DiffusionRequest } from '../../engine/request.js';
import { ConfigValidationError, ExecutorUnavailableError } from '../../errors.js';
import type { ModelSpec, WireRequest, WireResult } from '../../worker/protocol.js';

/**
 * The model fields of the engine config, as an engine host loads them. `executor` names the
 * executor in the error a config without a model gets.
 */
export function modelSpecOf(config: DiffusionConfig, executor: string): ModelSpec {
  if (!config.modelNameOrPath) throw new ExecutorUnavailableError(`The ${executor} executor needs DiffusionConfig.modelNameOrPath (a Hub id, URL or local folder).`);
  const model = config.modelNameOrPath;
  return {
    ...(typeof model === 'string' ? { modelNameOrPath: model } : { modelNameOrPath: model.id, source: model }),
    dtype: config.dtype,
    variant: typeof config.variant === 'string' ? config.variant : null,
    taesd: typeof config.taesd === 'string' ? config.taesd : null,
    gpuLimits: oneOf(config, 'gpuLimits', ['adapter', 'default'] as const, 'adapter'),
    activations: oneOf(config, 'activations', ['auto', 'f32', 'f16'] as const, 'auto'),
  };
}

/**
 * The custom config field `worker`: where the engine host runs. Absent: a Web Worker in the
 * browser, in-process in Node; `true`: a Web Worker, or a `worker_threads` thread in Node;
 * `false`: in-process everywhere.
 */
export function workerOf(config: DiffusionConfig): boolean | undefined {
  const value = (config as unknown as Record<string, unknown>).worker;
  if (value === undefined || typeof value === 'boolean') return value;
  throw new ConfigValidationError('worker', value, 'true (a Web Worker; a worker_threads thread in Node) or false (in-process)');
}

/** A custom config field that takes one of `values`; absent gives `fallback`, anything else a `ConfigValidationError`. */
function oneOf<V extends string>(config: DiffusionConfig, field: string, values: readonly V[], fallback: V): V {
  const value = (config as unknown as Record<string, unknown>)[field];
  if (value === undefined) return fallback;
  if (values.includes(value as V)) return value as V;
  throw new ConfigValidationError(field, value, values.map((v) => `'${v}'`).join(' or '));
}

/**
 * A request without its signal and callback, ready to cross a worker boundary. A request
 * without a seed gets a random one here, so the output can report it. The init image is copied
 * into bytes of its own (see {@link wireTransferables}); an `ImageBitmap` is read here, which
 * throws `RequestValidationError` where it cannot be (Node).
 */
export function toWireRequest(r: DiffusionRequest, preview: boolean): WireRequest {
  return {
    requestId: r.requestId,
    prompt: r.prompt,
    negativePrompt: r.negativePrompt,
    seed: r.seed ?? Math.floor(Math.random() * 2 ** 31),
    numOutputsPerPrompt: r.numOutputsPerPrompt,
    returnTrajectoryLatents: r.returnTrajectoryLatents,
    ...(r.returnIntermediates ? { returnIntermediates: true } : {}),
    preview,
    ...(r.numInferenceSteps !== undefined ? { numInferenceSteps: r.numInferenceSteps } : {}),
    ...(r.guidanceScale !== undefined ? { guidanceScale: r.guidanceScale } : {}),
    ...(r.height !== undefined ? { height: r.height } : {}),
    ...(r.width !== undefined ? { width: r.width } : {}),
    ...(r.scheduler !== undefined ? { scheduler: r.scheduler } : {}),
    ...(r.eta !== undefined ? { eta: r.eta } : {}),
    ...(r.decoder !== undefined ? { decoder: r.decoder } : {}),
    ...(r.latents !== undefined ? { latents: r.latents } : {}),
    ...(r.image !== undefined ? { image: readImageInput(r.image) } : {}),
    ...(r.strength !== undefined ? { strength: r.strength } : {}),
  };
}

/** The buffers of a wire request to transfer rather than copy: the init image's own bytes. */
export function wireTransferables(w: WireRequest): ArrayBuffer[] {
  const buffer = w.image?.data.buffer;
  return buffer instanceof ArrayBuffer ? [buffer] : [];
}

/** The output of a request the host finished; `metrics` adds executor-side facts to the host's. */
export function toOutput(requestId: string, result: WireResult, metrics: Record<string, unknown> = {}): DiffusionOutput {
  return { requestId, error: null, errorName: null, ...result, metrics: { ...result.metrics, ...metrics } };
}
