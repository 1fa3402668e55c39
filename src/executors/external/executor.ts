import type { DiffusionOutput } from '../../api/output.js';
import type { DiffusionRequest } from '../../api/request.js';
import { ConfigValidationError, ExecutorUnavailableError, OmniDiffusionError } from '../../api/errors.js';
import { NO_HOST_MEMORY, type HostInfo, type HostMemory } from '../../host/protocol.js';
import { DiffusionExecutor, withTimeout, type CollectiveRpcOptions } from '../executor.js';
import { HostConnection, type HostLauncher } from '../../host/host-connection.js';
import { modelSpecOf, readWebGPUOptions } from '../webgpu/options.js';
import { EXTERNAL_OPTION_KEYS } from './options.js';
import { attachToPort, attachToSharedWorker, type ExternalHostPort } from './attach.js';

/** How long `shutdown` waits for the host to acknowledge that this client is done. */
const DETACH_GRACE_MS = 2000;

/**
 * The `external` executor: attaches to an engine host it did not start, so several pages or
 * components share one GPU device and one loaded model.
 *
 * Config fields read, one of:
 * - `sharedWorkerUrl`: the script of a SharedWorker; the library ships one, whose URL
 *   `sharedEngineWorkerUrl()` returns. Every page of the origin that names the same URL and
 *   `sharedWorkerName` (default `omni-diffusion-shared`) joins the same worker; requests from
 *   all of them queue on its one host.
 * - `port`: a MessagePort, comlink endpoint or `worker_threads` port whose other end exposes an
 *   engine host (`EngineHostApi`, e.g. a `SharedEngineHost` client).
 *
 * Also the model fields of the `webgpu` executor (`modelNameOrPath`, `dtype`, `variant`,
 * `taesd`, `vae`, `preview`): `load` on a host that already serves the same model returns at once.
 * `shutdown` calls the host's `dispose()`, which on a shared host only detaches this client;
 * expose a `SharedEngineHost` client, not a bare `EngineHost`, on a port whose host must
 * outlive this executor.
 */
export class ExternalDiffusionExecutor extends DiffusionExecutor {
  static override readonly configKeys: readonly string[] = EXTERNAL_OPTION_KEYS;
  static override readonly shorthand = 'external';
  #connection: HostConnection | null = null;

  /** Adapter, features, model and its defaults of the attached host; null before init. */
  get info(): HostInfo | null {
    return this.#connection?.info ?? null;
  }

  async initExecutor(): Promise<void> {
    const launcher = this.#launcher();
    const spec = modelSpecOf(this.config, 'external');
    this.#connection = new HostConnection(launcher, spec, { preview: readWebGPUOptions(this.config).preview });
    // A shared host that already serves the model sends no events: only the engine's `ready` follows.
    await this.#connection.start(this.loadProgressListener);
  }

  #launcher(): HostLauncher {
    const { sharedWorkerUrl, port, sharedWorkerName } = this.config;
    if (port !== undefined && port !== null) {
      if (typeof port !== 'object' || typeof (port as { postMessage?: unknown }).postMessage !== 'function') {
        throw new ConfigValidationError('port', port, 'a MessagePort, comlink endpoint or worker_threads MessagePort whose other end exposes an engine host');
      }
      return attachToPort(port as ExternalHostPort, DETACH_GRACE_MS);
    }
    if (sharedWorkerUrl === undefined || sharedWorkerUrl === null) {
      throw new ConfigValidationError(
        'sharedWorkerUrl',
        sharedWorkerUrl,
        'the URL of a shared engine worker script (e.g. sharedEngineWorkerUrl()) for the external executor, or set DiffusionConfig.port to a port whose other end exposes an engine host',
      );
    }
    if (typeof sharedWorkerUrl !== 'string' && !(sharedWorkerUrl instanceof URL)) {
      throw new ConfigValidationError('sharedWorkerUrl', sharedWorkerUrl, 'a string or URL');
    }
    if (sharedWorkerName !== undefined && typeof sharedWorkerName !== 'string') {
      throw new ConfigValidationError('sharedWorkerName', sharedWorkerName, 'a string');
    }
    if (typeof (globalThis as { SharedWorker?: unknown }).SharedWorker !== 'function') {
      throw new ExecutorUnavailableError('SharedWorker is not available here (Node, or a browser without it), so the external executor cannot use sharedWorkerUrl; pass DiffusionConfig.port instead.');
    }
    return attachToSharedWorker(sharedWorkerUrl, sharedWorkerName ?? 'omni-diffusion-shared', DETACH_GRACE_MS);
  }

  executeModel(requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
    const connection = this.#connection!;
    return Promise.all(requests.map((r) => connection.run(r)));
  }

  /** GPU memory of the attached host (shared with its other clients). */
  memory(): Promise<HostMemory> {
    return this.#connection ? this.#connection.memory() : Promise.resolve({ ...NO_HOST_MEMORY });
  }

  /**
   * Calls `method` on the attached host (`memory`, or `stats` on a shared host) and returns
   * its one result.
   */
  override async collectiveRpc(method: string, args: unknown[] = [], options: CollectiveRpcOptions = {}): Promise<unknown[]> {
    if (!this.#connection) throw new OmniDiffusionError('The external executor is not attached to a host (it was not initialised or is closed).');
    return [await withTimeout(this.#connection.call(method, args), options.timeoutMs, `collectiveRpc("${method}")`)];
  }

  override async checkHealth(): Promise<void> {
    if (!this.#connection) throw new OmniDiffusionError('The external executor is not attached to a host (it was not initialised or is closed).');
    await this.#connection.checkHealth();
  }

  override async shutdown(): Promise<void> {
    await this.#connection?.close();
  }
}
