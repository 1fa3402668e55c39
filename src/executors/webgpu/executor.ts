import type { DiffusionOutput } from '../../api/output.js';
import type { DiffusionRequest } from '../../api/request.js';
import { OmniDiffusionError } from '../../api/errors.js';
import { requestGpuDevice } from '../../webgpu/device.js';
import type { GpuFault } from '../../webgpu/fault.js';
import { NO_HOST_MEMORY, type HostInfo, type HostMemory } from '../../host/protocol.js';
import { HostConnection } from '../../host/host-connection.js';
import { launchEngineHost } from '../../host/launch.js';
import { DiffusionExecutor } from '../executor.js';
import { modelSpecOf, readWebGPUOptions, WEBGPU_OPTION_KEYS } from './options.js';

/**
 * The `webgpu` executor: Stable Diffusion on our WGSL kernels.
 *
 * In the browser a module Web Worker owns the GPU device and the model, and the page only posts
 * requests and receives images and progress (comlink). In Node the same host runs in-process
 * on Dawn. Requests run one at a time, in the order `executeModel` was called.
 *
 * Config fields read: `modelNameOrPath`, `dtype`, and the custom fields `variant` (Hub weights
 * variant, e.g. `'fp16'`), `taesd` (a TAESD repo for `decoder: 'taesd'`), `vae` (a VAE repo used instead of the
 * model's `vae/`, e.g. `'madebyollin/sdxl-vae-fp16-fix'`), `worker` (false runs
 * in-process in the browser too; true in Node runs it in a `worker_threads` thread), `preview` (true: a preview image with each progress event) and
 * `gpuLimits` (`'default'` keeps WebGPU's default limits instead of the adapter's larger ones).
 */
export class WebGPUDiffusionExecutor extends DiffusionExecutor {
  static override readonly configKeys: readonly string[] = WEBGPU_OPTION_KEYS;
  static override readonly shorthand = 'webgpu';
  #connection: HostConnection | null = null;

  /** Adapter, features, model and its defaults; null before init. */
  get info(): HostInfo | null {
    return this.#connection?.info ?? null;
  }

  async initExecutor(): Promise<void> {
    // Probe first, so a machine without WebGPU falls back before any model download.
    const probe = await requestGpuDevice();
    probe.device.destroy();
    const spec = modelSpecOf(this.config, 'webgpu');
    const { worker, preview } = readWebGPUOptions(this.config);
    this.#connection = new HostConnection(() => launchEngineHost({ worker, name: 'omni-diffusion' }), spec, { preview });
    await this.#connection.start(this.loadProgressListener);
  }

  executeModel(requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
    const connection = this.#connection!;
    return Promise.all(requests.map((r) => connection.run(r)));
  }

  /** GPU memory in use by the model and live requests. */
  memory(): Promise<HostMemory> {
    return this.#connection ? this.#connection.memory() : Promise.resolve({ ...NO_HOST_MEMORY });
  }

  /** Fault injection for tests: loses the GPU device as a driver reset would. */
  async loseDevice(): Promise<void> {
    if (this.#connection?.host) await this.#connection.call('loseDevice', []);
  }

  /** Fault injection for tests: a failure in the middle of the next request's GPU work (see `GpuFault`). */
  async injectFault(fault: GpuFault): Promise<void> {
    if (!this.#connection?.host) throw new OmniDiffusionError('injectFault: the executor has no engine host (it was not initialised, is restarting or is closed).');
    await this.#connection.call('injectFault', [fault]);
  }

  /** Fault injection for tests: crashes the worker (browser only). */
  async crashWorker(): Promise<void> {
    if (!this.#connection?.remote) throw new OmniDiffusionError('crashWorker: the executor runs in-process, there is no worker to crash.');
    await this.#connection.call('crash', []);
  }

  override async checkHealth(): Promise<void> {
    if (!this.#connection) throw new OmniDiffusionError('The webgpu executor has no engine host (it was not initialised or is closed).');
    await this.#connection.checkHealth();
  }

  override async shutdown(): Promise<void> {
    await this.#connection?.close();
  }
}
