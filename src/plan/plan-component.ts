import { TensorShapeError } from '../webgpu/errors.js';
import type { GpuTensor } from '../webgpu/tensor.js';
import type { AttentionAuditOps } from './attention-audit.js';
import { DeviceLimitError } from './errors.js';
import { limitViolation } from './limit-violation.js';
import { SyntheticStateDict, type GeneratedWeight } from './synthetic-weights.js';

export type ComponentName = 'text_encoder' | 'text_encoder_2' | 'unet' | 'vae_decoder' | 'taesd_decoder' | 'vae_encoder';

/** Device memory and work of one component, planned on its own plan-mode runtime. */
export interface ComponentPlan {
  readonly name: ComponentName;
  /** The input planned: token ids [B, L], latents [B, C, h, w] or an image [1, C, H, W]. */
  readonly input: readonly number[];
  readonly parameters: number;
  /** Every weight the component took, by key and shape (what its checkpoint must hold). */
  readonly weights: readonly GeneratedWeight[];
  /** Pool bytes holding the weights (buffers round up to their size bucket). */
  readonly weightsBytes: number;
  /** Peak pool bytes during a call beyond the weights: inputs, activations and output. */
  readonly peakActivationBytes: number;
  /** Largest single storage binding of any dispatch, weights included. */
  readonly largestBindingBytes: number;
  /** Largest single buffer allocated. */
  readonly maxAllocationBytes: number;
  /** Pool bytes held after the calls without trimming (weights plus idle buffers kept for reuse). */
  readonly reservedBytes: number;
  /** Dispatches of each call. */
  readonly dispatchesPerCall: readonly number[];
  readonly attentionCalls: number;
  /** Bytes of the largest attention score matrix (B·heads·Lq·Lk float32) a naive attention would store. */
  readonly largestScoreMatrixBytes: number;
  /** Buffers at least as large as their attention's score matrix, allocated inside the attention call. */
  readonly scoreMatrixBuffers: number;
  /** Pool bytes still live after every call's inputs and outputs were released (beyond the weights). */
  readonly leakedBytes: number;
  /**
   * Why the component cannot run under these limits (the tensor or kernel need, its bytes and the
   * limit), or null. When set, the byte and dispatch counts are those reached before the failure.
   */
  readonly error: DeviceLimitError | null;
}

/** A loaded component: how to call it once, how many times to, and how to free it. */
export interface PlannedModel {
  calls: number;
  call(): void;
  release(): void;
}

/** A model planned with `calls` calls on a zero input of `shape`. */
export function callOn(ops: AttentionAuditOps, shape: readonly number[], model: { release(): void }, forward: (x: GpuTensor) => GpuTensor, calls = 1): PlannedModel {
  return {
    calls,
    call: () => {
      const x = planInput(ops, shape);
      ops.release(forward(x));
      ops.release(x);
    },
    release: () => model.release(),
  };
}

/**
 * Builds one component on `ops` (a fresh plan-mode runtime) from generated weights and calls it,
 * measuring weights, activation peak, bindings and dispatches. A device limit the component runs
 * into is returned as `error` (a `DeviceLimitError` naming `at`); any other error is thrown.
 */
export function planComponent(
  name: ComponentName,
  input: readonly number[],
  at: string,
  ops: AttentionAuditOps,
  file: string,
  build: (ops: AttentionAuditOps, dict: SyntheticStateDict) => PlannedModel,
): ComponentPlan {
  const rt = ops.runtime;
  const dict = new SyntheticStateDict(`${file} (generated weights)`);
  const dispatchesPerCall: number[] = [];
  let weightsBytes = 0;
  let peakActivationBytes = 0;
  let leakedBytes = 0;
  let error: DeviceLimitError | null = null;
  let model: PlannedModel | null = null;
  try {
    model = build(ops, dict);
    weightsBytes = rt.pool.stats.liveBytes;
    for (let i = 0; i < model.calls; i++) {
      rt.resetPeak();
      const before = rt.stats.dispatches;
      model.call();
      rt.flush();
      dispatchesPerCall.push(rt.stats.dispatches - before);
      peakActivationBytes = Math.max(peakActivationBytes, rt.pool.stats.peakBytes - weightsBytes);
    }
    leakedBytes = rt.pool.stats.liveBytes - weightsBytes;
  } catch (err) {
    const violation = err instanceof TensorShapeError ? limitViolation(err, rt.limits) : null;
    if (!violation) throw err;
    error = new DeviceLimitError({ component: name, at, ...violation }, { cause: err });
    // A failed load has released what it uploaded; its peak is the weights it got through.
    if (model) peakActivationBytes = Math.max(peakActivationBytes, rt.pool.stats.peakBytes - weightsBytes);
    else weightsBytes = rt.pool.stats.peakBytes;
  }
  const reservedBytes = rt.pool.stats.reservedBytes;
  model?.release();
  return {
    name,
    input,
    parameters: dict.parameters,
    weights: dict.generated,
    weightsBytes,
    peakActivationBytes,
    largestBindingBytes: rt.stats.largestBindingBytes,
    maxAllocationBytes: rt.pool.stats.largestAllocation,
    reservedBytes,
    dispatchesPerCall,
    attentionCalls: ops.calls,
    largestScoreMatrixBytes: ops.largestScoreMatrixBytes,
    scoreMatrixBuffers: ops.scoreMatrixBuffers,
    leakedBytes,
    error,
  };
}

/**
 * An input tensor of `shape`. Plan mode keeps no data, so it is allocated without any host
 * array (an 8192² image would need gigabytes of zeros); at the start of a call, when every free
 * buffer is past a submit, this accounts exactly as an upload.
 */
export function planInput(ops: AttentionAuditOps, shape: readonly number[]): GpuTensor {
  return ops.runtime.empty(shape);
}
