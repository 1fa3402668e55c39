import { TensorShapeError } from './errors.js';
import type { GpuTensor, TensorChunk } from './tensor.js';

/**
 * One chunk of a [B, C, ...] tensor seen as samples and channels: either whole samples
 * (`channels` = C) or a channel range of one sample (`samples` = 1). `planChunks` only makes
 * these two shapes, so every chunk of an activation is one of them.
 */
export interface ChannelRun {
  readonly chunk: TensorChunk;
  /** Index of the chunk in `tensor.chunks`. */
  readonly index: number;
  readonly firstSample: number;
  readonly samples: number;
  readonly firstChannel: number;
  readonly channels: number;
}

/**
 * The chunks of `t` (rank ≥ 2, dims [B, C, ...]) as sample and channel ranges. Throws
 * `TensorShapeError` naming `op` when a chunk is neither whole samples nor whole planes of one
 * sample, which happens only for a view reshaped across chunk boundaries.
 */
export function channelRuns(t: GpuTensor, op: string): ChannelRun[] {
  const [B = 1, C = 1] = t.shape;
  const sample = t.size / B;
  const plane = sample / C;
  return t.chunks.map((chunk, index) => {
    const { elementOffset: off, elements: n } = chunk;
    if (off % sample === 0 && n % sample === 0) {
      return { chunk, index, firstSample: off / sample, samples: n / sample, firstChannel: 0, channels: C };
    }
    const within = off % sample;
    if (within % plane !== 0 || n % plane !== 0 || within + n > sample) {
      throw new TensorShapeError(`${op}: [${t.shape}] ${t.dtype} is split into chunks that are not whole samples or channel ranges; pass a tensor in the shape it was created with`);
    }
    return { chunk, index, firstSample: Math.floor(off / sample), samples: 1, firstChannel: within / plane, channels: n / plane };
  });
}

/** The runs of `a` and `b` pair up one to one (same chunking); throws naming `op` otherwise. */
export function sameRuns(a: GpuTensor, b: GpuTensor, op: string): void {
  const ca = a.chunks;
  const cb = b.chunks;
  const same = ca.length === cb.length && ca.every((c, i) => c.elementOffset === cb[i]!.elementOffset && c.elements === cb[i]!.elements);
  if (!same) {
    throw new TensorShapeError(`${op}: [${a.shape}] ${a.dtype} and [${b.shape}] ${b.dtype} are chunked differently (${ca.length} and ${cb.length} chunks); give both the same dtype and shape`);
  }
}

/** A stretch of elements that lies within one chunk of each of several same-size tensors. */
export interface Segment {
  /** First element of the stretch, counted from the start of the range (of the whole tensor for `segments`). */
  readonly start: number;
  readonly elements: number;
  /** For each tensor, the chunk holding the stretch and the stretch's first element within it. */
  readonly parts: ReadonlyArray<{ readonly chunk: TensorChunk; readonly base: number }>;
}

/**
 * Splits the element range of same-size tensors at every chunk boundary of any of them, so an
 * elementwise kernel can run one dispatch per stretch with each tensor bound by the chunk that
 * holds it. Tensors of one shape but another dtype may be chunked differently (f16 halves the
 * bytes); unchunked tensors give one segment.
 */
export function segments(tensors: readonly GpuTensor[], op: string): Segment[] {
  const size = tensors[0]!.size;
  if (tensors.some((t) => t.size !== size)) throw new TensorShapeError(`${op}: tensors of ${tensors.map((t) => t.size).join(', ')} elements cannot be paired element by element`);
  return rangeSegments(tensors.map((t) => ({ tensor: t, start: 0 })), size);
}

/**
 * `segments` over a range of `elements` that starts at a different element in each tensor (a
 * channel range of one tensor against the whole of another). `Segment.start` counts from the
 * start of the range.
 */
export function rangeSegments(ranges: ReadonlyArray<{ readonly tensor: GpuTensor; readonly start: number }>, elements: number): Segment[] {
  const cuts = new Set([0, elements]);
  for (const { tensor, start } of ranges) {
    for (const c of tensor.chunks) {
      const at = c.elementOffset - start;
      if (at > 0 && at < elements) cuts.add(at);
    }
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  const cursor = ranges.map(() => 0);
  const out: Segment[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const at = sorted[i]!;
    const parts = ranges.map(({ tensor, start }, k) => {
      const chunks = tensor.chunks;
      while (chunks[cursor[k]!]!.elementOffset + chunks[cursor[k]!]!.elements <= start + at) cursor[k]!++;
      const chunk = chunks[cursor[k]!]!;
      return { chunk, base: start + at - chunk.elementOffset };
    });
    out.push({ start: at, elements: sorted[i + 1]! - at, parts });
  }
  return out;
}
