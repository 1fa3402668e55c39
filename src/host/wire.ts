import type { DiffusionOutput } from '../api/output.js';
import type { DiffusionRequest } from '../api/request.js';
import { jobRequestOf } from '../pipelines/resolve-job.js';
import type { WireRequest, WireResult } from './protocol.js';

/**
 * A request ready to cross a worker boundary: its `toJSON()` data, with the init image copied
 * into bytes of its own (see {@link wireTransferables}; `jobRequestOf`). Defaults and a missing
 * seed are filled in by the host (`resolveJob`), where the model's defaults are known.
 */
export function toWireRequest(r: DiffusionRequest, preview: boolean): WireRequest {
  return { ...jobRequestOf(r), preview };
}

/** The buffers of a wire request to transfer rather than copy: the init image's own bytes. */
export function wireTransferables(w: WireRequest): ArrayBuffer[] {
  const buffer = w.image?.data.buffer;
  return buffer instanceof ArrayBuffer ? [buffer] : [];
}

/** The output of a request the host finished; `metrics` adds executor-side facts to the host's. */
export function toOutput(requestId: string, result: WireResult, metrics: Record<string, unknown> = {}): DiffusionOutput {
  return { requestId, error: null, errorName: null, ...result, metrics: { ...result.metrics, ...metrics } };
}
