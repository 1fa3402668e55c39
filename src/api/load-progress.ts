/**
 * What loading a model reports, one event at a time, in this order: `resolve` once, then per
 * file `download` (repeatedly) or `cached` (once), `upload` as weights reach the GPU, `compile`
 * for the kernels, and `ready` last. Every executor that loads weights reports them, also from
 * a worker; an executor that loads none (http) reports `ready` only. Events are plain data, so
 * they cross worker boundaries and can be logged as JSON.
 */
export type LoadProgress = LoadResolveEvent | LoadDownloadEvent | LoadCachedEvent | LoadUploadEvent | LoadCompileEvent | LoadReadyEvent;

/** The files to load are known, with their sizes where the source states them. */
export interface LoadResolveEvent {
  readonly status: 'resolve';
  /** Model-relative paths (`unet/diffusion_pytorch_model.safetensors`) and their sizes in bytes (null: unknown). */
  readonly files: readonly { readonly file: string; readonly bytes: number | null }[];
  /** Sum of the known sizes; null when any is unknown. */
  readonly totalBytes: number | null;
}

/** Bytes of one file arriving from the network (or a local file or `Blob` being read). */
export interface LoadDownloadEvent {
  readonly status: 'download';
  readonly file: string;
  /** Bytes of this file stored so far, including `resumedBytes`. */
  readonly loaded: number;
  /** This file's size; null while unknown. */
  readonly total: number | null;
  /** Bytes of this file already stored by an earlier, interrupted download that this one resumed (0: none). */
  readonly resumedBytes: number;
  /** All files: bytes loaded (cached files count whole) and the total (null while any size is unknown). */
  readonly overallLoaded: number;
  readonly overallTotal: number | null;
  /** Download speed over the last few seconds, bytes per second. */
  readonly bytesPerSecond: number;
}

/** A file served whole from the model cache: no download. */
export interface LoadCachedEvent {
  readonly status: 'cached';
  readonly file: string;
  readonly bytes: number;
}

/** Weight bytes copied to the GPU so far. */
export interface LoadUploadEvent {
  readonly status: 'upload';
  readonly loaded: number;
  readonly total: number | null;
}

/** GPU pipelines (kernels) compiled so far. */
export interface LoadCompileEvent {
  readonly status: 'compile';
  readonly done: number;
  readonly total: number | null;
}

/** The model is loaded and the engine can generate. */
export interface LoadReadyEvent {
  readonly status: 'ready';
  /** Milliseconds spent per phase and in all, from `DiffusionEngine.create` on. */
  readonly timings: { readonly resolveMs: number; readonly downloadMs: number; readonly uploadMs: number; readonly compileMs: number; readonly totalMs: number };
  /** Bytes fetched from the network in this load (a resumed file counts only what was fetched now). */
  readonly downloadedBytes: number;
  /** Bytes served from the cache. */
  readonly cachedBytes: number;
}

/** Receives load events. A callback that throws is reported (console) and never breaks the load. */
export type LoadProgressCallback = (event: LoadProgress) => void;
