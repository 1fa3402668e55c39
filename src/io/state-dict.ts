import type { SafetensorsTensor } from './safetensors.js';
import { MissingWeightError, StateDictError, StateDictMismatchError, WeightShapeError } from './errors.js';

/**
 * A key rewrite: the new key for a stored key (and shape), or `{ key, shape }` to also reshape
 * it (same element count, e.g. [C, C, 1, 1] → [C, C]). Return the key unchanged to keep it.
 */
export type KeyRename = (key: string, shape: readonly number[]) => string | { key: string; shape: number[] };

/**
 * The weights of one component, handed to its model as it is built. The model `take`s each
 * weight with the shape its config implies, `ignore`s what it does not use, and calls `finish`,
 * which fails on anything left over or missing: a checkpoint that does not match the config
 * is reported by key, never silently half-loaded.
 */
export class StateDict {
  private readonly tensors = new Map<string, SafetensorsTensor>();
  private readonly taken = new Set<string>();
  private readonly missing: string[] = [];
  private readonly ignored: (string | RegExp)[] = [];

  /** `file` names the checkpoint in errors. */
  constructor(
    tensors: Map<string, SafetensorsTensor> | Iterable<SafetensorsTensor>,
    readonly file: string,
  ) {
    const list = tensors instanceof Map ? tensors.values() : tensors;
    for (const t of list) this.tensors.set(t.name, t);
  }

  /** Keys still held, in file order. */
  keys(): string[] {
    return [...this.tensors.keys()];
  }

  has(key: string): boolean {
    return this.tensors.has(key);
  }

  /** Rewrites every key (and optionally shape) through `rename`; two keys landing on one name is an error. */
  rename(rename: KeyRename): this {
    const renamed = new Map<string, SafetensorsTensor>();
    const origin = new Map<string, string>();
    for (const [key, tensor] of this.tensors) {
      const out = rename(key, tensor.shape);
      const newKey = typeof out === 'string' ? out : out.key;
      let next = tensor;
      if (typeof out !== 'string') {
        if (count(out.shape) !== count(tensor.shape)) {
          throw new StateDictError(
            this.file,
            `${this.file}: cannot reshape "${key}" from [${tensor.shape.join(', ')}] to [${out.shape.join(', ')}]: element counts differ.`,
          );
        }
        next = { ...tensor, shape: out.shape };
      }
      const clash = origin.get(newKey);
      if (clash !== undefined) {
        throw new StateDictError(this.file, `${this.file}: "${clash}" and "${key}" both map to "${newKey}".`);
      }
      origin.set(newKey, key);
      renamed.set(newKey, newKey === next.name ? next : { ...next, name: newKey });
    }
    this.tensors.clear();
    for (const [key, tensor] of renamed) this.tensors.set(key, tensor);
    return this;
  }

  /** Marks keys the model does not use (a key prefix, or a pattern), so `finish` accepts them. */
  ignore(prefixOrPattern: string | RegExp): this {
    this.ignored.push(prefixOrPattern);
    return this;
  }

  /**
   * The weight under `key`, checked against `expectedShape` when given. Throws
   * `MissingWeightError` or `WeightShapeError`, naming the key and both shapes.
   */
  take(key: string, expectedShape?: readonly number[]): SafetensorsTensor {
    const tensor = this.tensors.get(key);
    if (!tensor) {
      this.missing.push(key);
      throw new MissingWeightError(this.file, key, `${this.file}: the checkpoint has no weight "${key}".${this.hintFor(key)}`);
    }
    if (expectedShape && !sameShape(tensor.shape, expectedShape)) {
      throw new WeightShapeError(
        this.file,
        key,
        expectedShape,
        tensor.shape,
        `${this.file}: weight "${key}" has shape [${tensor.shape.join(', ')}], but the model's config implies [${expectedShape.join(', ')}].`,
      );
    }
    this.taken.add(key);
    return tensor;
  }

  /** Like `take`, for float weights: the data as Float32Array. */
  takeFloat32(key: string, expectedShape?: readonly number[]): Float32Array {
    const tensor = this.take(key, expectedShape);
    if (!(tensor.data instanceof Float32Array)) {
      throw new StateDictError(this.file, `${this.file}: weight "${key}" has dtype ${tensor.dtype}, but the model needs a float tensor.`);
    }
    return tensor.data;
  }

  /** The weight under `key` if the checkpoint has it (optional biases, say), else null. */
  takeOptional(key: string, expectedShape?: readonly number[]): SafetensorsTensor | null {
    return this.tensors.has(key) ? this.take(key, expectedShape) : null;
  }

  /**
   * Checks that every key was taken or ignored and none was missing; throws
   * `StateDictMismatchError` listing all unexpected and all missing keys otherwise.
   */
  finish(): void {
    const unexpected = this.keys().filter((k) => !this.taken.has(k) && !this.isIgnored(k));
    const missing = [...new Set(this.missing)];
    if (unexpected.length === 0 && missing.length === 0) return;
    const parts: string[] = [];
    if (missing.length > 0) parts.push(`${missing.length} missing: ${missing.join(', ')}`);
    if (unexpected.length > 0) parts.push(`${unexpected.length} unexpected: ${unexpected.join(', ')}`);
    throw new StateDictMismatchError(
      this.file,
      unexpected,
      missing,
      `${this.file}: the checkpoint does not match the model's config (${parts.join('; ')}).`,
    );
  }

  private isIgnored(key: string): boolean {
    return this.ignored.some((p) => (typeof p === 'string' ? key.startsWith(p) : p.test(key)));
  }

  /** Names up to three stored keys ending like `key`, which usually reveals a prefix mismatch. */
  private hintFor(key: string): string {
    const tail = key.split('.').slice(-3).join('.');
    const similar = this.keys()
      .filter((k) => k.endsWith(tail))
      .slice(0, 3);
    return similar.length > 0 ? ` Similar keys: ${similar.join(', ')}.` : '';
  }
}

function count(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
