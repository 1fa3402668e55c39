import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import { Linear } from '../layers.js';
import { moveReshape, swap } from '../lifetime.js';
import type { ModelWeights } from '../weights.js';

/**
 * Bytes per element of the activations `x` is stored in: 2 for f16 activations (a `GpuTensor`
 * recorded under `withActivations('f16')`, whose projection output is f16 too), else 4 (f32, and
 * backends without a `dtype`, such as the CPU reference, which have no binding limit anyway).
 */
function activationBytes(x: TensorLike): number {
  return (x as TensorLike & { readonly dtype?: unknown }).dtype === 'f16' ? 2 : 4;
}

/**
 * The token ranges `[start, end)` that the feed-forward runs over, one range per pass: all
 * `rows` at once when the GEGLU input (`rows × projWidth` elements of `elementBytes`, the
 * block's largest intermediate) fits one binding of `maxBindingBytes`, otherwise the fewest
 * equal ranges whose input each fits. Equal sizes keep every pass on the same buffer sizes and
 * specialisations.
 */
export function feedForwardChunks(rows: number, projWidth: number, maxBindingBytes: number, elementBytes = 4): Array<[number, number]> {
  const rowsThatFit = Math.max(1, Math.floor(maxBindingBytes / (projWidth * elementBytes)));
  if (rows <= rowsThatFit) return [[0, rows]];
  const passes = Math.ceil(rows / rowsThatFit);
  const perPass = Math.ceil(rows / passes);
  const out: Array<[number, number]> = [];
  for (let start = 0; start < rows; start += perPass) out.push([start, Math.min(rows, start + perPass)]);
  return out;
}

/**
 * diffusers' `FeedForward` with GEGLU, as the UNet's transformer blocks use it:
 * `ff.net.2(GEGLU(ff.net.0.proj(x)))`, x [B, L, C] → [B, L, C], inner width 4·C.
 *
 * The projection's output [B, L, 8·C] is the UNet's largest activation (168 MB at 512² batch 4,
 * 335 MB at 1024² batch 2, in f32; half that with f16 activations, which SDXL's 1024² batch 2
 * then runs in one pass). When it would not fit one storage binding, the block runs over
 * token ranges instead (diffusers' `enable_forward_chunking` over dim 1): each row is computed
 * exactly as in one pass, so the result is the same, at the cost of a buffer copy of each
 * range's input and a concat per extra range (two or three ranges at the sizes SD runs at).
 * Below the limit it is the plain three ops, nothing more.
 */
export class GegluFeedForward<T extends TensorLike> {
  private constructor(
    private readonly proj: Linear<T>,
    private readonly out: Linear<T>,
    private readonly inner: number,
    private readonly maxBindingBytes: number,
  ) {}

  /**
   * `maxBindingBytes`: the most bytes one kernel binding may cover on the device (its
   * `min(maxStorageBufferBindingSize, maxBufferSize)`); `Infinity` never chunks.
   */
  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, channels: number, maxBindingBytes: number): GegluFeedForward<T> {
    const inner = 4 * channels;
    return new GegluFeedForward(Linear.load(w, `${prefix}.net.0.proj`, channels, 2 * inner), Linear.load(w, `${prefix}.net.2`, inner, channels), inner, maxBindingBytes);
  }

  /** `x` [B, L, C] → [B, L, C]; `x` is consumed (released as soon as it is read, like `swap`). */
  forward(ops: TensorOps<T>, x: T): T {
    const C = x.shape[x.shape.length - 1]!;
    const rows = x.shape.reduce((n, d) => n * d, 1) / C;
    const ranges = feedForwardChunks(rows, 2 * this.inner, this.maxBindingBytes, activationBytes(x));
    if (ranges.length === 1) return this.#pass(ops, x);
    // Tokens of every batch row are independent here, so [B, L, C] is taken as B·L rows.
    const shape = x.shape;
    const flat = moveReshape(ops, x, [rows, C]);
    let joined: T | null = null;
    try {
      for (const [start, end] of ranges) {
        const y = this.#pass(ops, ops.sliceBatch(flat, start, end));
        joined = joined === null ? y : concatRows(ops, joined, y);
      }
    } catch (err) {
      if (joined !== null) ops.release(joined);
      throw err;
    } finally {
      ops.release(flat);
    }
    return moveReshape(ops, joined!, shape);
  }

  /** The three ops over `x` [..., C], which is released once projected (it is dead after that). */
  #pass(ops: TensorOps<T>, x: T): T {
    let f = swap(ops, x, this.proj.forward(ops, x));
    f = swap(ops, f, ops.geglu(f));
    return swap(ops, f, this.out.forward(ops, f));
  }
}

/** [a; b] for a [ra, C] and b [rb, C], both released: one concat over the views [1, r, C]. */
function concatRows<T extends TensorLike>(ops: TensorOps<T>, a: T, b: T): T {
  const C = a.shape[1]!;
  const va = moveReshape(ops, a, [1, a.shape[0]!, C]);
  const vb = moveReshape(ops, b, [1, b.shape[0]!, C]);
  const joined = ops.concatChannels(va, vb);
  ops.release(va);
  ops.release(vb);
  return moveReshape(ops, joined, [joined.shape[1]!, C]);
}
