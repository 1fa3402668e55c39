/** What the bar needs of a progress event: `DiffusionProgress` fits. */
export interface StepProgress {
  step: number;
  total: number;
  /** Milliseconds since the request started. */
  elapsedMs: number;
}

const BAR_WIDTH = 24;

/**
 * A denoising progress bar with steps/s and ETA. On a terminal it redraws one line in place;
 * elsewhere (logs, CI, pipes) it prints a plain line at each quarter of the steps, so a log
 * does not fill with one line per step.
 */
export class ProgressBar {
  readonly #write: (s: string) => void;
  readonly #tty: boolean;
  #drawn = false;
  #lastQuarter = -1;

  constructor(write: (s: string) => void, tty: boolean) {
    this.#write = write;
    this.#tty = tty;
  }

  /** Shows the progress of one finished step. */
  update(progress: StepProgress): void {
    const line = formatProgress(progress);
    if (this.#tty) {
      this.#write(`\r${line}\x1b[K`);
      this.#drawn = true;
      return;
    }
    const quarter = Math.floor((4 * progress.step) / progress.total);
    if (quarter > this.#lastQuarter || progress.step === progress.total) {
      this.#lastQuarter = quarter;
      this.#write(`${line}\n`);
    }
  }

  /** Ends the bar's line, so what follows starts on a fresh one. */
  finish(): void {
    if (this.#drawn) this.#write('\n');
    this.#drawn = false;
  }
}

/** `[#########---------------] 9/24  12.5 steps/s  ETA 1.2s` */
export function formatProgress({ step, total, elapsedMs }: StepProgress): string {
  const filled = total > 0 ? Math.round((BAR_WIDTH * Math.min(step, total)) / total) : BAR_WIDTH;
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  const rate = elapsedMs > 0 ? (step * 1000) / elapsedMs : 0;
  const eta = rate > 0 ? (total - step) / rate : NaN;
  return `${bar} ${step}/${total}  ${rate.toFixed(rate >= 10 ? 1 : 2)} steps/s  ETA ${Number.isFinite(eta) ? formatSeconds(eta) : '?'}`;
}

/** Seconds with a precision that suits their size: `0.42s`, `3.1s`, `2m05s`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 1) return `${seconds.toFixed(2)}s`;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${String(Math.round(seconds - m * 60)).padStart(2, '0')}s`;
}
