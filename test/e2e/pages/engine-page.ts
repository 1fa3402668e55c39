import { DiffusionEngine, type DiffusionConfigOptions, type DiffusionOutput, type LoadProgress } from '../../../src/index.js';

let engine: DiffusionEngine | null = null;
let loadEvents: LoadProgress[] = [];

/** Creates the page's engine, recording its load events; resolves with where it runs. */
export async function create(options: DiffusionConfigOptions): Promise<{ executorName: string; fallbackReason: string | null }> {
  loadEvents = [];
  engine = await DiffusionEngine.create(options, { onLoadProgress: (e) => loadEvents.push(e) });
  return { executorName: engine.executorName, fallbackReason: engine.fallbackReason };
}

/** The load events of the last `create`, as they arrived (plain data: they cross back as JSON). */
export function loadProgress(): LoadProgress[] {
  return loadEvents;
}

/** Summary of an output that crosses back to the test as JSON. */
export interface OutputSummary {
  error: string | null;
  errorName: string | null | undefined;
  images: Array<{ width: number; height: number; bytes: number; mean: number }>;
  progress: number[];
  previews: number;
  mainThreadTicks: number;
  perStepMs: number | undefined;
  totalMs: number | undefined;
}

/**
 * Generates; with `cancelAtStep`, aborts once that step's progress arrives. Counts main-thread
 * timer ticks meanwhile, to show the page stays responsive while the worker computes.
 */
export async function generate(request: Record<string, unknown>, cancelAtStep?: number, crashAtStep?: number): Promise<OutputSummary> {
  if (!engine) throw new Error('create() first');
  const controller = new AbortController();
  const progress: number[] = [];
  let previews = 0;
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  try {
    const [out] = (await engine.step([
      {
        prompt: 'a photo of a cat',
        ...request,
        signal: controller.signal,
        onProgress: (p) => {
          progress.push(p.step);
          if (p.preview) previews++;
          if (cancelAtStep !== undefined && p.step >= cancelAtStep) controller.abort();
          if (crashAtStep !== undefined && p.step === crashAtStep) void engine!.collectiveRpc('crashWorker').catch(() => undefined);
        },
      },
    ])) as [DiffusionOutput];
    return {
      error: out.error,
      errorName: out.errorName,
      images: out.images.map((img) => ({
        width: img.width,
        height: img.height,
        bytes: img.data.length,
        mean: img.data.reduce((a, b) => a + b, 0) / img.data.length,
      })),
      progress,
      previews,
      mainThreadTicks: ticks,
      perStepMs: out.metrics.perStepMs,
      totalMs: out.metrics.totalMs,
    };
  } finally {
    clearInterval(timer);
  }
}

/** Arms a fault in the engine host (in the worker): the next request fails mid-recording. */
export async function injectFault(kind: string, afterDispatches: number): Promise<void> {
  if (!engine) throw new Error('create() first');
  await engine.collectiveRpc('injectFault', [{ kind, afterDispatches }]);
}

export async function close(): Promise<void> {
  await engine?.close();
  engine = null;
}
