import { TensorShapeError } from './errors.js';
import type { TensorStorage } from './tensor.js';

/**
 * The storages one unit of work (a request) allocated and has not released yet. When the work
 * fails half-way, these are what the code that threw could not release: its intermediates.
 * Weights loaded before the work began are never in it.
 */
export class WorkTracker {
  #open: Set<TensorStorage> | null = null;
  #paused = 0;

  /** Starts tracking; units of work do not nest (one request at a time runs on a runtime). */
  begin(): void {
    if (this.#open) throw new TensorShapeError('GpuRuntime.work: a unit of work is already running on this runtime');
    this.#open = new Set();
  }

  allocated(storage: TensorStorage): void {
    if (this.#paused === 0) this.#open?.add(storage);
  }

  /** Allocations until `resume` belong to no unit of work (weights a request loads to keep). */
  pause(): void {
    this.#paused++;
  }

  resume(): void {
    this.#paused--;
  }

  released(storage: TensorStorage): void {
    this.#open?.delete(storage);
  }

  /** Stops tracking and returns what is still allocated. */
  end(): TensorStorage[] {
    const left = [...(this.#open ?? [])];
    this.#open = null;
    return left;
  }
}
