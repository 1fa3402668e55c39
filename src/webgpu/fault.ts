/**
 * Failures the runtime can raise on purpose in the middle of recorded work, each through the
 * same code path as the real thing, so that recovery is tested end to end (through the engine,
 * a server and a worker), not only in unit tests:
 *
 * - `shape`: a `TensorShapeError` from `dispatch`, as a tensor over a binding limit raises.
 * - `validation`: an invalid command is recorded; WebGPU reports it and the runtime throws
 *   `GpuValidationError` at its next check.
 * - `device-lost`: the device is destroyed, as a driver reset would; `GpuDeviceLostError`.
 * - `host`: a plain `Error` from host code mid-recording (a bug anywhere in a model).
 */
export type GpuFaultKind = 'shape' | 'validation' | 'device-lost' | 'host';

/** A fault armed with `GpuRuntime.injectFault`: raised once, at the `afterDispatches`-th dispatch from now. */
export interface GpuFault {
  kind: GpuFaultKind;
  /** Dispatches to let through first (default 0: the next dispatch faults). */
  afterDispatches?: number;
}

export const GPU_FAULT_KINDS: readonly GpuFaultKind[] = ['shape', 'validation', 'device-lost', 'host'];
