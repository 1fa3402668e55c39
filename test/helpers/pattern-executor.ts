import { AbortError, DiffusionExecutor, failedOutput, type DiffusionOutput, type DiffusionRequest } from '../../src/index.js';
import { SERVER_CHOSEN_SEED, SERVER_DEFAULT_SIZE, testPattern } from './fake-image-api.js';

/**
 * A stand-in for a GPU executor, for tests of what sits in front of the engine (the image
 * server): each step sleeps `config.stepMs` (default 2) and reports progress, honouring the
 * request's signal between steps; image i is `testPattern(width, height, seed + i)`. A prompt
 * of `fail` fails the request. Every instance counts the requests running at once.
 */
export class PatternExecutor extends DiffusionExecutor {
  running = 0;
  maxRunning = 0;
  /** Request ids in the order they started, and those that ended by their signal. */
  readonly started: string[] = [];
  readonly aborted: string[] = [];

  initExecutor(): void {}

  executeModel(requests: DiffusionRequest[]): Promise<DiffusionOutput[]> {
    return Promise.all(requests.map((r) => this.#run(r)));
  }

  async #run(r: DiffusionRequest): Promise<DiffusionOutput> {
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    this.started.push(r.requestId);
    const started = performance.now();
    try {
      const total = r.numInferenceSteps ?? 4;
      const stepMs = typeof this.config.stepMs === 'number' ? this.config.stepMs : 2;
      for (let step = 1; step <= total; step++) {
        await new Promise((resolve) => setTimeout(resolve, stepMs));
        if (r.signal?.aborted) {
          this.aborted.push(r.requestId);
          return failedOutput(r.requestId, new AbortError(`Request ${r.requestId} was aborted at step ${step}.`));
        }
        r.onProgress?.({ requestId: r.requestId, step, total, elapsedMs: performance.now() - started });
      }
      if (r.prompt === 'fail') return failedOutput(r.requestId, new Error('the pattern executor was told to fail'));
      const width = r.width ?? SERVER_DEFAULT_SIZE;
      const height = r.height ?? SERVER_DEFAULT_SIZE;
      const seed = r.seed ?? SERVER_CHOSEN_SEED;
      const seeds = Array.from({ length: r.numOutputsPerPrompt }, (_, i) => seed + i);
      return {
        requestId: r.requestId,
        images: seeds.map((s) => ({ width, height, data: testPattern(width, height, s), seed: s })),
        error: null,
        errorName: null,
        trajectoryLatents: null,
        trajectoryTimesteps: null,
        metrics: { executor: 'pattern', seeds, totalMs: performance.now() - started },
      };
    } finally {
      this.running--;
    }
  }
}
