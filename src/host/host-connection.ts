import * as Comlink from 'comlink';
import type { DiffusionOutput } from '../api/output.js';
import { failedOutput } from '../api/output.js';
import type { DiffusionProgress, DiffusionRequest } from '../api/request.js';
import type { LoadProgressCallback } from '../api/load-progress.js';
import { AbortError, ConfigValidationError, EngineClosedError, OmniDiffusionError } from '../api/errors.js';
import { rebuildRemoteError } from './remote-errors.js';
import { NO_HOST_MEMORY, type EngineHostApi, type HostInfo, type HostMemory, type ModelSpec, type WireProgress, type WireRequest } from './protocol.js';
import { toOutput, toWireRequest, wireTransferables } from './wire.js';

/** An engine host: in-process, or a comlink proxy of one in a worker or behind a port. */
export type Host = EngineHostApi | Comlink.Remote<EngineHostApi>;

/** A started (or attached) engine host, and how to let go of it. */
export interface LaunchedHost {
  host: Host;
  /** True when calls cross a message channel, so callbacks must travel as comlink proxies. */
  remote: boolean;
  /** Rejects when the worker behind the host dies; null where that cannot be observed. */
  crashed: Promise<never> | null;
  /** Lets go of a healthy host (disposing it where this side owns it). */
  close(): Promise<void>;
  /** Lets go of a host that crashed, without talking to it. */
  kill(): void;
}

/** Starts or attaches to a host; called again to replace one that crashed. */
export type HostLauncher = () => Promise<LaunchedHost>;

/** What a connection adds to every request and output. */
export interface HostConnectionOptions {
  /** Ask the host for a preview image with each progress event. */
  preview: boolean;
  /** Extra fields for each output's metrics (e.g. which pool member ran it). */
  metrics?: Record<string, unknown>;
}

/**
 * One engine host as the executors see it: loads the model, runs requests one at a time in the
 * order `run` was called, forwards aborts as `host.cancel`, and after a worker crash fails the
 * request in flight and launches a fresh host for the next one. Shared by the `webgpu`,
 * `multiproc` and `external` executors.
 */
