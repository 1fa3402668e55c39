import * as Comlink from 'comlink';
import type { DiffusionOutput } from '../../engine/output.js';
import { failedOutput } from '../../engine/output.js';
import type { DiffusionRequest } from '../../engine/request.js';
import { AbortError, ExecutorUnavailableError } from '../../errors.js';
import { requestGpuDevice } from '../../gpu/device.js';
import type { EngineHostApi, HostInfo, HostMemory, ModelSpec, WireRequest } from '../../worker/protocol.js';
import { DiffusionExecutor } from '../executor.js';

type Host = EngineHostApi | Comlink.Remote<EngineHostApi & { crash(): void }>;

const isBrowser = typeof (globalThis as { Worker?: unknown }).Worker === 'function' && typeof (globalThis as { document?: unknown }).document !== 'undefined';

/**
 * The `webgpu` executor: Stable Diffusion on our WGSL kernels.
 *
 * In the browser a module Web Worker owns the GPU device and the model, and the page only posts
 * requests and receives images and progress (comlink). In Node the same host runs in-process
 * on Dawn. Requests run one at a time, in the order `executeModel` was called.
 *
 * Config fields read: `modelNameOrPath`, `dtype`, and the custom fields `variant` (Hub weights
 * variant, e.g. `'fp16'`), `taesd` (a TAESD repo for `decoder: 'taesd'`), `worker` (false runs
 * in-process in the browser too) and `preview` (true: a preview image with each progress event).
 */
export class WebGPUDiffusionExecutor extends DiffusionExecutor {
  #host: Host | null = null;
  #worker: Worker | null = null;
  #crashed: Promise<never> | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #info: HostInfo | null = null;

  /** Adapter, features, model and its defaults; null before init. */
  get info(): HostInfo | null {
    return this.#info;
  }

  async initExecutor(): Promise<void> {
    // Probe first, so a machine without WebGPU falls back before any model download.
    const probe = await requestGpuDevice();
    probe.device.destroy();
    this.#info = await this.#startHost();
  }

  #spec(): ModelSpec {
    const c = this.config;
    if (!c.modelNameOrPath) throw new ExecutorUnavailableError('The webgpu executor needs DiffusionConfig.modelNameOrPath (a Hub id, URL or local folder).');
    return {
      modelNameOrPath: c.modelNameOrPath,
      dtype: c.dtype,
      variant: typeof c.variant === 'string' ? c.variant : null,
      taesd: typeof c.taesd === 'string' ? c.taesd : null,
    };
  }

  async #startHost(): Promise<HostInfo> {
    const spec = this.#spec();
    if (isBrowser && this.config.worker !== false) {
      const worker = new Worker(new URL('../../worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'omni-diffusion' });
      this.#worker = worker;
      this.#crashed = new Promise<never>((_, reject) => {
        worker.addEventListener('error', (event) => {
          event.preventDefault();
          reject(new Error(`The engine worker crashed: ${event.message || 'unknown error'}`));
        });
      });
      this.#crashed.catch(() => undefined);
      this.#host = Comlink.wrap<EngineHostApi & { crash(): void }>(worker);
    } else {
      const { EngineHost } = await import('../../worker/engine-host.js');
      this.#host = new EngineHost();
    }
    return this.#guard(this.#host.load(spec));
  }

  /** Races a host call against a worker crash. */
  #guard<T>(call: Promise<T>): Promise<T> {
    return this.#crashed ? Promise.race([call, this.#crashed]) : call;
  }

  async #restart(): Promise<void> {
    this.#worker?.terminate();
    this.#worker = null;
    this.#crashed = null;
    this.#host = null;
    this.#info = await this.#startHost();
  }

  executeModel(requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
    const run = this.#queue.then(async () => {
      const outputs: DiffusionOutput[] = [];
      for (const r of requests) outputs.push(await this.#runOne(r));
      return outputs;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #runOne(r: DiffusionRequest): Promise<DiffusionOutput> {
    if (r.signal?.aborted) return failedOutput(r.requestId, new AbortError(`Request ${r.requestId} was aborted before it started.`));
    if (!this.#host) {
      try {
        await this.#restart();
      } catch (err) {
        return failedOutput(r.requestId, err);
      }
    }
    const host = this.#host!;
    const seed = r.seed ?? Math.floor(Math.random() * 2 ** 31);
    const wire: WireRequest = {
      requestId: r.requestId,
      prompt: r.prompt,
      negativePrompt: r.negativePrompt,
      seed,
      numOutputsPerPrompt: r.numOutputsPerPrompt,
      returnTrajectoryLatents: r.returnTrajectoryLatents,
      preview: this.config.preview === true,
      ...(r.numInferenceSteps !== undefined ? { numInferenceSteps: r.numInferenceSteps } : {}),
      ...(r.guidanceScale !== undefined ? { guidanceScale: r.guidanceScale } : {}),
      ...(r.height !== undefined ? { height: r.height } : {}),
      ...(r.width !== undefined ? { width: r.width } : {}),
      ...(r.scheduler !== undefined ? { scheduler: r.scheduler } : {}),
      ...(r.decoder !== undefined ? { decoder: r.decoder } : {}),
      ...(r.latents !== undefined ? { latents: r.latents } : {}),
    };
    const onAbort = (): void => void host.cancel(r.requestId);
    r.signal?.addEventListener('abort', onAbort, { once: true });
    const progress = r.onProgress
      ? (p: { step: number; total: number; elapsedMs: number; preview?: DiffusionOutput['images'][number] }) =>
          r.onProgress!({ requestId: r.requestId, ...p })
      : undefined;
    try {
      const result = await this.#guard(host.generate(wire, progress && this.#worker ? Comlink.proxy(progress) : progress));
      return { requestId: r.requestId, error: null, errorName: null, ...result };
    } catch (err) {
      if (this.#worker && (await isCrash(this.#crashed))) this.#host = null;
      return failedOutput(r.requestId, err);
    } finally {
      r.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** GPU memory in use by the model and live requests. */
  memory(): Promise<HostMemory> {
    return Promise.resolve(this.#host ? this.#host.memory() : { liveBytes: 0, peakBytes: 0 });
  }

  /** Fault injection for tests: loses the GPU device as a driver reset would. */
  async loseDevice(): Promise<void> {
    await this.#host?.loseDevice();
  }

  /** Fault injection for tests: crashes the worker (browser only). */
  async crashWorker(): Promise<void> {
    if (!this.#worker) throw new Error('crashWorker: the executor runs in-process, there is no worker to crash.');
    await (this.#host as Comlink.Remote<{ crash(): void }>).crash();
  }

  override async checkHealth(): Promise<void> {
    if (!this.#host) throw new Error('The webgpu executor has no running engine host (it is restarting or closed).');
    await this.#guard(Promise.resolve(this.#host.memory()));
  }

  override async shutdown(): Promise<void> {
    await this.#queue;
    try {
      await this.#host?.dispose();
    } finally {
      this.#worker?.terminate();
      this.#worker = null;
      this.#host = null;
    }
  }
}

async function isCrash(crashed: Promise<never> | null): Promise<boolean> {
  if (!crashed) return false;
  return Promise.race([crashed.then(() => false, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), 0))]);
}
