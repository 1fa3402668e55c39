import { hostCountKey } from '../../api/config.js';
import type { DiffusionOutput } from '../../api/output.js';
import type { DiffusionRequest } from '../../api/request.js';
import { ConfigValidationError, OmniDiffusionError } from '../../api/errors.js';
import { requestGpuDevice } from '../../webgpu/device.js';
import type { HostInfo, HostMemory } from '../../host/protocol.js';
import { DiffusionExecutor, withTimeout, type CollectiveRpcOptions } from '../executor.js';
import { HostConnection } from '../../host/host-connection.js';
import { launchEngineHost } from '../../host/launch.js';
import { modelSpecOf, readWebGPUOptions, WEBGPU_OPTION_KEYS } from '../webgpu/options.js';
import { HostPool } from './host-pool.js';

/**
 * The `multiproc` (`mp`) executor: a pool of `config.numHosts` engine hosts, each with its own
 * GPU device and copy of the model (module Web Workers in the browser, in-process hosts on
 * separate Dawn devices in Node). The devices may all be on one physical GPU: the pool counts
 * hosts, not GPUs. Each request goes to the first idle host, in the order
 * requests arrive; outputs keep request order, and an image depends only on its seed, so
 * results match the `webgpu` executor's byte for byte.
 *
 * Config fields read: those of the `webgpu` executor (`modelNameOrPath`, `dtype`, `variant`,
 * `taesd`, `vae`, `worker`, `preview`, `gpuLimits`, `activations`) and `numHosts` (at least 1; `numGpus` is its old name). Each output's metrics carry
 * `hostIndex`, the pool member that ran it.
 */
export class MultiProcDiffusionExecutor extends DiffusionExecutor {
  static override readonly configKeys: readonly string[] = WEBGPU_OPTION_KEYS;
  static override readonly shorthand = 'multiproc';
  #connections: HostConnection[] = [];
  #pool: HostPool<HostConnection> | null = null;
  #running = new Set<Promise<unknown>>();

  /** Adapter, features, model and defaults of each host; null for one not started. */
  get info(): Array<HostInfo | null> {
    return this.#connections.map((c) => c.info);
  }

  async initExecutor(): Promise<void> {
    const n = this.config.numHosts;
    if (!Number.isInteger(n) || n < 1) throw new ConfigValidationError(hostCountKey(this.config), n, 'an integer >= 1 (the number of engine hosts of the multiproc executor)');
    // Probe first, so a machine without WebGPU falls back before any model download.
    const probe = await requestGpuDevice();
    probe.device.destroy();
    const spec = modelSpecOf(this.config, 'multiproc');
    const { worker, preview } = readWebGPUOptions(this.config);
    this.#connections = Array.from(
      { length: n },
      (_, i) =>
        new HostConnection(() => launchEngineHost({ worker, name: `omni-diffusion-${i}` }), spec, {
          preview,
          metrics: { hostIndex: i },
        }),
    );
    // Settle every start before failing, so `shutdown` sees each host that did come up.
    // One stream, not n interleaved ones: host 0's events stand for the pool (every host reads the
    // same files, and after the first download the others read them from the cache). The engine
    // sends `ready` once every host has loaded.
    const listener = this.loadProgressListener;
    const started = await Promise.allSettled(this.#connections.map((c, i) => c.start(i === 0 ? listener : null)));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    this.#pool = new HostPool(this.#connections);
  }

  executeModel(requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
    const pool = this.#pool!;
    const run = Promise.all(requests.map((r) => pool.use((connection) => connection.run(r))));
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
    return run;
  }

  /** Requests each host has run, by host index. */
  served(): number[] {
    return this.#connections.map((c) => c.served);
  }

  /** GPU memory of each host. */
  memory(): Promise<HostMemory[]> {
    return Promise.all(this.#connections.map((c) => c.memory()));
  }

  /** Fault injection for tests: loses the GPU device of host `index`. */
  async loseDevice(index = 0): Promise<void> {
    const connection = this.#connections[index];
    if (!connection) throw new RangeError(`loseDevice: no host ${index} (the pool has ${this.#connections.length}).`);
    if (connection.host) await connection.call('loseDevice', []);
  }

  /**
   * Calls `method` on every engine host (`memory`, `loseDevice`, ...) and returns one result
   * per host, in host order.
   */
  override async collectiveRpc(method: string, args: unknown[] = [], options: CollectiveRpcOptions = {}): Promise<unknown[]> {
    const calls = Promise.all(this.#connections.map((c) => c.call(method, args)));
    return withTimeout(calls, options.timeoutMs, `collectiveRpc("${method}")`);
  }

  override async checkHealth(): Promise<void> {
    if (this.#connections.length === 0) throw new OmniDiffusionError('The multiproc executor has no engine hosts (it was not initialised or is closed).');
    const results = await Promise.allSettled(this.#connections.map((c) => c.checkHealth()));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`host ${i}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`] : []));
    if (failed.length > 0) throw new OmniDiffusionError(`The multiproc executor has unhealthy engine hosts: ${failed.join('; ')}`);
  }

  override async shutdown(): Promise<void> {
    await Promise.allSettled(this.#running);
    const connections = this.#connections;
    this.#connections = [];
    this.#pool = null;
    await Promise.all(connections.map((c) => c.close()));
  }
}
