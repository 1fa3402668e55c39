import type { TensorLike, TensorOps } from '../webgpu/kernels/ops.js';

/**
 * Releases `old` and returns `next`: `h = swap(ops, h, op(h))` keeps a chain of ops from holding
 * more than two activations at once, which is what bounds the models' device memory.
 */
export function swap<T extends TensorLike>(ops: TensorOps<T>, old: T, next: T): T {
  ops.release(old);
  return next;
}

/**
 * `x` under a new shape, with `x` itself released. Backends reference-count reshaped views, so
 * each view must be released on its own: this hands ownership over to the view.
 */
export function moveReshape<T extends TensorLike>(ops: TensorOps<T>, x: T, shape: readonly number[]): T {
  const view = ops.reshape(x, shape);
  ops.release(x);
  return view;
}
