import { DiffusionEngine, type DiffusionOutput } from '../../../src/index.js';
import { sharedEngineWorkerUrl } from '../../../src/host/shared-engine-url.js';
import type { SharedHostStats } from '../../../src/host/shared-engine-host.js';

let engine: DiffusionEngine | null = null;

/** Attaches this page to the library's shared engine worker; resolves with where it runs and how long `create` took. */
export async function create(modelNameOrPath: string): Promise<{ executorName: string; createMs: number }> {
  const started = performance.now();
  engine = await DiffusionEngine.create({ executorClass: 'external', sharedWorkerUrl: sharedEngineWorkerUrl(), modelNameOrPath, dtype: 'f32' });
  return { executorName: engine.executorName, createMs: performance.now() - started };
}

/** Generates one image; resolves with a JSON summary, its pixels' checksum included. */
export async function generate(request: Record<string, unknown>): Promise<{ error: string | null; progress: number[]; images: Array<{ width: number; height: number; sum: number }> }> {
  if (!engine) throw new Error('create() first');
  const progress: number[] = [];
  const [out] = (await engine.step([{ prompt: 'a photo of a cat', ...request, onProgress: (p) => progress.push(p.step) }])) as [DiffusionOutput];
  return {
    error: out.error,
    progress,
    images: out.images.map((img) => ({ width: img.width, height: img.height, sum: img.data.reduce((a, b) => a + b, 0) })),
  };
}

/** The shared host's counters (model loads, attached clients, requests served). */
export async function stats(): Promise<SharedHostStats> {
  if (!engine) throw new Error('create() first');
  const [s] = (await engine.collectiveRpc('stats')) as [SharedHostStats];
  return s;
}

export async function close(): Promise<void> {
  await engine?.close();
  engine = null;
}
