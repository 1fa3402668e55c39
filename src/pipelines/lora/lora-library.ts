import type { LoraRequest } from '../../api/request.js';
import type { LoraAdapter, LoraTarget } from '../../models/lora/adapter.js';
import { bindLora, type BoundLora, type LoraMatchOptions, type LoraTargets } from '../../models/lora/bind.js';
import { readLoraFile } from '../../models/lora/lora-file.js';
import type { TensorDType, TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import { loraHandle } from './lora-source.js';

/** How many LoRAs stay uploaded between requests (least recently used goes first). */
const KEEP = 8;

/**
 * The LoRAs of one loaded pipeline: each is read, matched to the model's layers and uploaded
 * once, then attached to a request's layers and detached after it. Attaching sets adapters that
 * run unfused beside the base weights, which are never changed: switching LoRAs between
 * requests costs no weight traffic, and removing them is exact.
 */
export class LoraLibrary<T extends TensorLike> {
  readonly #bound = new Map<string, BoundLora<T>>();

  constructor(
    private readonly ops: TensorOps<T>,
    private readonly targets: LoraTargets<T>,
    private readonly dtype: TensorDType,
    /** What matching needs to know of the model beyond its layers (the UNet's `layers_per_block`). */
    private readonly match: LoraMatchOptions = {},
  ) {}

  /**
   * Attaches `loras` (stacked, each at its scale, default 1) to the model's layers and returns
   * the function that detaches them. Every LoRA is read and matched before any is attached: one
   * that does not fit (`LoraMismatchError`, `LoraFileError`) leaves the model as it was.
   */
  async attach(loras: readonly LoraRequest[]): Promise<() => void> {
    const bound: Array<[BoundLora<T>, LoraRequest]> = [];
    const keys = new Set<string>();
    for (const l of loras) {
      const [key, lora] = await this.#load(l);
      keys.add(key);
      bound.push([lora, l]);
    }
    this.#evict(keys);
    const byTarget = new Map<LoraTarget<T>, LoraAdapter<T>[]>();
    for (const [lora, request] of bound) {
      const scale = request.scale ?? 1;
      for (const [target, adapter] of lora.adapters(scale, request.textEncoderScale ?? scale)) {
        const list = byTarget.get(target) ?? [];
        list.push(adapter);
        byTarget.set(target, list);
      }
    }
    for (const [target, adapters] of byTarget) target.adapters = adapters;
    return () => {
      for (const target of byTarget.keys()) target.adapters = [];
    };
  }

  /** Frees every uploaded LoRA. */
  release(): void {
    for (const lora of this.#bound.values()) lora.release();
    this.#bound.clear();
  }

  async #load(request: LoraRequest): Promise<[string, BoundLora<T>]> {
    const handle = await loraHandle(request.source);
    const cached = this.#bound.get(handle.key);
    // Most recently used last; a cached LoRA is not read again.
    this.#bound.delete(handle.key);
    const lora = cached ?? bindLora(this.ops, await readLoraFile(await handle.open(), handle.file), this.targets, this.dtype, this.match);
    this.#bound.set(handle.key, lora);
    return [handle.key, lora];
  }

  /** Frees the least recently used LoRAs beyond `KEEP`, never one of `inUse`. */
  #evict(inUse: ReadonlySet<string>): void {
    for (const [key, lora] of this.#bound) {
      if (this.#bound.size <= KEEP) return;
      if (inUse.has(key)) continue;
      this.#bound.delete(key);
      lora.release();
    }
  }
}
