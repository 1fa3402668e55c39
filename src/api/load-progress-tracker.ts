import type { ByteProgress } from '../io/byte-source.js';
import type { LoadProgress, LoadProgressCallback, LoadReadyEvent } from './load-progress.js';

/** Options of {@link LoadProgressTracker}. */
export interface LoadProgressTrackerOptions {
  /** Milliseconds, monotonic; default `performance.now`. Tests inject a fake clock. */
  now?: () => number;
  /** Span of the bytes/s average. Default 3000 ms: long enough to smooth bursty chunks, short enough to follow a changing link. */
  rateWindowMs?: number;
  /**
   * Least time between two `download` events of one file (and between `upload` events). Default
   * 100 ms: a 1.7 GB file arrives in tens of thousands of chunks, and every event may cross a
   * worker boundary. A file's first and last events are always sent.
   */
  minIntervalMs?: number;
}

interface FileState {
  loaded: number;
  total: number | null;
  lastEmit: number;
  done: boolean;
  cached: boolean;
}

/**
 * Turns what a load sees (the weight files it will read, the `ByteProgress` of each, bytes
 * written to the GPU, pipelines compiled) into the `LoadProgress` events of the shared
 * contract, in order: `resolve`, `download`/`cached`, `upload`, `compile`, `ready`.
 *
 * Bytes whose `origin` is `cache` make one `cached` event per file, not downloads; any other
 * origin (network, a local folder, a Blob) is a download. Overall totals count cached files whole.
 * `bytesPerSecond` is the bytes fetched (not resumed ones) over the last `rateWindowMs`.
 */
export class LoadProgressTracker {
  readonly #emit: LoadProgressCallback;
  readonly #now: () => number;
  readonly #window: number;
  readonly #interval: number;
  readonly #start: number;
  readonly #files = new Map<string, FileState>();
  /** Sizes stated by `resolve`, used while a file's own progress has no total. */
  readonly #resolved = new Map<string, number | null>();
  /** (time, cumulative fetched bytes) samples for the rate; the first is the baseline. */
  readonly #samples: Array<[number, number]> = [];
  #fetched = 0;
  #cachedBytes = 0;
  #resolveAt: number | null = null;
  #firstByte: number | null = null;
  #lastByte: number | null = null;
  #uploaded = 0;
  #uploadTotal: number | null = null;
  #uploadFirst: number | null = null;
  #uploadLast: number | null = null;
  #uploadEmitted = 0;
  #lastUploadEmit = -Infinity;
  #compileMs = 0;
  #lastCompileEmit = -Infinity;
  #ready = false;

  constructor(emit: LoadProgressCallback, options: LoadProgressTrackerOptions = {}) {
    this.#emit = emit;
    this.#now = options.now ?? (() => performance.now());
    this.#window = options.rateWindowMs ?? 3000;
    this.#interval = options.minIntervalMs ?? 100;
    this.#start = this.#now();
    this.#samples.push([this.#start, 0]);
  }

