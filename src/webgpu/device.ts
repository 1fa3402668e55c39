import { ExecutorUnavailableError } from '../api/errors.js';
import { DEFAULT_LIMITS, deviceCapabilities, readLimits, type GpuCapabilities, type GpuLimits } from './limits.js';
import { GpuRuntime } from './runtime.js';

/** What a caller needs from a device. Only these are requested: a device asks for no more than it uses. */
export interface GpuRequirements {
  /** Features the device must have (missing → `ExecutorUnavailableError`). */
  requiredFeatures?: readonly GPUFeatureName[];
  /** Features to enable when the adapter has them (default `shader-f16`, `subgroups`). */
  optionalFeatures?: readonly GPUFeatureName[];
  /** Minimum limits; requested only when above the defaults, and checked against the adapter. */
  minLimits?: Partial<GpuLimits>;
  /**
   * Limits to request at the adapter's own value where it beats both the default and
   * `minLimits` (e.g. `SIZE_LIMITS`, which cut chunking). Never fails: an adapter at the
   * defaults just gives the defaults.
   */
  adapterLimits?: readonly (keyof GpuLimits)[];
  powerPreference?: GPUPowerPreference;
}

/** A device with what it was granted. */
export interface AcquiredDevice {
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly capabilities: GpuCapabilities;
  /** The `GPU` is Dawn's Node binding, which completes promises by polling on the JS thread. */
  readonly hostPolling: boolean;
}

const NODE_HINT =
  'In Node, WebGPU comes from the "webgpu" package (Dawn) and needs a Vulkan driver; on a machine without a GPU install the software one: apt-get install -t bookworm-backports mesa-vulkan-drivers';

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * The `GPU` object: `navigator.gpu` in browsers and workers; in Node, Dawn from the `webgpu`
 * package, imported dynamically so browser bundles never pull it in.
 */
export async function getGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  // One Dawn instance per process: each one loads the Vulkan driver again.
  nodeGpu ??= loadDawn().catch((err: unknown) => {
    nodeGpu = null;
    throw err;
  });
  return nodeGpu;
}

let nodeGpu: Promise<GPU> | null = null;
/** The `GPU` objects made by Dawn's Node binding. */
const dawnGpus = new WeakSet<GPU>();

async function loadDawn(): Promise<GPU> {
  if (!isNode) throw new ExecutorUnavailableError('WebGPU is not available: navigator.gpu is missing (use a browser with WebGPU enabled, in a secure context).');
  let mod: { create: (options: string[]) => GPU; globals: object };
  try {
    // A specifier bundlers cannot see: browser bundles must not try to include Dawn's native addon.
    const name = 'webgpu';
    mod = (await import(/* @vite-ignore */ name)) as typeof mod;
  } catch (err) {
    throw dawnLoadError(err);
  }
  // Dawn's objects check their arguments against the GPU* globals (GPUBufferUsage, ...).
  for (const [k, v] of Object.entries(mod.globals)) if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
  const gpu = mod.create([]);
  dawnGpus.add(gpu);
  return gpu;
}

/**
 * The error for a failed `import('webgpu')`. `webgpu` is an optional peer dependency (Dawn's
 * native binaries are 130 MB that browser apps must not download), so a missing package is the
 * common case and gets the command that fixes it; anything else (the native addon, a missing
 * dependency of the package) keeps its own message.
 */
export function dawnLoadError(err: unknown): ExecutorUnavailableError {
  if (isMissingPackage(err, 'webgpu')) {
    return new ExecutorUnavailableError(
      'WebGPU is not available in Node: the optional peer dependency "webgpu" (Dawn) is not installed. Run `npm install webgpu`, or use another executor (http, onnx).',
      { cause: err },
    );
  }
  return new ExecutorUnavailableError(`WebGPU is not available in Node: the "webgpu" package failed to load (${String(err)}). ${NODE_HINT}`, { cause: err });
}

/**
 * Whether `err` is Node's "Cannot find package 'name'" for `name` itself: a package it imports
 * that is missing names that package instead, with `name` only inside a path.
 */
function isMissingPackage(err: unknown, name: string): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && err instanceof Error && err.message.includes(`'${name}'`);
}

