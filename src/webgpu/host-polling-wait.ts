/**
 * The share of a submission's measured GPU time that a host-polling wait sleeps through before
 * it starts polling: short enough that a faster submission is not slept past by much (the next
 * one is queued behind it, so the GPU stays busy meanwhile), long enough to skip most polling.
 */
const POLITE_WAIT_SHARE = 0.85;

/** A fence mapped within this many ms of the first poll had finished before it. */
const ALREADY_DONE_MS = 1.5;
/** What the estimate shrinks by when a fence had finished before the wait woke up. */
const OVERSLEPT_SHRINK = 0.75;

/** Distinct work signatures whose GPU time is remembered (then the memory starts over). */
const MAX_WAIT_ESTIMATES = 256;

/** A submission to wait for: when it was submitted and its work signature. */
export interface SubmittedWork {
  readonly submittedAt: number;
  /** Its dispatch and workgroup counts: the steps of one model at one size share it. */
  readonly work: string;
}

/**
 * Waits for submissions where the WebGPU implementation completes promises by polling on this
 * thread (Dawn's Node binding spins `setImmediate` while one is pending, taking a core from a CPU
 * driver such as lavapipe): the wait first sleeps for most of the GPU time measured for earlier
 * submissions of the same work, then polls. Built only for such implementations.
 */
export class HostPollingWait {
  /**
   * Smoothed GPU time of submissions by work signature: the steps of one model at one size share
   * a signature, so the estimate carries over from one image to the next but not to other work.
   */
  #estimates = new Map<string, number>();
  #lastWork: string | null = null;
  #lastDone = 0;

  /** The GPU time (smoothed, ms) expected of submissions like the last one waited for; null before any. */
  get estimateMs(): number | null {
    return this.#lastWork === null ? null : (this.#estimates.get(this.#lastWork) ?? null);
  }

  /** Sleeps through most of `submission`'s expected GPU time, then runs `poll` (the actual wait) and learns from it. */
  async wait(submission: SubmittedWork, poll: () => Promise<void>): Promise<void> {
    // The GPU starts on a submission once the one before it is done.
    const started = Math.max(submission.submittedAt, this.#lastDone);
    const estimate = this.#estimates.get(submission.work);
    let slept = false;
    if (estimate !== undefined) {
      const delay = started + POLITE_WAIT_SHARE * estimate - performance.now();
      if (delay >= 1) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        slept = true;
      }
    }
    const polling = performance.now();
    await poll();
    const done = performance.now();
    let next: number;
    if (slept && done - polling < ALREADY_DONE_MS) {
      // It finished while we slept, so its time is unknown but below the estimate; measuring
      // the oversleep instead would keep a stale estimate alive.
      next = estimate! * OVERSLEPT_SHRINK;
    } else {
      const took = done - started;
      next = estimate === undefined ? took : 0.7 * estimate + 0.3 * took;
    }
    if (!this.#estimates.has(submission.work) && this.#estimates.size >= MAX_WAIT_ESTIMATES) this.#estimates.clear();
    this.#estimates.set(submission.work, next);
    this.#lastWork = submission.work;
    this.#lastDone = done;
  }
}
