import { ExecutorUnavailableError } from '../../api/errors.js';
import { OnnxModelSignatureError } from './errors.js';

/** The onnxruntime-web execution providers this executor uses. */
export type OnnxExecutionProvider = 'webgpu' | 'wasm';

/** Element types of the tensors we feed. */
export type OrtFeedType = 'float32' | 'int32' | 'int64';

/** The part of an onnxruntime-web tensor we use. */
export interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** What a session says about one of its inputs (onnxruntime-web 1.22+; absent before). */
export interface OrtValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

/** The part of an onnxruntime-web `InferenceSession` we use. */
export interface OrtSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly OrtValueMetadata[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}

/**
 * The part of the onnxruntime-web module we use. Written out rather than imported, so that our
 * type declarations do not need onnxruntime-web installed.
 */
export interface OrtApi {
  readonly InferenceSession: {
    create(
      model: Uint8Array,
      options?: { executionProviders?: string[]; graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all'; logSeverityLevel?: 0 | 1 | 2 | 3 | 4 },
    ): Promise<OrtSession>;
  };
  readonly Tensor: new (type: OrtFeedType, data: Float32Array | Int32Array | BigInt64Array, dims: readonly number[]) => OrtTensor;
}

/**
 * Imports onnxruntime-web on first use, so that the library costs nothing until the `onnx`
 * executor is chosen. Throws `ExecutorUnavailableError` when the package cannot be loaded
 * (not installed, or the bundler left it out), letting the engine move on to a fallback.
 */
export async function loadOrt(): Promise<OrtApi> {
  try {
    const ort: OrtApi = await import('onnxruntime-web');
    return ort;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ExecutorUnavailableError(`The "onnx" executor needs the onnxruntime-web package, which could not be loaded: ${reason}`, { cause });
  }
}

function isNode(): boolean {
  return typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
}

/**
 * The execution provider to run on. Left to us, WebGPU when the browser gives a WebGPU
 * adapter, else wasm. Node always gets wasm: onnxruntime-web's Node build has no WebGPU EP,
 * even where a WebGPU implementation (Dawn) is installed on `navigator`. Asking for WebGPU
 * where it cannot run throws `ExecutorUnavailableError`.
 */
export async function chooseExecutionProvider(requested?: OnnxExecutionProvider): Promise<OnnxExecutionProvider> {
  if (requested === 'wasm') return 'wasm';
  const webgpu = !isNode() && (await hasWebGpuAdapter());
  if (requested === 'webgpu' && !webgpu) {
    throw new ExecutorUnavailableError(
      `onnx.executionProvider is "webgpu", but ${isNode() ? "onnxruntime-web's Node build has no WebGPU EP" : 'this browser gives no WebGPU adapter'}.`,
    );
  }
  return webgpu ? 'webgpu' : 'wasm';
}

async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

/** The inputs and outputs a network must have. */
export interface OnnxSignature {
  /** Input name → element types we can feed it, the first being the type assumed without metadata. */
  inputs: Record<string, readonly string[]>;
  /** Outputs we read. */
  outputs: readonly string[];
}

/** A created session whose inputs and outputs have been checked, with the element type of each input. */
export interface CheckedSession {
  session: OrtSession;
  inputTypes: Record<string, OrtFeedType>;
}

/**
 * Creates a session for one network and checks it against `signature`: every expected input
 * and output must be there, the model may have no other inputs (we would not feed them), and
 * each input must take one of the element types we can feed. Errors name `file` and the names
 * and types the model declares.
 */
export async function createCheckedSession(
  ort: OrtApi,
  model: Uint8Array,
  file: string,
  ep: OnnxExecutionProvider,
  signature: OnnxSignature,
): Promise<CheckedSession> {
  let session: OrtSession;
  try {
    // Errors only: the WebGPU EP warns at every session that it leaves shape ops on the CPU, as it should.
    session = await ort.InferenceSession.create(model, { executionProviders: [ep], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new OnnxModelSignatureError(file, `onnxruntime-web (${ep}) could not create a session: ${reason}`);
  }
  try {
    return { session, inputTypes: checkSignature(session, file, signature) };
  } catch (err) {
    await session.release().catch(() => undefined);
    throw err;
  }
}

function checkSignature(session: OrtSession, file: string, signature: OnnxSignature): Record<string, OrtFeedType> {
  const expectedInputs = Object.keys(signature.inputs);
  const found = `it declares inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]`;
  const missingIn = expectedInputs.filter((n) => !session.inputNames.includes(n));
  const extraIn = session.inputNames.filter((n) => !expectedInputs.includes(n));
  const missingOut = signature.outputs.filter((n) => !session.outputNames.includes(n));
  if (missingIn.length > 0 || extraIn.length > 0 || missingOut.length > 0) {
    throw new OnnxModelSignatureError(
      file,
      `expected inputs [${expectedInputs.join(', ')}] and outputs including [${signature.outputs.join(', ')}], but ${found}.`,
    );
  }
  const types: Record<string, OrtFeedType> = {};
  for (const name of expectedInputs) {
    const allowed = signature.inputs[name]!;
    const meta = session.inputMetadata?.find((m) => m.name === name);
    const type = meta?.isTensor && meta.type !== undefined ? meta.type : allowed[0]!;
    if (!allowed.includes(type)) {
      throw new OnnxModelSignatureError(file, `input "${name}" is ${type}; expected ${allowed.join(' or ')} (float16 exports are not supported).`);
    }
    types[name] = type as OrtFeedType;
  }
  return types;
}
