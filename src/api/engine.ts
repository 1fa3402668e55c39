import { AbortError, EngineClosedError, ExecutorDeadError, ExecutorUnavailableError, OmniDiffusionError, deserializeError, errorMessage } from './errors.js';
import { setLoadProgressListener, type CollectiveRpcOptions, type DiffusionExecutor } from '../executors/executor.js';
import { resolveExecutor } from '../executors/registry.js';
import { DiffusionConfig, type DiffusionConfigOptions } from './config.js';
import { errorInfoOf, failedOutput, type DiffusionOutput } from './output.js';
import { DiffusionRequest, type DiffusionRequestInit } from './request.js';
import type { LoadProgressCallback, LoadReadyEvent } from './load-progress.js';
import { safeLoadProgressCallback } from './load-progress-tracker.js';

/** Options of `DiffusionEngine.create` that are about this call, not the engine's config. */
export interface DiffusionEngineCreateOptions {
  /**
   * Receives the load's progress: `resolve`, then `download`/`cached` per weight file, `upload`,
   * `compile`, and `ready` last (see `LoadProgress`), also from a worker. The `multiproc`
   * executor reports its first host's download and upload events; its `ready` comes once every
   * host has loaded. An executor that loads nothing (`http`) reports `ready` only. A callback that
   * throws is reported once with `console.warn` and never breaks the load.
   */
  onLoadProgress?: LoadProgressCallback;
}

/**
 * The entry point: owns one executor, chosen from `config.executorClass` (or a fallback), and
 * turns request lists into outputs.
 *
 * ```ts
 * const engine = await DiffusionEngine.create({ modelNameOrPath: 'stabilityai/sd-turbo' });
 * const [out] = await engine.step([{ prompt: 'a red circle', seed: 1 }]);
 * await engine.close();
 * ```
 */
export class DiffusionEngine {
  readonly config: DiffusionConfig;
  /** Name of the executor in use: a shorthand, a specifier, or a class name. */
  readonly executorName: string;
  /** Why the primary executor was skipped; null when it is in use. */
  readonly fallbackReason: string | null;
  readonly #executor: DiffusionExecutor;
  #closing: Promise<void> | null = null;
  #dead: Error | null = null;

  private constructor(config: DiffusionConfig, executor: DiffusionExecutor, executorName: string, fallbackReason: string | null) {
    this.config = config;
    this.#executor = executor;
    this.executorName = executorName;
    this.fallbackReason = fallbackReason;
  }

  /**
   * Resolves the executor, constructs it and awaits its initialisation. When that throws
   * `ExecutorUnavailableError`, each `fallback` is tried in order; other errors are thrown as is.
   *
   * ```ts
   * const engine = await DiffusionEngine.create(config, {
   *   onLoadProgress: (e) => { if (e.status === 'download') bar.set(e.overallLoaded, e.overallTotal); },
   * });
   * ```
   */
  static async create(config: DiffusionConfig | DiffusionConfigOptions = {}, options: DiffusionEngineCreateOptions = {}): Promise<DiffusionEngine> {
    const started = performance.now();
    const cfg = config instanceof DiffusionConfig ? config : new DiffusionConfig(config);
    if (options.onLoadProgress !== undefined && typeof options.onLoadProgress !== 'function') {
      throw new TypeError(`DiffusionEngine.create: onLoadProgress must be a function, got ${typeof options.onLoadProgress}.`);
    }
    const report = options.onLoadProgress ? safeLoadProgressCallback(options.onLoadProgress) : null;
    const specs = [cfg.executorClass, ...cfg.fallback];
    const reasons: string[] = [];
    for (const spec of specs) {
      const { cls, name } = await resolveExecutor(spec);
      const executor = new cls(cfg);
      // The executor's own `ready` is held back: the engine sends the one `ready`, after init has resolved.
      let ready: LoadReadyEvent | null = null;
      if (report) setLoadProgressListener(executor, (event) => (event.status === 'ready' ? (ready = event) : report(event)));
      try {
        await executor.initExecutor();
      } catch (err) {
        setLoadProgressListener(executor, null);
        await executor.close().catch(() => undefined);
        if (err instanceof ExecutorUnavailableError || (err as Error | null)?.name === 'ExecutorUnavailableError') {
          reasons.push(`${name}: ${(err as Error).message}`);
          continue;
        }
        throw err;
      }
      setLoadProgressListener(executor, null);
      report?.(readyEvent(ready, performance.now() - started));
      return new DiffusionEngine(cfg, executor, name, reasons.length > 0 ? reasons.join('; ') : null);
    }
    throw new ExecutorUnavailableError(
      `No executor could start. ${reasons.join('; ')}${cfg.fallback.length === 0 ? ' (configure `fallback`, e.g. "http", to run elsewhere)' : ''}`,
    );
  }

  /** The executor instance, for executor-specific calls. */
  get executor(): DiffusionExecutor {
    return this.#executor;
  }

  /** True after `close()`. */
  get isClosed(): boolean {
    return this.#closing !== null;
  }

