import { describe, expect, it } from 'vitest';
import { isWebGpuUnavailable } from '../../../src/cli/webgpu-hint.js';
import { ExecutorUnavailableError } from '../../../src/api/errors.js';

describe('the lavapipe install hint', () => {
  it('follows an error about a missing WebGPU adapter', () => {
    expect(isWebGpuUnavailable(new ExecutorUnavailableError('WebGPU has no adapter in this Node process.'))).toBe(true);
  });

  it('does not follow a missing webgpu package (its message says what to install) or other errors', () => {
    expect(isWebGpuUnavailable(new ExecutorUnavailableError('WebGPU in Node needs the optional package "webgpu". Run `npm install webgpu`, or use another executor (http, onnx).'))).toBe(false);
    expect(isWebGpuUnavailable(new Error('WebGPU has no adapter'))).toBe(false);
  });
});
