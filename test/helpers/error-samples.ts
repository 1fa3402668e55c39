import { registeredErrorCodes, type ErrorClass } from '../../src/api/error-registry.js';
import {
  AbortError,
  ConfigValidationError,
  EngineClosedError,
  ExecutorDeadError,
  ExecutorResolutionError,
  ExecutorUnavailableError,
  HTTPExecutorError,
  OmniDiffusionError,
  RequestValidationError,
  TimeoutError,
} from '../../src/api/errors.js';
import { ElementAttributeError } from '../../src/element/errors.js';
import { PngDecodeError, PngTooLargeError, ResponseTooLargeError, UnexpectedResponseError } from '../../src/executors/http/errors.js';
import { OnnxModelFileError, OnnxModelSignatureError } from '../../src/executors/onnx/errors.js';
import { GpuDeviceLostError, GpuValidationError, ShaderPreprocessError, TensorReleasedError, TensorShapeError } from '../../src/webgpu/errors.js';
import {
  CacheError,
  CacheQuotaError,
  CorruptDownloadError,
  StorageQuotaError,
  DiffusersRepoError,
  FileReadError,
  FileTooLargeError,
  FixtureError,
  JsonParseError,
  MissingWeightError,
  ModelFileNotFoundError,
  ModelSourceError,
  NotRegularFileError,
  QuantizedWeightError,
  SafetensorsError,
  StateDictError,
  StateDictMismatchError,
  WeightShapeError,
} from '../../src/io/errors.js';
import { ModelConfigError, ModelInputError } from '../../src/models/errors.js';
import { TokenizerFileError, TokenizerInputError } from '../../src/models/tokenizer/errors.js';
import { EmbeddingFileError, EmbeddingPickleError } from '../../src/models/textual-inversion/errors.js';
import { DeviceLimitError, PlanError } from '../../src/plan/errors.js';
import { SchedulerConfigError, SchedulerStateError, UnknownSchedulerError } from '../../src/schedulers/errors.js';
import { HttpError, ImageServerOptionError } from '../../src/server/errors.js';
import { SharedHostModelMismatchError } from '../../src/host/errors.js';
import { CliUsageError } from '../../src/cli/args.js';
import { CheckpointFormatError } from '../../src/io/single-file/errors.js';

/** A `DeviceLimitError` as the webgpu executor raises it for a too-large request, with a cause. */
export function deviceLimitSample(): DeviceLimitError {
  return new DeviceLimitError(
    {
      component: 'unet',
      at: '8192×8192, input [2,3,8192,8192]',
      tensor: 'tensor [2,320,1024,1024] f32',
      bytes: 2684354560,
      limit: 'maxStorageBufferBindingSize',
      limitValue: 134217728,
      advice: 'Try a smaller size (1024×1024 fits).',
      detail: 'cannot split further',
    },
    { cause: new TensorShapeError('conv2d: output does not fit one binding') },
  );
}

