import { afterEach, describe, expect, it, vi } from 'vitest';
import { GpuRuntime } from '../../../src/webgpu/runtime.js';
import type { GpuTensor } from '../../../src/webgpu/tensor.js';
import { GpuOps } from '../../../src/webgpu/kernels/gpu-ops.js';
import { AttentionAuditOps } from '../../../src/plan/attention-audit.js';

function qkv(ops: GpuOps, batch: number, lq: number, lk: number, width: number): [GpuTensor, GpuTensor, GpuTensor] {
  return [ops.runtime.empty([batch, lq, width]), ops.runtime.empty([batch, lk, width]), ops.runtime.empty([batch, lk, width])];
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('AttentionAuditOps', () => {
  it('does not count the attention output, even when it is larger than the score matrix', () => {
    const ops = new AttentionAuditOps(GpuRuntime.plan());
    const [q, k, v] = qkv(ops, 2, 16, 4, 128);
    ops.attention(q, k, v, { heads: 2 });
    expect(ops.calls).toBe(1);
    expect(ops.largestScoreMatrixBytes).toBe(2 * 2 * 16 * 4 * 4);
    expect(ops.scoreMatrixBuffers).toBe(0);
  });

  it('counts a buffer of the full score matrix allocated inside an attention call', () => {
    vi.spyOn(GpuOps.prototype, 'attention').mockImplementation(function (this: GpuOps, q: GpuTensor, k: GpuTensor, _v: GpuTensor, o) {
      const scores = this.runtime.empty([q.shape[0]! * o.heads, q.shape[1]!, k.shape[1]!]);
      this.runtime.release(scores);
      return this.runtime.empty(q.shape);
    });
    const ops = new AttentionAuditOps(GpuRuntime.plan());
    const [q, k, v] = qkv(ops, 1, 64, 64, 32);
    ops.attention(q, k, v, { heads: 4 });
    expect(ops.scoreMatrixBuffers).toBe(1);
    expect(ops.largestScoreMatrixBytes).toBe(4 * 64 * 64 * 4);
  });

  it('plans the VAE mid-block attention (one head of 512 over 4096 tokens) under the default limits, with no score matrix', () => {
    const ops = new AttentionAuditOps(GpuRuntime.plan());
    expect(ops.runtime.limits.maxComputeWorkgroupStorageSize).toBe(16384);
    const [q, k, v] = qkv(ops, 1, 4096, 4096, 512);
    const out = ops.attention(q, k, v, { heads: 1 });
    expect(out.shape).toEqual([1, 4096, 512]);
    expect(ops.runtime.stats.dispatches).toBe(1);
    expect(ops.scoreMatrixBuffers).toBe(0);
    expect(ops.largestScoreMatrixBytes).toBe(4096 * 4096 * 4);
  });

  it('stops watching allocations once the call returns', () => {
    const ops = new AttentionAuditOps(GpuRuntime.plan());
    const [q, k, v] = qkv(ops, 1, 8, 8, 8);
    ops.attention(q, k, v, { heads: 1 });
    ops.runtime.empty([1 << 20]);
    expect(ops.scoreMatrixBuffers).toBe(0);
  });
});