/** Requests an adapter and a device that meets `requirements`, or throws `ExecutorUnavailableError` saying what is missing. */
export async function requestGpuDevice(requirements: GpuRequirements = {}, gpu?: GPU): Promise<AcquiredDevice> {
  const g = gpu ?? (await getGpu());
  const adapter = await g.requestAdapter(requirements.powerPreference ? { powerPreference: requirements.powerPreference } : undefined);
  if (!adapter) throw new ExecutorUnavailableError(`WebGPU has no adapter.${isNode ? ` ${NODE_HINT}` : ' The browser may have WebGPU disabled or block this GPU.'}`);
  const missing = (requirements.requiredFeatures ?? []).filter((f) => !adapter.features.has(f));
  if (missing.length) throw new ExecutorUnavailableError(`The WebGPU adapter lacks required feature(s): ${missing.join(', ')}.`);
  const optional = requirements.optionalFeatures ?? (['shader-f16', 'subgroups'] as GPUFeatureName[]);
  const features = [...new Set([...(requirements.requiredFeatures ?? []), ...optional.filter((f) => adapter.features.has(f))])];
  const adapterLimits = readLimits(adapter.limits);
  const requiredLimits: Record<string, number> = {};
  const tooSmall: string[] = [];
  for (const [key, want] of Object.entries(requirements.minLimits ?? {}) as [keyof GpuLimits, number][]) {
    const have = adapterLimits[key];
    // Alignment limits are better when smaller; every other limit we read is better when larger.
    const alignment = key.startsWith('min');
    if (alignment ? have > want : have < want) tooSmall.push(`${key}: need ${want}, adapter has ${have}`);
    else requiredLimits[key] = want;
  }
  if (tooSmall.length) throw new ExecutorUnavailableError(`The WebGPU adapter's limits are too small: ${tooSmall.join('; ')}.`);
  for (const key of requirements.adapterLimits ?? []) {
    if (!key.startsWith('min') && adapterLimits[key] > (requiredLimits[key] ?? DEFAULT_LIMITS[key])) requiredLimits[key] = adapterLimits[key];
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
  } catch (err) {
    throw new ExecutorUnavailableError(`WebGPU requestDevice failed: ${String(err)}`, { cause: err });
  }
  return { adapter, device, capabilities: deviceCapabilities(device), hostPolling: dawnGpus.has(g) };
}

/** Why a device went away. */
export interface DeviceLostEvent {
  readonly reason: GPUDeviceLostReason;
  readonly message: string;
}

/**
 * Owns a device and the runtime on it, and outlives device loss: `lost` resolves (and `onLost`
 * listeners run) when the current device is lost; `recreate()` makes a new device with the same
 * requirements and a fresh runtime. Tensors, pipelines and pools of the old device are gone
 * with it (device-scoped caches are WeakMaps keyed by the device).
 */
export class GpuContext {
  #acquired: AcquiredDevice;
  #runtime: GpuRuntime;
  #lost!: Promise<DeviceLostEvent>;
  #listeners = new Set<(event: DeviceLostEvent) => void>();

  private constructor(
    acquired: AcquiredDevice,
    private readonly requirements: GpuRequirements,
    private readonly gpu: GPU | undefined,
  ) {
    this.#acquired = acquired;
    this.#runtime = new GpuRuntime(acquired.device, acquired.capabilities, { hostPolling: acquired.hostPolling });
    this.#watch();
  }

  /** Acquires a device (see `requestGpuDevice`) and wraps it. */
  static async create(requirements: GpuRequirements = {}, gpu?: GPU): Promise<GpuContext> {
    return new GpuContext(await requestGpuDevice(requirements, gpu), requirements, gpu);
  }

  get device(): GPUDevice {
    return this.#acquired.device;
  }

  get adapter(): GPUAdapter {
    return this.#acquired.adapter;
  }

  get capabilities(): GpuCapabilities {
    return this.#acquired.capabilities;
  }

  /** The runtime on the current device (a new object after `recreate()`). */
  get runtime(): GpuRuntime {
    return this.#runtime;
  }

  /** Resolves when the current device is lost. */
  get lost(): Promise<DeviceLostEvent> {
    return this.#lost;
  }

  /** Calls `listener` on every device loss, across recreations. Returns an unsubscribe function. */
  onLost(listener: (event: DeviceLostEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Replaces the device (lost or not) with a new one meeting the same requirements. */
  async recreate(): Promise<void> {
    const old = this.#acquired.device;
    this.#acquired = await requestGpuDevice(this.requirements, this.gpu);
    this.#runtime = new GpuRuntime(this.#acquired.device, this.#acquired.capabilities, { hostPolling: this.#acquired.hostPolling });
    this.#watch();
    old.destroy();
  }

  /** Destroys the device; `lost` resolves with reason `destroyed`. */
  destroy(): void {
    this.#acquired.device.destroy();
  }

  #watch(): void {
    const device = this.#acquired.device;
    this.#lost = device.lost.then((info) => {
      const event = { reason: info.reason, message: info.message };
      // A device replaced by recreate() is destroyed on purpose; only the current one's loss is news.
      if (this.#acquired.device === device) for (const l of this.#listeners) l(event);
      return event;
    });
  }
}