/** One instance of every error class the library registers, with the class it must come back as. */
export function errorSamples(): Array<[ErrorClass, Error]> {
  return [
    [OmniDiffusionError, new OmniDiffusionError('generic')],
    [ExecutorUnavailableError, new ExecutorUnavailableError('no adapter', { cause: new Error('navigator.gpu is undefined') })],
    [ExecutorResolutionError, new ExecutorResolutionError('./nowhere.js', 'not found')],
    [ConfigValidationError, new ConfigValidationError('dtype', 'f64', "'f32' or 'f16'")],
    [RequestValidationError, new RequestValidationError('seed', -1, 'an integer >= 0')],
    [EngineClosedError, new EngineClosedError('closed')],
    [ExecutorDeadError, new ExecutorDeadError('dead')],
    [AbortError, new AbortError('aborted')],
    [TimeoutError, new TimeoutError('too slow')],
    [HTTPExecutorError, new HTTPExecutorError('server said no', 503, 'busy')],
    [HttpError, new HttpError(422, [{ type: 'int_parsing', loc: ['body', 'seed'], msg: 'bad seed', input: 'x' }], { Allow: 'POST' })],
    [ImageServerOptionError, new ImageServerOptionError('port', 'must be an integer')],
    [ElementAttributeError, new ElementAttributeError('steps', 'many', 'an integer')],
    [SchedulerConfigError, new SchedulerConfigError('DDIMScheduler', 'eta', 2, 'a number in [0, 1]')],
    [SchedulerStateError, new SchedulerStateError('step before setTimesteps')],
    [UnknownSchedulerError, new UnknownSchedulerError('Nope', ['DDIMScheduler', 'EulerDiscreteScheduler'])],
    [PlanError, new PlanError('no config')],
    [DeviceLimitError, deviceLimitSample()],
    [SharedHostModelMismatchError, new SharedHostModelMismatchError('other model')],
    [UnexpectedResponseError, new UnexpectedResponseError('no data')],
    [PngDecodeError, new PngDecodeError('bad chunk')],
    [PngTooLargeError, new PngTooLargeError('too many pixels', 1 << 24, 'pixels')],
    [ResponseTooLargeError, new ResponseTooLargeError('body too big', 200, 1 << 20, 'bytes')],
    [OnnxModelFileError, new OnnxModelFileError('unet/model.onnx', '/models/x', 'missing')],
    [OnnxModelSignatureError, new OnnxModelSignatureError('unet/model.onnx', 'no input "sample"')],
    [TokenizerFileError, new TokenizerFileError('tokenizer/vocab.json', 'not an object')],
    [TokenizerInputError, new TokenizerInputError('maxLength must be >= 2')],
    [EmbeddingFileError, new EmbeddingFileError('my-style.safetensors', 'emb_params', 'hidden size 768, expected 1024')],
    [EmbeddingPickleError, new EmbeddingPickleError('my-style.pt', '".pt" files are Python pickles')],
    [ModelConfigError, new ModelConfigError('unet/config.json', 'down_block_types[0]', 'Foo', 'a known block')],
    [ModelInputError, new ModelInputError('UNet2DConditionModel', 'wrong channels')],
    [GpuDeviceLostError, new GpuDeviceLostError('destroyed', 'gone')],
    [GpuValidationError, new GpuValidationError('invalid bind group')],
    [TensorReleasedError, new TensorReleasedError('released')],
    [TensorShapeError, new TensorShapeError('shape mismatch')],
    [ShaderPreprocessError, new ShaderPreprocessError('unbalanced #if')],
    [SafetensorsError, new SafetensorsError('model.safetensors', 'conv.weight', 'truncated')],
    [JsonParseError, new JsonParseError('config.json', 3, 7, 'unexpected token')],
    [FileReadError, new FileReadError('a.bin', 'short read')],
    [NotRegularFileError, new NotRegularFileError('/dev/zero', 'character device')],
    [FileTooLargeError, new FileTooLargeError('vocab.json', null, 1 << 20)],
    [ModelSourceError, new ModelSourceError('unet/config.json', 'https://example.org/m', 'HTTP 500', 500)],
    [ModelFileNotFoundError, new ModelFileNotFoundError('unet/config.json', 'https://example.org/m', 'HTTP 404', 404)],
    [CacheError, new CacheError('key', 'write failed')],
    [CacheQuotaError, new CacheQuotaError('key', 'quota exceeded')],
    [StorageQuotaError, new StorageQuotaError('key', 1000, 10, 'disk full')],
    [CorruptDownloadError, new CorruptDownloadError('unet/w.safetensors', 'http://127.0.0.1/m/', { size: 10, sha256: null }, { size: 9, sha256: null })],
    [StateDictError, new StateDictError('w.safetensors', 'bad')],
    [MissingWeightError, new MissingWeightError('w.safetensors', 'conv.bias', 'missing')],
    [WeightShapeError, new WeightShapeError('w.safetensors', 'conv.weight', [4, 3], [3, 4], 'shape')],
    [StateDictMismatchError, new StateDictMismatchError('w.safetensors', ['extra.weight'], ['conv.weight'], 'mismatch')],
    [QuantizedWeightError, new QuantizedWeightError('w.safetensors', 'conv.weight_scale', 'shape', '[4, 1]', '[4, 2]')],
    [FixtureError, new FixtureError('case.json', 'inputs', 'not an array')],
    [DiffusersRepoError, new DiffusersRepoError('model_index.json', 'no unet')],
    [CliUsageError, new CliUsageError('unknown flag --nope')],
    [CheckpointFormatError, new CheckpointFormatError('model.ckpt', 'pickle', 'a Python pickle')],
  ];
}

/** Registered codes with no sample above: a new class must be added to `errorSamples`. */
export function codesWithoutSample(): string[] {
  const sampled = new Set(errorSamples().map(([, err]) => (err as { code?: string }).code));
  return [...registeredErrorCodes().keys()].filter((code) => !sampled.has(code));
}
