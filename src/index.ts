export { DiffusionEngine } from './engine/engine.js';
export { DiffusionConfig } from './engine/config.js';
export type { DiffusionConfigOptions, DTypeOption, HTTPApiKind, HTTPExecutorOptions } from './engine/config.js';
export { DEFAULT_STRENGTH, DiffusionRequest } from './engine/request.js';
export type { DecoderKind, DiffusionProgress, DiffusionRequestInit } from './engine/request.js';
export type { DiffusionImageInput, RgbaPixels } from './engine/image-input.js';
export type { DiffusionIntermediates, DiffusionMetrics, DiffusionOutput } from './engine/output.js';
export { failedOutput } from './engine/output.js';
export type { DiffusionImage } from './engine/image.js';
export { DiffusionExecutor } from './executors/executor.js';
export type { CollectiveRpcOptions, DiffusionExecutorClass } from './executors/executor.js';
export type { ExecutorSpec } from './executors/spec.js';
export { listExecutors, registerExecutor, resolveExecutor } from './executors/registry.js';
export type { ExecutorLoader, ResolvedExecutor } from './executors/registry.js';
export {
  ExternalDiffusionExecutor,
  HTTPDiffusionExecutor,
  MultiProcDiffusionExecutor,
  OnnxDiffusionExecutor,
  WebGPUDiffusionExecutor,
} from './executors/builtins.js';
export * from './errors.js';
export { PngDecodeError, PngTooLargeError, ResponseTooLargeError, UnexpectedResponseError } from './executors/http/errors.js';
export type { SizeLimitUnit } from './executors/http/errors.js';
export { DeviceLimitError, PlanError } from './plan/errors.js';
export type { DeviceLimitDetails, DeviceLimitName } from './plan/errors.js';
export * from './models/tokenizer/index.js';
export * from './io/errors.js';
export { parseLenientJson } from './io/json.js';
export type { JsonValue } from './io/json.js';
export { parseSafetensorsHeader, readSafetensors, streamSafetensors, MAX_HEADER_BYTES } from './io/safetensors.js';
export type { SafetensorsEntry, SafetensorsHeader, SafetensorsTensor } from './io/safetensors.js';
export type { ByteProgress, ByteSource, ProgressCallback } from './io/byte-source.js';
export type { FetchFileOptions, ModelSource } from './io/sources/model-source.js';
export { UrlSource } from './io/sources/url-source.js';
export { HubSource } from './io/sources/hub-source.js';
export type { HubSourceOptions } from './io/sources/hub-source.js';
export { LocalFolderSource } from './io/sources/local-folder-source.js';
export { BlobSource } from './io/sources/blob-source.js';
export { RecipeSource } from './io/synthetic/recipe-source.js';
export type { RecipeSourceOptions, RecipeWeightsFile } from './io/synthetic/recipe-source.js';
export { RecipeSafetensorsFile } from './io/synthetic/recipe-file.js';
export { RecipeTensor, SYNTHETIC_RECIPE } from './io/synthetic/recipe.js';
export type { RecipeDType, RecipeRule, RecipeTensorSpec } from './io/synthetic/recipe.js';
export { parseRecipeTensorList, readRecipeTensorList } from './io/synthetic/tensor-list.js';
export { resolveModelSource } from './io/sources/resolve-source.js';
export { DiffusersRepo } from './io/diffusers-repo.js';
export { CachedModelSource, defaultModelCache } from './io/cache.js';
export type { ModelCache } from './io/cache.js';
export { NodeFolderCache } from './io/cache-node.js';
export { CacheStorageCache } from './io/cache-storage.js';
export { StateDict } from './io/state-dict.js';
