import type { TensorLike, TensorOps } from '../../webgpu/kernels/ops.js';
import { Conv2d, GroupNorm } from '../layers.js';
import type { ModelWeights } from '../weights.js';
import { heldSource, type ChannelSource } from './channel-source.js';

/**
 * How many activation elements the VAE decoder may hold beyond what it cannot avoid. The
 * decoder's norms and convs run over channel ranges sized to stay within it; below it (SD at
 * 512²: at most 1.7e8 elements) each runs over all channels at once, as one dispatch.
 */
export interface DecoderMemory {
  /** Default 2²⁸ (1 GiB of f32): SDXL's 1024² decode needs ranges, 512² does not. */
  workingSetElements: number;
}

export const DEFAULT_DECODER_MEMORY: DecoderMemory = { workingSetElements: 2 ** 28 };

/**
 * Channel ranges of whole groups (`cpg` channels each) covering `channels`, each as wide as the
 * budget left over `fixed` held elements allows at `perChannel` elements per channel of a range,
 * and at least one group when nothing is left.
 */
export function channelRanges(channels: number, cpg: number, fixed: number, perChannel: number, memory: DecoderMemory): Array<[number, number]> {
  const room = Math.max(0, memory.workingSetElements - fixed);
  const groups = Math.max(1, Math.floor(room / (perChannel * cpg)));
  const step = Math.min(channels, groups * cpg);
  const out: Array<[number, number]> = [];
  for (let c = 0; c < channels; c += step) out.push([c, Math.min(channels, c + step)]);
  return out;
}

/**
 * `SiLU(norm(x))` convolved range by range: each channel range of x is normalised on its own
 * (exact, a group's statistics are its own channels) and its partial convolution added into one
 * output, the bias with the first range. `into` receives the sum (a residual updated in place);
 * without it a new tensor does. `x` is not released.
 */
export function normConv<T extends TensorLike>(
  ops: TensorOps<T>,
  x: T,
  norm: GroupNorm<T>,
  conv: Conv2d<T>,
  ranges: ReadonlyArray<readonly [number, number]>,
  into: T | null,
): T {
  let out = into;
  ranges.forEach(([c0, c1], i) => {
    const t = norm.forward(ops, x, true, [c0, c1]);
    out = conv.forward(ops, t, { inputChannelOffset: c0, ...(out ? { into: out } : {}), ...(i === 0 ? {} : { bias: false }) });
    ops.release(t);
  });
  return out!;
}

/**
 * diffusers' `ResnetBlock2D` as the VAE decoder runs it (no time embedding, output scale 1):
 * `(conv_shortcut(x) or x) + conv2(SiLU(norm2(conv1(SiLU(norm1(x))))))`, computed in channel
 * ranges within `DecoderMemory` and with the residual sum written into the shortcut (or x) in
 * place. At most x (or its producer's input), h, the shortcut and one range are alive.
 */
export class DecoderResnet<T extends TensorLike> {
  private constructor(
    private readonly norm1: GroupNorm<T>,
    private readonly conv1: Conv2d<T>,
    private readonly norm2: GroupNorm<T>,
    private readonly conv2: Conv2d<T>,
    private readonly convShortcut: Conv2d<T> | null,
  ) {}

  static load<T extends TensorLike>(w: ModelWeights<T>, prefix: string, cin: number, cout: number, groups: number, eps: number): DecoderResnet<T> {
    return new DecoderResnet(
      GroupNorm.load(w, `${prefix}.norm1`, cin, groups, eps),
      Conv2d.load(w, `${prefix}.conv1`, cin, cout, 3),
      GroupNorm.load(w, `${prefix}.norm2`, cout, groups, eps),
      Conv2d.load(w, `${prefix}.conv2`, cout, cout, 3),
      cin === cout ? null : Conv2d.load(w, `${prefix}.conv_shortcut`, cin, cout, 1),
    );
  }

  /** Consumes `src` (its tensor becomes the output, or is released) and returns [B, Cout, H, W]. */
  forward(ops: TensorOps<T>, src: ChannelSource<T>, memory: DecoderMemory): T {
    const [B, cin, H, W] = src.shape;
    const plane = B * H * W;
    const cout = this.conv1.weight.shape[0]!;
    // Without a shortcut the residual is the input itself, so a produced input is produced whole
    // (in SD's and SDXL's decoders this happens only at a quarter of the output size and below).
    if (!src.whole && !this.convShortcut) {
      const y = src.produce(ops, 0, cin);
      src.release(ops);
      src = heldSource(y);
    }
    const x = src.whole;
    let h: T | null = null;
    let shortcut: T | null = null;
    if (x) {
      const ranges = channelRanges(cin, cin / this.norm1.groups, (cin + cout) * plane, plane, memory);
      h = normConv(ops, x, this.norm1, this.conv1, ranges, null);
      if (this.convShortcut) {
        shortcut = this.convShortcut.forward(ops, x);
        src.release(ops);
      }
    } else {
      // Each produced range feeds the shortcut (before the norm) and conv1 (after it), so the
      // whole input never exists: held are the producer's input, h, the shortcut and a range.
      const fixed = src.heldElements + (this.convShortcut ? 2 : 1) * cout * plane;
      for (const [c0, c1] of channelRanges(cin, cin / this.norm1.groups, fixed, 2 * plane, memory)) {
        const xr = src.produce(ops, c0, c1);
        // The producer's input goes as soon as its last range exists.
        if (c1 === cin) src.release(ops);
        if (this.convShortcut) shortcut = this.convShortcut.forward(ops, xr, partial(c0, shortcut));
        const t = this.norm1.forward(ops, xr, true, undefined, c0);
        ops.release(xr);
        h = this.conv1.forward(ops, t, partial(c0, h));
        ops.release(t);
      }
    }
    // The residual: the shortcut, or x itself, which nothing reads after conv1.
    const residual = shortcut ?? x;
    if (!residual || !h) throw new Error('DecoderResnet: a resnet without input channels');
    const ranges = channelRanges(cout, cout / this.norm2.groups, 2 * cout * plane, plane, memory);
    const out = normConv(ops, h, this.norm2, this.conv2, ranges, residual);
    ops.release(h);
    return out;
  }
}

/** Options of the partial conv over input channels from `c0`: into `acc`, with the bias only when it starts the sum. */
function partial<T extends TensorLike>(c0: number, acc: T | null): { inputChannelOffset: number; into?: T; bias?: false } {
  return acc ? { inputChannelOffset: c0, into: acc, bias: false } : { inputChannelOffset: c0 };
}
