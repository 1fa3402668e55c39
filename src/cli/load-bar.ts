import type { LoadProgress } from '../api/load-progress.js';
import { formatBytes } from '../api/format-bytes.js';
import { formatSeconds } from './progress-bar.js';

export { formatBytes };

const BAR_WIDTH = 24;
/** Off a terminal: a line at most this often while the weights arrive (plus one at each new tenth, and the last). */
const LOG_INTERVAL_MS = 1000;

/**
 * The model load on stderr, from `DiffusionEngine.create`'s `onLoadProgress`: a download bar
 * with bytes, speed and ETA, then the upload and compile phases and a summary. On a terminal it
 * redraws one line in place; elsewhere (logs, CI) it prints a plain line when the download has
 * reached a new tenth and a second has passed since the last, and the finished download always,
 * so a log gets at most about ten lines for a 2 GB model.
 */
export class LoadBar {
  readonly #write: (s: string) => void;
  readonly #tty: boolean;
  readonly #now: () => number;
  #drawn = false;
  #lastLine = -Infinity;
  #lastTenth = -1;
  #cachedFiles = 0;
  #cachedBytes = 0;
  #downloadDone = false;

  constructor(write: (s: string) => void, tty: boolean, now: () => number = () => performance.now()) {
    this.#write = write;
    this.#tty = tty;
    this.#now = now;
  }

  /** Shows one load event. */
  update(event: LoadProgress): void {
    switch (event.status) {
      case 'resolve':
        return;
      case 'cached':
        this.#cachedFiles++;
        this.#cachedBytes += event.bytes;
        if (this.#tty) this.#draw(`Cached: ${this.#cachedFiles} file${this.#cachedFiles === 1 ? '' : 's'}, ${formatBytes(this.#cachedBytes)}`);
        return;
      case 'download': {
        const line = formatDownload(event);
        const done = event.overallTotal !== null && event.overallLoaded >= event.overallTotal;
        if (this.#tty) {
          this.#draw(line);
          return;
        }
        const tenth = event.overallTotal ? Math.floor((10 * event.overallLoaded) / event.overallTotal) : -1;
        const now = this.#now();
        const due = tenth > this.#lastTenth && now - this.#lastLine >= LOG_INTERVAL_MS;
        if ((done && !this.#downloadDone) || due) {
          this.#lastTenth = Math.max(this.#lastTenth, tenth);
          this.#lastLine = now;
          this.#write(`${line}\n`);
        }
        if (done) this.#downloadDone = true;
        return;
      }
      case 'upload':
        if (this.#tty) this.#draw(`Uploading to the GPU: ${formatBytes(event.loaded)}${event.total !== null ? ` of ${formatBytes(event.total)}` : ''}`);
        return;
      case 'compile':
        if (this.#tty) this.#draw(`Compiling GPU pipelines: ${event.done}${event.total !== null ? `/${event.total}` : ''}`);
        return;
      case 'ready': {
        const t = event.timings;
        const parts = [`downloaded ${formatBytes(event.downloadedBytes)}`];
        if (event.cachedBytes > 0) parts.push(`cached ${formatBytes(event.cachedBytes)}`);
        this.#end();
        this.#write(`Loaded in ${formatSeconds(t.totalMs / 1000)} (${parts.join(', ')}; download ${formatSeconds(t.downloadMs / 1000)}, upload ${formatSeconds(t.uploadMs / 1000)}, compile ${formatSeconds(t.compileMs / 1000)})\n`);
        return;
      }
    }
  }

  /** Ends a line drawn in place, so what follows starts on a fresh one (call when the load fails too). */
  finish(): void {
    this.#end();
  }

  #draw(line: string): void {
    this.#write(`\r${line}\x1b[K`);
    this.#drawn = true;
  }

  #end(): void {
    if (this.#drawn) this.#write('\n');
    this.#drawn = false;
  }
}

/** `Downloading [#####-------------------] 12.3 MB/56.0 MB  4.1 MB/s  ETA 10.7s` (sizes unknown: bytes and speed only). */
export function formatDownload(event: Extract<LoadProgress, { status: 'download' }>): string {
  const { overallLoaded: loaded, overallTotal: total, bytesPerSecond: rate } = event;
  const speed = `${formatBytes(rate)}/s`;
  if (total === null || total <= 0) return `Downloading ${formatBytes(loaded)}  ${speed}`;
  const filled = Math.round((BAR_WIDTH * Math.min(loaded, total)) / total);
  const eta = rate > 0 ? (total - loaded) / rate : NaN;
  return `Downloading [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${formatBytes(loaded)}/${formatBytes(total)}  ${speed}  ETA ${Number.isFinite(eta) ? formatSeconds(eta) : '?'}`;
}