  /** The weight files the load will read, with their sizes where known. Call once, before any bytes. */
  resolve(files: ReadonlyArray<{ file: string; bytes: number | null }>): void {
    this.#resolveAt = this.#now();
    if (this.#fetched === 0) this.#samples.splice(0, this.#samples.length, [this.#resolveAt, 0]);
    for (const f of files) this.#resolved.set(f.file, f.bytes);
    const sizes = files.map((f) => f.bytes);
    const totalBytes = sizes.every((b): b is number => b !== null) ? sizes.reduce((a, b) => a + b, 0) : null;
    this.#send({ status: 'resolve', files: files.map((f) => ({ file: f.file, bytes: f.bytes })), totalBytes });
  }

  /** Byte progress of one file, as a `ModelSource` reports it (`FetchFileOptions.onProgress`). */
  bytes(p: ByteProgress): void {
    const now = this.#now();
    let state = this.#files.get(p.file);
    const total = p.total ?? this.#resolved.get(p.file) ?? null;
    if (!state) {
      state = { loaded: p.resumedBytes ?? 0, total, lastEmit: -Infinity, done: false, cached: p.origin === 'cache' };
      this.#files.set(p.file, state);
    }
    if (state.done) return;
    const fetchedNow = Math.max(0, p.loaded - Math.max(state.loaded, p.resumedBytes ?? 0));
    state.loaded = Math.max(state.loaded, p.loaded);
    state.total = total;
    const complete = state.total !== null && state.loaded >= state.total;
    if (state.cached) {
      // One event per cached file, as soon as its size is known (at the latest when its stream
      // ends); from then on it counts whole in the overall totals.
      if (state.total !== null) {
        state.done = true;
        state.loaded = state.total;
        this.#cachedBytes += state.total;
        this.#send({ status: 'cached', file: p.file, bytes: state.total });
      }
      return;
    }
    if (fetchedNow > 0) {
      this.#fetched += fetchedNow;
      this.#firstByte ??= now;
      this.#lastByte = now;
      const last = this.#samples[this.#samples.length - 1]!;
      // Chunks close together share one sample, so the window holds tens of samples, not thousands.
      if (this.#samples.length > 1 && now - last[0] < this.#interval / 4) last[1] = this.#fetched;
      else this.#samples.push([now, this.#fetched]);
    }
    if (complete) state.done = true;
    if (!complete && state.lastEmit !== -Infinity && now - state.lastEmit < this.#interval) return;
    state.lastEmit = now;
    const overall = this.#overall();
    this.#send({
      status: 'download',
      file: p.file,
      loaded: state.loaded,
      total: state.total,
      resumedBytes: p.resumedBytes ?? 0,
      overallLoaded: overall.loaded,
      overallTotal: overall.total,
      bytesPerSecond: this.#rate(now),
    });
  }

  /** `bytes` more weight bytes were written to the GPU; `total` when the load knows it. */
  upload(bytes: number, total: number | null = this.#uploadTotal): void {
    const now = this.#now();
    this.#uploaded += bytes;
    this.#uploadTotal = total;
    this.#uploadFirst ??= now;
    this.#uploadLast = now;
    if (now - this.#lastUploadEmit >= this.#interval) this.#sendUpload(now);
  }

  /** Sends the upload count if it changed since the last event (call when the uploads end). */
  flushUpload(): void {
    this.#sendUpload(this.#now());
  }

  /**
   * `done` of `total` GPU pipelines compiled; `elapsedMs` the time the compile phase took so far.
   * At most one event per `minIntervalMs`, besides the first and the last (`done === total`).
   */
  compile(done: number, total: number | null, elapsedMs = 0): void {
    this.#compileMs = elapsedMs;
    const now = this.#now();
    const edge = this.#lastCompileEmit === -Infinity || done === total;
    if (!edge && now - this.#lastCompileEmit < this.#interval) return;
    this.#lastCompileEmit = now;
    this.#send({ status: 'compile', done, total });
  }

  /** The last event: the model is loaded. Later calls of any method send nothing. */
  ready(): LoadReadyEvent {
    this.flushUpload();
    const now = this.#now();
    const span = (a: number | null, b: number | null): number => (a !== null && b !== null ? b - a : 0);
    const event: LoadReadyEvent = {
      status: 'ready',
      timings: {
        resolveMs: (this.#resolveAt ?? this.#start) - this.#start,
        downloadMs: span(this.#firstByte, this.#lastByte),
        uploadMs: span(this.#uploadFirst, this.#uploadLast),
        compileMs: this.#compileMs,
        totalMs: now - this.#start,
      },
      downloadedBytes: this.#fetched,
      cachedBytes: this.#cachedBytes,
    };
    this.#send(event);
    this.#ready = true;
    return event;
  }

  #sendUpload(now: number): void {
    if (this.#uploaded === this.#uploadEmitted) return;
    this.#uploadEmitted = this.#uploaded;
    this.#lastUploadEmit = now;
    this.#send({ status: 'upload', loaded: this.#uploaded, total: this.#uploadTotal });
  }

  #overall(): { loaded: number; total: number | null } {
    let loaded = 0;
    let total: number | null = 0;
    const names = new Set([...this.#resolved.keys(), ...this.#files.keys()]);
    for (const name of names) {
      const state = this.#files.get(name);
      loaded += state?.loaded ?? 0;
      const size = state?.total ?? this.#resolved.get(name) ?? null;
      total = total === null || size === null ? null : total + size;
    }
    return { loaded, total };
  }

  /**
   * Fetched bytes per second over the window: from the newest sample at least `rateWindowMs` old
   * (at first, the moment the files were resolved, with 0 bytes) to now.
   */
  #rate(now: number): number {
    while (this.#samples.length > 1 && this.#samples[1]![0] <= now - this.#window) this.#samples.shift();
    const [t0, b0] = this.#samples[0]!;
    return now > t0 ? ((this.#fetched - b0) * 1000) / (now - t0) : 0;
  }

  #send(event: LoadProgress): void {
    if (this.#ready) return;
    this.#emit(event);
  }
}

/**
 * Wraps a user's callback so that it never breaks a load: an exception is caught and reported
 * with `console.warn` once (later ones are dropped silently, so a broken UI does not flood the console).
 */
export function safeLoadProgressCallback(callback: LoadProgressCallback): LoadProgressCallback {
  let warned = false;
  return (event) => {
    try {
      callback(event);
    } catch (err) {
      if (warned) return;
      warned = true;
      console.warn('omni-diffusion: the onLoadProgress callback threw; the load goes on and later errors of it are not reported.', err);
    }
  };
}
