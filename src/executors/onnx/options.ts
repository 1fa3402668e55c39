import { ConfigValidationError } from '../../api/errors.js';
import { optionBlock, warnUnknownKeys } from '../options.js';
import type { OnnxExecutionProvider } from './session.js';

/** Settings of the `onnx` executor, given as the config field `onnx`. */
export interface OnnxExecutorOptions {
  /** Force an execution provider; left out, WebGPU where the browser has an adapter, else wasm. */
  executionProvider?: OnnxExecutionProvider;
}

/** The config fields the onnx executor reads beyond `DiffusionConfig`'s own. */
export const ONNX_OPTION_KEYS: readonly string[] = ['onnx'];

const KNOWN = new Set<string>(['executionProvider'] satisfies Array<keyof OnnxExecutorOptions>);

/** The `onnx` block of the config, validated; unknown keys in it are warned about once. */
export function readOnnxOptions(value: unknown): OnnxExecutorOptions {
  const block = optionBlock('onnx', value, '{ executionProvider: "wasm" }');
  warnUnknownKeys('DiffusionConfig.onnx', block, KNOWN, 'the onnx executor');
  const ep = block.executionProvider;
  if (ep !== undefined && ep !== 'webgpu' && ep !== 'wasm') throw new ConfigValidationError('onnx.executionProvider', ep, "'webgpu' or 'wasm'");
  return ep === undefined ? {} : { executionProvider: ep };
}
