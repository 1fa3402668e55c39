import type { GpuTensor } from '../webgpu/tensor.js';
import { GpuOps } from '../webgpu/kernels/gpu-ops.js';
import type { AttentionOptions } from '../webgpu/kernels/ops.js';

/**
 * `GpuOps` that watch every attention call for a buffer as large as the call's full score
 * matrix (B·heads·Lq·Lk float32): the memory a naive attention needs, and what the flash-style
 * kernel must never allocate. Install it as the ops of a planned model.
 */
export class AttentionAuditOps extends GpuOps {
  /** Attention calls so far. */
  calls = 0;
  /** Allocations made inside an attention call at least as large as that call's score matrix. */
  scoreMatrixBuffers = 0;
  /** Bytes of the largest score matrix any call would have needed. */
  largestScoreMatrixBytes = 0;

  override attention(q: GpuTensor, k: GpuTensor, v: GpuTensor, options: AttentionOptions): GpuTensor {
    const [batch = 1, lq = 0] = q.shape;
    const lk = k.shape[1] ?? 0;
    const scoreBytes = batch * options.heads * lq * lk * 4;
    // The result itself may be as large as the scores when the head is wider than Lk (the mid block's 8x8 tokens).
    const outputBytes = q.size * 4;
    let outputSeen = false;
    this.calls++;
    this.largestScoreMatrixBytes = Math.max(this.largestScoreMatrixBytes, scoreBytes);
    const pool = this.runtime.pool;
    pool.onAllocate((r) => {
      if (!outputSeen && r.requested === outputBytes) outputSeen = true;
      else if (r.requested >= scoreBytes) this.scoreMatrixBuffers++;
    });
    try {
      return super.attention(q, k, v, options);
    } finally {
      pool.onAllocate(null);
    }
  }
}
