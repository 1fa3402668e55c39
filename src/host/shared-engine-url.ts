// `?worker&url`: the build compiles the worker script with its imports into its own chunk and
// gives its URL here; the dev server serves it as a module worker.
import workerUrl from './shared-engine.worker.ts?worker&url';

/**
 * The URL of the shared engine worker script this library ships, for the `external`
 * executor's `sharedWorkerUrl`: every page of the origin that passes it joins the same
 * SharedWorker, so they share one GPU device and one loaded model.
 */
export function sharedEngineWorkerUrl(): URL {
  return new URL(workerUrl, import.meta.url);
}
