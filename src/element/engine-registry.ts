import type { DiffusionConfigOptions, DTypeOption } from '../api/config.js';
import { DiffusionEngine, type DiffusionEngineCreateOptions } from '../api/engine.js';
import type { LoadProgress, LoadProgressCallback } from '../api/load-progress.js';

/** What makes two elements able to share an engine. */
export interface EngineKey {
  /** Hub id or URL of the model. */
  model: string;
  /** `webgpu`, `onnx` or `http`. */
  executor: string;
  /** Absolute http(s) URL of a vllm-omni server, or null. */
  endpoint: string | null;
  dtype: DTypeOption;
  /** Hub weights variant (`fp16` halves the download), or null for the full-precision files. */
  variant: string | null;
  /** The TAESD to load (`auto`: by the model's family) when the element asks for `decoder="taesd"`, else null. */
  taesd: string | null;
}

/** A reference to a shared engine; call `release()` exactly once when done with it. */
export interface EngineLease {
  readonly key: EngineKey;
  readonly engine: Promise<DiffusionEngine>;
  release(): void;
}

/** Creates an engine from config options (tests swap it for a fake). */
export type EngineFactory = (options: DiffusionConfigOptions, createOptions?: DiffusionEngineCreateOptions) => Promise<DiffusionEngine>;

interface Entry {
  engine: Promise<DiffusionEngine>;
  refs: number;
  load: LoadFanOut;
}

/** One load's events, handed to every lease that listens. */
interface LoadFanOut {
  /** One per lease that gave a listener. */
  listeners: Set<LoadProgressCallback>;
  /** The last event, so an element that joins a load in progress shows where it stands. */
  last: LoadProgress | null;
}

const entries = new Map<string, Entry>();

function keyString(key: EngineKey): string {
  return JSON.stringify([key.model, key.executor, key.endpoint, key.dtype, key.variant, key.taesd]);
}

/**
 * The engine config for a key: previews on, and with an endpoint, `http` as the fallback of
 * an in-browser executor (or the executor itself when `executor` is `http`).
 */
export function engineOptionsOf(key: EngineKey): DiffusionConfigOptions {
  const http = key.endpoint ? { http: { baseUrl: key.endpoint } } : {};
  if (key.executor === 'http') return { executorClass: 'http', numGpus: 0, modelNameOrPath: key.model, ...http };
  return {
    executorClass: key.executor,
    modelNameOrPath: key.model,
    dtype: key.dtype,
    preview: true,
    ...(key.variant ? { variant: key.variant } : {}),
    ...(key.taesd ? { taesd: key.taesd } : {}),
    ...(key.endpoint ? { fallback: 'http', ...http } : {}),
  };
}

/**
 * Takes a reference to the engine for `key`, creating it on first use. Elements with the same
 * model, executor, endpoint, dtype and variant get the same engine (one worker, one loaded model); it is
 * closed when the last reference is released. A failed creation is forgotten, so the next
 * acquire tries again.
 */
export function acquireEngine(key: EngineKey, create: EngineFactory = (o, c) => DiffusionEngine.create(o, c), onLoadProgress?: LoadProgressCallback): EngineLease {
  const id = keyString(key);
  let entry = entries.get(id);
  if (!entry) {
    const load: LoadFanOut = { listeners: new Set(), last: null };
    const created = create(engineOptionsOf(key), {
      onLoadProgress: (event) => {
        load.last = event;
        for (const listener of [...load.listeners]) listener(event);
      },
    });
    const fresh: Entry = { engine: created, refs: 0, load };
    // Once loaded, nobody needs the load's listeners (nor the elements they hold).
    created.then(
      () => load.listeners.clear(),
      () => load.listeners.clear(),
    );
    created.catch(() => {
      if (entries.get(id) === fresh) entries.delete(id);
    });
    entries.set(id, fresh);
    entry = fresh;
  }
  entry.refs++;
  const held = entry;
  if (onLoadProgress) {
    held.load.listeners.add(onLoadProgress);
    if (held.load.last && held.load.last.status !== 'ready') onLoadProgress(held.load.last);
  }
  let released = false;
  return {
    key,
    engine: held.engine,
    release() {
      if (released) return;
      released = true;
      if (onLoadProgress) held.load.listeners.delete(onLoadProgress);
      held.refs--;
      if (held.refs > 0) return;
      if (entries.get(id) === held) entries.delete(id);
      held.engine.then((engine) => engine.close()).catch(() => undefined);
    },
  };
}

/** Number of live shared engines (created or being created). */
export function sharedEngineCount(): number {
  return entries.size;
}
