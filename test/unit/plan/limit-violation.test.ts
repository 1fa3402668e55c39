import { describe, expect, it } from 'vitest';
import { TensorShapeError } from '../../../src/webgpu/errors.js';
import { defineKernel } from '../../../src/webgpu/kernel.js';
import { DEFAULT_LIMITS } from '../../../src/webgpu/limits.js';
import { GpuRuntime } from '../../../src/webgpu/runtime.js';
import { attentionTiling } from '../../../src/webgpu/kernels/attention.js';
import { limitViolation } from '../../../src/plan/limit-violation.js';

/** The TensorShapeError `fn` throws: the runtime's and kernels' own messages, not hand-written ones. */
function shapeError(fn: () => unknown): TensorShapeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TensorShapeError) return err;
    throw err;
  }
  return expect.fail('expected a TensorShapeError');
}

const READ = defineKernel({ family: 'test', entryPoint: 'main', source: '', storage: ['read'] });

describe('limitViolation reads which limit a runtime error is about', () => {
  it('a tensor whose single plane is over one binding: the tensor, its total bytes, maxStorageBufferBindingSize', () => {
    const rt = GpuRuntime.plan();
    const err = shapeError(() => rt.empty([1, 1, 8192, 8192]));
    expect(limitViolation(err, rt.limits)).toEqual({
      tensor: 'tensor [1,1,8192,8192] f32',
      bytes: 8192 * 8192 * 4,
      limit: 'maxStorageBufferBindingSize',
      limitValue: DEFAULT_LIMITS.maxStorageBufferBindingSize,
      detail: err.message,
    });
  });

  it('a chunked tensor bound whole by a kernel (the UNet feed-forward before it was chunked)', () => {
    const rt = GpuRuntime.plan();
    const big = rt.empty([4, 4096, 2560]);
    expect(big.chunks.length).toBeGreaterThan(1);
    const err = shapeError(() => rt.dispatch(READ, { bindings: [big], workgroups: 1 }));
    expect(limitViolation(err, rt.limits)).toMatchObject({ tensor: 'tensor [4,4096,2560] f32', bytes: 167_772_160, limit: 'maxStorageBufferBindingSize', limitValue: 134_217_728 });
  });

  it('f16 tensors count two bytes per element', () => {
    const rt = GpuRuntime.plan({ limits: { maxStorageBufferBindingSize: 1024 } });
    const err = shapeError(() => rt.empty([1, 1, 32, 32], 'f16'));
    expect(limitViolation(err, rt.limits)).toMatchObject({ tensor: 'tensor [1,1,32,32] f16', bytes: 2048, limitValue: 1024 });
  });

  it('a kernel needing more workgroup memory than the device has: the need in bytes', () => {
    const limits = { ...DEFAULT_LIMITS, maxComputeWorkgroupStorageSize: 1024 };
    const err = shapeError(() => attentionTiling(512, 4096, limits));
    const v = limitViolation(err, limits);
    expect(v).toMatchObject({ limit: 'maxComputeWorkgroupStorageSize', limitValue: 1024, tensor: 'attention: head size 512' });
    expect(v!.bytes).toBeGreaterThan(1024);
    expect(err.message).toContain(`${v!.bytes} bytes`);
  });

  it('a workgroup grid over the per-dimension limit: no bytes', () => {
    const rt = GpuRuntime.plan();
    const err = shapeError(() => rt.dispatch(READ, { bindings: [rt.empty([4])], workgroups: [70_000, 1, 1] }));
    expect(limitViolation(err, rt.limits)).toMatchObject({ limit: 'maxComputeWorkgroupsPerDimension', limitValue: 65_535, bytes: null });
  });

  it('a kernel refusing a tensor "over one binding" without naming the limit: the largest operand it names', () => {
    const err = new TensorShapeError('conv2d: x [2,16,16,16] f32, weight [1280,1280,3,3] f16: weights over one binding are not supported');
    expect(limitViolation(err, DEFAULT_LIMITS)).toMatchObject({ tensor: 'tensor [1280,1280,3,3] f16', bytes: 29_491_200, limit: 'maxStorageBufferBindingSize', limitValue: DEFAULT_LIMITS.maxStorageBufferBindingSize });
    const untyped = new TensorShapeError('matmul: b [8,1024,4096] is larger than one storage binding; only a 2-D transB operand (a weight) can be split');
    expect(limitViolation(untyped, DEFAULT_LIMITS)).toMatchObject({ tensor: 'matmul: b [8,1024,4096]', bytes: null, limit: 'maxStorageBufferBindingSize' });
  });

  it('is null for a shape error that is not about a limit (a bug, to be thrown)', () => {
    const rt = GpuRuntime.plan();
    const err = shapeError(() => rt.dispatch(READ, { bindings: [], workgroups: 1 }));
    expect(limitViolation(err, rt.limits)).toBeNull();
    expect(limitViolation(new TensorShapeError('matmul: a [2,3] · b [4,5]: inner dims or batch sizes differ'), DEFAULT_LIMITS)).toBeNull();
  });
});
