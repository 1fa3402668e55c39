import { h } from './dom.js';
import { formatBytes } from './models.js';

const LIMITS: Array<[keyof GPUSupportedLimits, string]> = [
  ['maxBufferSize', 'Max buffer'],
  ['maxStorageBufferBindingSize', 'Max storage binding'],
  ['maxComputeWorkgroupStorageSize', 'Workgroup storage'],
  ['maxComputeInvocationsPerWorkgroup', 'Invocations / workgroup'],
];

const BYTE_LIMITS = new Set<string>(['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize']);

/**
 * The device panel: adapter, the features our kernels use (`shader-f16`, `subgroups`),
 * the limits that bound model size, GPU memory in use and time to first image.
 */
export class DevicePanel {
  readonly #list: HTMLDListElement;
  readonly #memory = h('dd', {}, '—');
  readonly #firstImage = h('dd', {}, '—');

  constructor(list: HTMLDListElement) {
    this.#list = list;
  }

  async render(): Promise<void> {
    const rows: Array<[string, Node | string]> = [];
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    const adapter = gpu ? await gpu.requestAdapter().catch(() => null) : null;
    if (!adapter) {
      rows.push(['WebGPU', gpu ? 'no adapter' : 'not available in this browser']);
    } else {
      const info = adapter.info;
      const name = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' · ') || 'unknown adapter';
      rows.push(['Adapter', name]);
      rows.push(['shader-f16', flag(adapter.features.has('shader-f16'))]);
      rows.push(['subgroups', flag(adapter.features.has('subgroups'))]);
      for (const [key, label] of LIMITS) {
        const v = adapter.limits[key] as number;
        rows.push([label, BYTE_LIMITS.has(key) ? formatBytes(v) : String(v)]);
      }
    }
    rows.push(['Cross-origin isolated', flag(globalThis.crossOriginIsolated === true)]);
    this.#list.replaceChildren();
    for (const [label, value] of rows) this.#list.append(h('dt', {}, label), h('dd', {}, value));
    this.#list.append(h('dt', {}, 'GPU memory in use'), this.#memory, h('dt', {}, 'Time to first image'), this.#firstImage);
  }

  setMemory(liveBytes: number | null, peakBytes: number | null): void {
    this.#memory.textContent = liveBytes === null ? '— (not on WebGPU)' : `${formatBytes(liveBytes)} (peak ${formatBytes(peakBytes ?? liveBytes)})`;
  }

  setFirstImage(ms: number): void {
    this.#firstImage.textContent = `${Math.round(ms)} ms after page load`;
  }
}

function flag(on: boolean): HTMLElement {
  return h('span', { class: on ? 'yes' : 'no' }, on ? 'yes' : 'no');
}
