export { DiffusionEngine } from './engine/engine.js';
export { DiffusionConfig } from './engine/config.js';
export type { DiffusionConfigOptions, DTypeOption, HTTPApiKind, HTTPExecutorOptions } from './engine/config.js';
export { DiffusionRequest } from './engine/request.js';
export type { DecoderKind, DiffusionProgress, DiffusionRequestInit } from './engine/request.js';
export type { DiffusionMetrics, DiffusionOutput } from './engine/output.js';
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
