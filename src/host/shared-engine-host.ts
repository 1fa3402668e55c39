import type { EmbeddingConfig } from '../api/embeddings.js';
import { AbortError, ExecutorUnavailableError } from '../api/errors.js';
import type { LoadProgressCallback } from '../api/load-progress.js';
import { SharedHostModelMismatchError } from './errors.js';
import { NO_HOST_MEMORY, type EngineHostApi, type HostInfo, type HostMemory, type ModelSpec, type WireProgress, type WireRequest, type WireResult } from './protocol.js';

/** Counters of a shared engine host, for UIs and tests. */
export interface SharedHostStats {
  /** Times a model was loaded (1 while all clients share one). */
  loads: number;
  /** Clients that have loaded and not disposed. */
  clients: number;
  /** Requests finished, over all clients. */
  generated: number;
}

/** What each client of a shared host sees: an engine host, plus the shared counters. */
export interface SharedEngineClientApi extends EngineHostApi {
  stats(): SharedHostStats;
}

/** Whether two specs load the same engine: the same model, precision and weights (a TAESD or VAE repo beside it, and a single file's config repo, included). */
function sameSpec(a: ModelSpec, b: ModelSpec): boolean {
  return (
    a.modelNameOrPath === b.modelNameOrPath &&
    a.dtype === b.dtype &&
    (a.variant ?? null) === (b.variant ?? null) &&
    (a.taesd ?? null) === (b.taesd ?? null) &&
    (a.vae ?? null) === (b.vae ?? null) &&
    (a.configFrom ?? null) === (b.configFrom ?? null) &&
    sameEmbeddings(a.embeddings ?? [], b.embeddings ?? [])
  );
}

/** Whether two specs load the same textual-inversion embeddings, in order: a `File` by name, size and date (a copy crosses each port). */
function sameEmbeddings(a: readonly EmbeddingConfig[], b: readonly EmbeddingConfig[]): boolean {
  const key = ({ source, token }: EmbeddingConfig): string =>
    JSON.stringify([typeof source === 'string' ? source : [source.name, source.size, source.lastModified], token ?? null]);
  return a.length === b.length && a.every((e, i) => key(e) === key(b[i]!));
}

/** A spec's model fields as an error names them: the model and dtype, and the repos and variant beside it when set. */
function describeSpec(spec: ModelSpec): string {
  const extra = (['variant', 'taesd', 'vae', 'configFrom'] as const).flatMap((field) => (spec[field] ? [`, ${field} ${spec[field]}`] : []));
  const embeddings = spec.embeddings?.length ? [`, embeddings ${spec.embeddings.map((e) => (typeof e.source === 'string' ? e.source : e.source.name)).join(', ')}`] : [];
  return `"${spec.modelNameOrPath}" (dtype ${spec.dtype}${[...extra, ...embeddings].join('')})`;
}

/**
 * One engine host serving several clients (the ports of a SharedWorker, or any comlink
 * endpoints): the model loads once, `load` with the same spec returns the loaded HostInfo,
 * requests from all clients run one at a time in arrival order, and the host is disposed when
 * the last client disposes. Request ids are kept apart per client, so two pages that both
 * number their requests `req-1` cannot cancel each other's work.
 */
export class SharedEngineHost {
  readonly #createHost: () => EngineHostApi;
  #host: EngineHostApi | null = null;
  #spec: ModelSpec | null = null;
  #loading: Promise<HostInfo> | null = null;
  #tail: Promise<unknown> = Promise.resolve();
  #queued = new Set<string>();
  #cancelledWhileQueued = new Set<string>();
  #attached = new Set<number>();
  #nextClient = 0;
  #loads = 0;
  #generated = 0;

  /** `createHost` makes the real host (an `EngineHost`), once per model load. */
  constructor(createHost: () => EngineHostApi) {
    this.#createHost = createHost;
  }

  /** Counters over all clients. */
  stats(): SharedHostStats {
    return { loads: this.#loads, clients: this.#attached.size, generated: this.#generated };
  }

  /** A new client: expose it on the client's port. */
  connect(): SharedEngineClientApi {
    const id = ++this.#nextClient;
    const key = (requestId: string): string => `${id}:${requestId}`;
    return {
      load: async (spec, onLoadProgress) => {
        const info = await this.#load(spec, onLoadProgress);
        this.#attached.add(id);
        return info;
      },
      generate: (request, onProgress) => this.#generate({ ...request, requestId: key(request.requestId) }, onProgress),
      cancel: (requestId) => this.#cancel(key(requestId)),
      memory: () => this.#memory(),
      loseDevice: () => this.#host?.loseDevice(),
      injectFault: (fault) => this.#host?.injectFault(fault),
      dispose: () => this.#detach(id),
      stats: () => this.stats(),
    };
  }

  /** Only the client whose call starts the load gets its events; one that joins a load in progress gets none. */
  #load(spec: ModelSpec, onLoadProgress?: LoadProgressCallback): Promise<HostInfo> {
    if (this.#loading && this.#spec) {
      if (sameSpec(this.#spec, spec)) return this.#loading;
      return Promise.reject(
        new SharedHostModelMismatchError(
          `The shared engine host already serves ${describeSpec(this.#spec)}; this client asked for ${describeSpec(spec)}. Clients of one shared host must use the same model fields.`,
        ),
      );
    }
    const host = this.#createHost();
    this.#host = host;
    this.#spec = spec;
    this.#loads++;
    const loading = host.load(spec, onLoadProgress);
    this.#loading = loading;
    // A failed load must not stick: the next client (or retry) loads afresh.
    loading.catch(() => {
      if (this.#loading === loading) this.#reset();
    });
    return loading;
  }

  #generate(request: WireRequest, onProgress?: (p: WireProgress) => void): Promise<WireResult> {
    const host = this.#host;
    if (!host) return Promise.reject(new ExecutorUnavailableError('The shared engine host has no model: call load() before generate().'));
    const id = request.requestId;
    this.#queued.add(id);
    const run = this.#tail.then(async () => {
      this.#queued.delete(id);
      if (this.#cancelledWhileQueued.delete(id)) throw new AbortError(`Request ${id} was cancelled while it waited for the shared engine host.`);
      try {
        return await host.generate(request, onProgress);
      } finally {
        this.#generated++;
      }
    });
    this.#tail = run.catch(() => undefined);
    return run;
  }

  #cancel(requestId: string): void {
    if (this.#queued.has(requestId)) this.#cancelledWhileQueued.add(requestId);
    else this.#host?.cancel(requestId);
  }

  #memory(): HostMemory {
    return this.#host ? this.#host.memory() : { ...NO_HOST_MEMORY };
  }

  async #detach(id: number): Promise<void> {
    if (!this.#attached.delete(id) || this.#attached.size > 0) return;
    const host = this.#host;
    this.#reset();
    // Let requests already queued finish before the device goes away.
    await this.#tail;
    await host?.dispose();
  }

  #reset(): void {
    this.#host = null;
    this.#spec = null;
    this.#loading = null;
  }
}
