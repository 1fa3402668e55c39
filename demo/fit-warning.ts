import { formatBytes, type DemoModel } from './models.js';

/** What the page knows of the device: the adapter's limits, and the memory the browser reports. */
export interface DeviceFacts {
  /** `null` without WebGPU. */
  limits: Pick<GPUSupportedLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize'> | null;
  /** `navigator.deviceMemory` in GB (Chromium; rounded, at most 8), or null where the browser does not say. */
  deviceMemoryGB: number | null;
}

/**
 * Why `model` may not fit this device, said before its download starts, or null. The model's
 * `needs` come from `omni-diffusion plan` (peak GPU memory of a generation at its default size,
 * and the binding limits that plan was made under). Browsers do not expose GPU memory, so the
 * memory check uses the device memory the browser reports: a GPU that shares system memory
 * (most laptops) cannot hold more than that. Integrated or not, the plan's limits are exact.
 */
export function fitWarning(model: DemoModel, device: DeviceFacts): string | null {
  const needs = model.needs;
  if (!needs || model.bundled) return null;
  if (device.limits) {
    for (const key of ['maxStorageBufferBindingSize', 'maxBufferSize'] as const) {
      const need = needs.limits?.[key];
      if (need !== undefined && device.limits[key] < need) {
        return `This GPU's ${key} is ${formatBytes(device.limits[key])}; ${model.label} needs ${formatBytes(need)}.`;
      }
    }
  }
  const memory = device.deviceMemoryGB === null ? null : device.deviceMemoryGB * 2 ** 30;
  if (memory !== null && needs.peakBytes > 0.75 * memory) {
    return `${model.label} needs about ${formatBytes(needs.peakBytes)} of GPU memory; this device reports ${device.deviceMemoryGB} GB of memory in all. The ${formatBytes(model.downloadBytes)} download may not load here${model.smaller ? `: try ${model.smaller}` : ''}.`;
  }
  return null;
}
