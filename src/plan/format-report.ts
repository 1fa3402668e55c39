import type { PlanReport, PlannedComponent } from './plan-model.js';

/**
 * A plan as `key=value` lines: first the four headline numbers (`weights_bytes`,
 * `peak_activation_bytes`, `largest_binding_bytes`, `dispatches_per_unet`), then the totals and
 * what was planned, then `<component>.<key>` lines. All sizes are bytes. A component that does
 * not fit the limits gets, instead of its activation and dispatch numbers, the `error` line and
 * what does not fit: `limit`, `limit_value`, `tensor`, `tensor_bytes` and the runtime's `detail`.
 */
export function formatPlanReport(r: PlanReport): string[] {
  const lines: Array<[string, string | number | boolean]> = [
    ['weights_bytes', r.weightsBytes],
    ['peak_activation_bytes', r.peakActivationBytes],
    ['largest_binding_bytes', r.largestBindingBytes],
    ['dispatches_per_unet', r.dispatchesPerUnet],
    ['peak_bytes', r.peakBytes],
    ...(Object.entries(r.weightBytesByDtype).map(([dtype, bytes]) => [`weights_bytes.${dtype}`, bytes]) as Array<[string, number]>),
    ['max_allocation_bytes', r.maxAllocationBytes],
    ['score_matrix_buffers', r.scoreMatrixBuffers],
    ['within_limits', r.withinLimits],
    ['width', r.width],
    ['height', r.height],
    ['batch', r.batch],
    ['images', r.images],
    ['decoder', r.decoder],
    ['dtype', r.dtype],
    ['activations', r.activations],
    ['shader_f16', r.shaderF16],
    ['img2img', r.img2img],
    ['max_storage_buffer_binding_size', r.limits.maxStorageBufferBindingSize],
    ['max_buffer_size', r.limits.maxBufferSize],
    ['max_compute_workgroup_storage_size', r.limits.maxComputeWorkgroupStorageSize],
  ];
  for (const c of r.components) lines.push(...componentLines(c));
  return lines.map(([k, v]) => `${k}=${v}`);
}

function componentLines(c: PlannedComponent): Array<[string, string | number | boolean]> {
  const p = (key: string, value: string | number | boolean): [string, string | number | boolean] => [`${c.name}.${key}`, value];
  const head = [p('input', `[${c.input.join(',')}]`), p('parameters', c.parameters), p('weights_bytes', c.weightsBytes)];
  const e = c.error;
  if (e !== null) {
    return [
      ...head,
      p('error', `${e.name}: ${e.message}`.replace(/\s*\n\s*/g, ' ')),
      p('limit', e.limit),
      p('limit_value', e.limitValue),
      p('tensor', e.tensor),
      p('tensor_bytes', e.bytes ?? 'unknown'),
      p('detail', e.detail.replace(/\s*\n\s*/g, ' ')),
    ];
  }
  return [
    ...head,
    p('peak_bytes', c.peakBytes),
    p('peak_activation_bytes', c.peakActivationBytes),
    p('largest_binding_bytes', c.largestBindingBytes),
    p('max_allocation_bytes', c.maxAllocationBytes),
    p('reserved_bytes', c.reservedBytes),
    p('dispatches', c.dispatchesPerCall.join(',')),
    p('attention_calls', c.attentionCalls),
    p('largest_score_matrix_bytes', c.largestScoreMatrixBytes),
    p('score_matrix_buffers', c.scoreMatrixBuffers),
    p('leaked_bytes', c.leakedBytes),
  ];
}
