import type { DiffusionConfig } from '../api/config.js';
import type { DiffusionOutput } from '../api/output.js';
import type { DiffusionRequest } from '../api/request.js';
import { TimeoutError } from '../api/errors.js';
import type { LoadProgress, LoadProgressCallback } from '../api/load-progress.js';

/** Where each executor's load events go: set by `DiffusionEngine.create` before `initExecutor`. */
const loadListeners = new WeakMap<DiffusionExecutor, LoadProgressCallback>();

/**
 * Routes `executor`'s load events (`reportLoadProgress`) to `listener`; null stops them. For the
 * engine, not the public API: an executor only reports, it never chooses the listener.
 */
export function setLoadProgressListener(executor: DiffusionExecutor, listener: LoadProgressCallback | null): void {
  if (listener) loadListeners.set(executor, listener);
  else loadListeners.delete(executor);
}

/** Options of `collectiveRpc`. */
export interface CollectiveRpcOptions {
  /** Reject with `TimeoutError` when the call takes longer. */
  timeoutMs?: number;
}

/**
 * Base class of every executor: the part of the engine that actually runs requests, in this
 * thread, in workers, or on a remote server.
 *
 * Subclasses implement `initExecutor` and `executeModel`, and usually `checkHealth` and
 * `shutdown`. `executeModel` must resolve with one `DiffusionOutput` per request, in order,
 * putting per-request failures in `error`; it rejects only when the executor itself is broken.
 */
export abstract class DiffusionExecutor {
  /**
   * The custom config fields this executor reads (beyond `DiffusionConfig`'s own). Declared, they
   * let `new DiffusionConfig` warn about a key no executor of the config reads, naming the nearest
   * known one (a typo would otherwise be ignored); left undeclared, no such check is made.
   */
  static readonly configKeys?: readonly string[];
  /** The registry shorthand of a built-in executor, so a class reference is reported by it. */
  static readonly shorthand?: string;

  /** The engine config, including any custom fields. */
  readonly config: DiffusionConfig;
  #closing: Promise<void> | null = null;
  #closed = false;

  constructor(config: DiffusionConfig) {
    this.config = config;
  }

  /**
   * Reports a load event to the `onLoadProgress` of `DiffusionEngine.create` (a no-op without
   * one). Call it from `initExecutor` as weights arrive; the engine sends `ready` itself once
   * `initExecutor` resolves (a `ready` reported here gives its timings), so an executor that
   * loads nothing reports nothing.
   */
  protected reportLoadProgress(event: LoadProgress): void {
    loadListeners.get(this)?.(event);
  }

  /** The listener `reportLoadProgress` calls, for executors that hand it on (to an engine host); null without one. */
  protected get loadProgressListener(): LoadProgressCallback | null {
    return loadListeners.get(this) ?? null;
  }

  /** Prepares the executor. Throw `ExecutorUnavailableError` to let the engine fall back. */
  abstract initExecutor(): Promise<void> | void;

  /** Runs the requests; each carries its own `signal` and `onProgress`. */
  abstract executeModel(requests: DiffusionRequest[]): Promise<DiffusionOutput[]>;

  /**
   * Calls `method` on every worker of the executor and returns their results. The default
   * implementation has a single "worker": this object.
   */
  async collectiveRpc(method: string, args: unknown[] = [], options: CollectiveRpcOptions = {}): Promise<unknown[]> {
    const fn = (this as unknown as Record<string, unknown>)[method];
    if (typeof fn !== 'function' || method === 'constructor') {
      throw new TypeError(`${this.constructor.name} has no method "${method}" to call through collectiveRpc.`);
    }
    const call = Promise.resolve().then(() => (fn as (...a: unknown[]) => unknown).apply(this, args));
    return [await withTimeout(call, options.timeoutMs, `collectiveRpc("${method}")`)];
  }

  /** Rejects when the executor cannot serve requests. */
  async checkHealth(): Promise<void> {}

  /** Releases workers, devices and connections. Called once, by `close()`. */
  shutdown(): Promise<void> | void {}

  /** True once `close()` has finished. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Shuts the executor down. Idempotent: every call returns the same promise, and the
   * executor is marked closed only after `shutdown()` has really run.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.shutdown();
      } finally {
        this.#closed = true;
      }
    })();
    return this.#closing;
  }
}

/** A concrete executor class, as accepted by `executorClass` and `registerExecutor`. */
export type DiffusionExecutorClass = (new (config: DiffusionConfig) => DiffusionExecutor) & Pick<typeof DiffusionExecutor, 'configKeys' | 'shorthand'>;

/** Resolves like `promise`, or rejects with `TimeoutError` after `timeoutMs`. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number | undefined, what: string): Promise<T> {
  if (timeoutMs === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${timeoutMs} ms.`)), timeoutMs);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