export class HostConnection {
  readonly #launch: HostLauncher;
  readonly #spec: ModelSpec;
  readonly #options: HostConnectionOptions;
  #launched: LaunchedHost | null = null;
  #info: HostInfo | null = null;
  #served = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(launch: HostLauncher, spec: ModelSpec, options: HostConnectionOptions) {
    this.#launch = launch;
    this.#spec = spec;
    this.#options = options;
  }

  /** Adapter, features, model and its defaults; null before `start`. */
  get info(): HostInfo | null {
    return this.#info;
  }

  /** Requests this connection has run to completion or failure. */
  get served(): number {
    return this.#served;
  }

  /** The live host; null before `start`, after a crash and after `close`. */
  get host(): Host | null {
    return this.#launched?.host ?? null;
  }

  /** True when the host sits behind a message channel (a worker or a port). */
  get remote(): boolean {
    return this.#launched?.remote ?? false;
  }

  /**
   * Launches the host and loads the model on it, reporting the load to `onLoadProgress` (the
   * first start only: a host relaunched after a crash reloads quietly).
   */
  async start(onLoadProgress?: LoadProgressCallback | null): Promise<HostInfo> {
    const launched = await this.#launch();
    this.#launched = launched;
    try {
      // Said plainly here, rather than as the DataCloneError that posting it would raise.
      if (launched.remote && this.#spec.source) {
        throw new ConfigValidationError('modelNameOrPath', this.#spec.modelNameOrPath, 'a Hub id, URL or path string when the engine host runs in a worker (a ModelSource object works in-process only: Node, or `worker: false`)');
      }
      const listener = onLoadProgress ?? undefined;
      this.#info = await this.guard(launched.host.load(this.#spec, listener && launched.remote ? Comlink.proxy(listener) : listener));
    } catch (err) {
      this.#launched = null;
      launched.kill();
      throw err;
    }
    return this.#info;
  }

  /** Races a host call against a worker crash; what it throws comes back as its own class (see `rebuildRemoteError`). */
  guard<T>(call: Promise<T>): Promise<T> {
    const crashed = this.#launched?.crashed;
    // A remote host's errors arrive serialised (or stripped by comlink): rebuilt into their class here.
    return (crashed ? Promise.race([call, crashed]) : call).catch((err: unknown) => Promise.reject(rebuildRemoteError(err)));
  }

  /** Queues one request behind those already given; failures become the output's `error`. */
  run(r: DiffusionRequest): Promise<DiffusionOutput> {
    const run = this.#queue.then(async () => {
      try {
        return await this.#run(r);
      } finally {
        this.#served++;
      }
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #run(r: DiffusionRequest): Promise<DiffusionOutput> {
    if (this.#closed) return failedOutput(r.requestId, new EngineClosedError(`Request ${r.requestId} came after the executor was closed.`));
    if (r.signal?.aborted) return failedOutput(r.requestId, new AbortError(`Request ${r.requestId} was aborted before it started.`));
    if (!this.#launched) {
      try {
        await this.start();
      } catch (err) {
        return failedOutput(r.requestId, err);
      }
    }
    const launched = this.#launched!;
    const host = launched.host;
    let wire: WireRequest;
    try {
      wire = toWireRequest(r, this.#options.preview);
    } catch (err) {
      return failedOutput(r.requestId, err);
    }
    // Across a channel the init image's bytes move instead of being cloned (they are our own copy).
    const sent = launched.remote ? Comlink.transfer(wire, wireTransferables(wire)) : wire;
    const onAbort = (): void => void host.cancel(r.requestId);
    r.signal?.addEventListener('abort', onAbort, { once: true });
    const progress = r.onProgress ? (p: WireProgress): void => r.onProgress!({ requestId: r.requestId, ...p } satisfies DiffusionProgress) : undefined;
    try {
      const result = await this.guard(host.generate(sent, progress && launched.remote ? Comlink.proxy(progress) : progress));
      return toOutput(r.requestId, result, this.#options.metrics);
    } catch (err) {
      if (await isCrash(launched.crashed)) {
        this.#launched = null;
        launched.kill();
      }
      return failedOutput(r.requestId, err);
    } finally {
      r.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** GPU memory in use by the model and live requests. */
  async memory(): Promise<HostMemory> {
    return this.#launched ? this.guard(Promise.resolve(this.#launched.host.memory())) : { ...NO_HOST_MEMORY };
  }

  /** Rejects when there is no live host or it does not answer. */
  async checkHealth(): Promise<void> {
    if (!this.#launched) throw new OmniDiffusionError('The engine host is not running (it is restarting or closed).');
    await this.memory();
  }

  /**
   * Calls `method` on the host itself (`memory`, `loseDevice`, or what a wrapper host adds).
   * Throws `TypeError` when an in-process host has no such method.
   */
  async call(method: string, args: unknown[]): Promise<unknown> {
    const launched = this.#launched;
    if (!launched) throw new OmniDiffusionError(`Cannot call "${method}": the engine host is not running (it is restarting or closed).`);
    const fn = (launched.host as unknown as Record<string, unknown>)[method];
    if (typeof fn !== 'function' || method === 'constructor') throw new TypeError(`The engine host has no method "${method}".`);
    // Reflect.apply, not fn.apply: on a comlink proxy `.apply` would be a remote property.
    return this.guard(Promise.resolve(Reflect.apply(fn as (...a: unknown[]) => unknown, launched.host, args)));
  }

  /** Lets go of the host once the queued requests have run. */
  async close(): Promise<void> {
    await this.#queue;
    this.#closed = true;
    const launched = this.#launched;
    this.#launched = null;
    await launched?.close();
  }
}

/** Whether `crashed` has already rejected (checked after a failed call, so the crash event has had its turn). */
async function isCrash(crashed: Promise<never> | null): Promise<boolean> {
  if (!crashed) return false;
  return Promise.race([crashed.then(() => false, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), 0))]);
}