  /**
   * Runs the requests and resolves with one output per request, in order. A request that
   * fails (bad field, aborted, generation error) gets `error` set and no images; `step`
   * rejects only when the engine cannot run at all (closed, executor dead).
   */
  async step(requests: Array<DiffusionRequest | DiffusionRequestInit>): Promise<DiffusionOutput[]> {
    this.#assertUsable();
    if (!Array.isArray(requests)) throw new TypeError('DiffusionEngine.step expects an array of requests.');
    const outputs: Array<DiffusionOutput | null> = new Array(requests.length).fill(null);
    const runnable: DiffusionRequest[] = [];
    const slots: number[] = [];
    requests.forEach((raw, i) => {
      let request: DiffusionRequest;
      try {
        request = raw instanceof DiffusionRequest ? raw : new DiffusionRequest(raw);
      } catch (err) {
        const id = typeof (raw as DiffusionRequestInit | null)?.requestId === 'string' ? (raw as DiffusionRequestInit).requestId! : `invalid-${i}`;
        outputs[i] = failedOutput(id, err);
        return;
      }
      if (request.signal?.aborted) {
        outputs[i] = failedOutput(request.requestId, abortReason(request.signal));
        return;
      }
      runnable.push(request);
      slots.push(i);
    });
    if (runnable.length > 0) {
      let results: DiffusionOutput[];
      try {
        results = await this.#executor.executeModel(runnable);
      } catch (err) {
        if (err instanceof ExecutorDeadError || err instanceof EngineClosedError) {
          this.#dead = err;
          throw err;
        }
        results = runnable.map((r) => failedOutput(r.requestId, err));
      }
      if (!Array.isArray(results) || results.length !== runnable.length) {
        const got = Array.isArray(results) ? `${results.length} outputs` : typeof results;
        results = runnable.map((r) =>
          failedOutput(r.requestId, new OmniDiffusionError(`Executor "${this.executorName}" returned ${got} for ${runnable.length} requests.`)),
        );
      }
      results.forEach((out, k) => {
        outputs[slots[k]!] = normalizeOutput(out, runnable[k]!.requestId);
      });
    }
    return outputs as DiffusionOutput[];
  }

  /**
   * Runs one request and resolves with its output, or rejects with the request's error,
   * rebuilt from the output's `errorInfo` into its class with its fields (`AbortError`,
   * `RequestValidationError`, `DeviceLimitError`, ...), also when it was thrown in a worker.
   * An aborted request rejects with its signal's `reason` when that is an `AbortError`.
   * A convenience over `step`.
   */
  async generate(request: DiffusionRequest | DiffusionRequestInit): Promise<DiffusionOutput> {
    if (!(request instanceof DiffusionRequest)) request = new DiffusionRequest(request);
    const [out] = await this.step([request]);
    if (out!.error !== null) {
      const info = out!.errorInfo ?? errorInfoOf(out!.error, out!.errorName);
      if (info.name === 'AbortError' && request.signal?.aborted) throw abortReason(request.signal);
      throw deserializeError(info);
    }
    return out!;
  }

  /** Rejects when the engine or its executor cannot serve requests. */
  async checkHealth(): Promise<void> {
    this.#assertUsable();
    await this.#executor.checkHealth();
  }

  /** Calls `method` on every worker of the executor; one result per worker. */
  collectiveRpc(method: string, args: unknown[] = [], options: CollectiveRpcOptions = {}): Promise<unknown[]> {
    this.#assertUsable();
    return this.#executor.collectiveRpc(method, args, options);
  }

  /** Shuts the executor down. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#executor.close();
    return this.#closing;
  }

  #assertUsable(): void {
    if (this.#closing) throw new EngineClosedError('The DiffusionEngine is closed; create a new one.');
    if (this.#dead) throw new ExecutorDeadError(`The executor "${this.executorName}" is dead: ${errorMessage(this.#dead)}`);
  }
}

/** The `ready` the engine sends: the executor's, if it made one, with the total from `create`'s start. */
function readyEvent(fromExecutor: LoadReadyEvent | null, totalMs: number): LoadReadyEvent {
  const timings = fromExecutor?.timings ?? { resolveMs: 0, downloadMs: 0, uploadMs: 0, compileMs: 0, totalMs };
  return {
    status: 'ready',
    timings: { ...timings, totalMs },
    downloadedBytes: fromExecutor?.downloadedBytes ?? 0,
    cachedBytes: fromExecutor?.cachedBytes ?? 0,
  };
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new AbortError(reason instanceof Error ? reason.message : 'The request was aborted.');
}

function normalizeOutput(out: DiffusionOutput, requestId: string): DiffusionOutput {
  if (out === null || typeof out !== 'object') return failedOutput(requestId, new OmniDiffusionError('Executor returned a non-object output.'));
  return {
    requestId: out.requestId ?? requestId,
    images: out.error ? [] : (out.images ?? []),
    error: out.error ?? null,
    errorName: out.error ? (out.errorName ?? out.errorInfo?.name ?? 'Error') : null,
    // Executors that build outputs by hand may give only `error`: the record is made from it.
    errorInfo: out.error ? (out.errorInfo ?? errorInfoOf(out.error, out.errorName)) : null,
    trajectoryLatents: out.trajectoryLatents ?? null,
    trajectoryTimesteps: out.trajectoryTimesteps ?? null,
    ...(out.intermediates ? { intermediates: out.intermediates } : {}),
    metrics: out.metrics ?? {},
  };
}
