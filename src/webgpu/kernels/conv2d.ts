import source from '../../../shaders/conv2d.wgsl?raw';
import { TensorShapeError } from '../errors.js';
import { defineKernel } from '../kernel.js';
import type { GpuRuntime } from '../runtime.js';
import { isQuantized, type GpuDType, type GpuTensor, type QuantStorage, type TensorChunk } from '../tensor.js';
import { isActivation } from './activations.js';
import { channelRuns, sameRuns } from '../channel-runs.js';
import { ACTIVATION_CODE } from './epilogue.js';
import type { Activation, Conv2dOptions } from './ops.js';

/** `Conv2dOptions` with the residual and `into` as GPU tensors. */
export interface GpuConv2dOptions extends Omit<Conv2dOptions, 'residual' | 'into'> {
  residual?: GpuTensor;
  into?: GpuTensor;
}

const CONV = defineKernel({ family: 'conv2d', entryPoint: 'main', source, storage: ['read', 'read', 'read', 'read', 'read_write'] });
/**
 * The same kernel over a quantized weight (W_QUANT): a sixth storage slot holds its scales, so
 * its bind group layout differs from `CONV`'s.
 */
const CONV_Q = defineKernel({ family: 'conv2d', entryPoint: 'main', source, storage: ['read', 'read', 'read', 'read', 'read_write', 'read'] });

/** One workgroup covers 64 output channels × 32 output pixels (8×8 threads of 8 channels × 4 pixels, conv2d.wgsl). */
const TILE_C = 64;
const TILE_P = 32;

/**
 * x [B, Cin, H, W] * weight [Cout, Cin, k, k] (k = 1 or 3) → [B, Cout, Ho, Wo], as an implicit
 * GEMM: out = act(conv + bias) + residual. Padding defaults to 1 for 3×3 and 0 for 1×1, as in
 * the reference; `padEnd` adds zeros after the bottom and right edges only. `weight` and `bias`
 * may be f16, and `weight` quantized (`q8`/`q4`, see `QuantScheme`: dequantized in the kernel).
 * `upsample`, `inputChannelOffset`, `outputChannels` and `into` (see `Conv2dOptions`) let a model
 * convolve tensors it never holds whole: the VAE decoder at 1024² and above.
 */
export function conv2d(rt: GpuRuntime, x: GpuTensor, weight: GpuTensor, bias?: GpuTensor, options: GpuConv2dOptions = {}): GpuTensor {
  const desc = `conv2d: x [${x.shape}] ${x.dtype}, weight [${weight.shape}] ${weight.dtype}`;
  if (x.shape.length !== 4 || !isActivation(rt, x)) throw new TensorShapeError(`${desc}: x must be f32 or (with shader-f16) f16 [B, Cin, H, W]`);
  const [B, Cin, H, W] = x.shape as [number, number, number, number];
  const [CoutW, Cw, kh, kw] = weight.shape as [number, number, number, number];
  const ciOff = options.inputChannelOffset ?? 0;
  if (!Number.isInteger(ciOff) || ciOff < 0) throw new TensorShapeError(`${desc}: inputChannelOffset ${ciOff} must be a non-negative integer`);
  // Without an offset x must hold all of the weight's input channels; with one, a range of them.
  const fits = options.inputChannelOffset === undefined ? Cw === Cin : Cw >= ciOff + Cin;
  if (weight.shape.length !== 4 || !fits || kh !== kw || (kh !== 1 && kh !== 3) || weight.dtype === 'i32') {
    throw new TensorShapeError(`${desc}: weight must be f32, f16, q8 or q4 [Cout, ${ciOff + Cin}, k, k] with k = 1 or 3`);
  }
  if (isQuantized(weight.dtype) && !weight.quant) throw new TensorShapeError(`${desc}: a quantized weight needs its scales`);
  const [co0, co1] = options.outputChannels ?? [0, CoutW];
  if (!(Number.isInteger(co0) && Number.isInteger(co1) && co0 >= 0 && co0 < co1 && co1 <= CoutW)) {
    throw new TensorShapeError(`${desc}: outputChannels [${co0}, ${co1}) must be a range within the weight's ${CoutW}`);
  }
  const k = kh;
  const stride = options.stride ?? 1;
  const pad = options.padding ?? (k === 3 ? 1 : 0);
  const padEnd = options.padEnd ?? 0;
  if ((stride !== 1 && stride !== 2) || (pad !== 0 && pad !== 1) || (padEnd !== 0 && padEnd !== 1)) {
    throw new TensorShapeError(`${desc}: stride ${stride}, padding ${pad}, padEnd ${padEnd}; supported: stride 1 or 2, padding and padEnd 0 or 1`);
  }
  const upsample = options.upsample ?? false;
  if (upsample && (k !== 3 || stride !== 1 || pad !== 1 || padEnd !== 0)) throw new TensorShapeError(`${desc}: upsample reads need a 3×3 kernel, stride 1, padding 1`);
  // The shader masks every tap outside the (virtually upsampled) input, so end padding only
  // changes the output size.
  const Hv = upsample ? 2 * H : H;
  const Wv = upsample ? 2 * W : W;
  const Ho = Math.floor((Hv + 2 * pad + padEnd - k) / stride) + 1;
  const Wo = Math.floor((Wv + 2 * pad + padEnd - k) / stride) + 1;
  if (Ho < 1 || Wo < 1) throw new TensorShapeError(`${desc}: a ${k}×${k} kernel with padding ${pad} does not fit a ${H}×${W} input`);
  if (bias && (bias.size !== CoutW || (bias.dtype !== 'f32' && bias.dtype !== 'f16'))) throw new TensorShapeError(`${desc}: bias [${bias.shape}] ${bias.dtype} must hold ${CoutW} f32 or f16 values`);
  const residual = options.residual;
  const outShape = [B, co1 - co0, Ho, Wo];
  if (residual && (!isActivation(rt, residual) || residual.shape.join() !== outShape.join())) {
    throw new TensorShapeError(`${desc}: residual [${residual.shape}] ${residual.dtype} must be an f32 or f16 activation [${outShape}]`);
  }
  const into = options.into;
  if (into) {
    if (!isActivation(rt, into) || into.shape.join() !== outShape.join()) throw new TensorShapeError(`${desc}: into [${into.shape}] ${into.dtype} must be an f32 or f16 activation [${outShape}]`);
    if (residual || (options.act ?? 'none') !== 'none') throw new TensorShapeError(`${desc}: into adds the plain convolution; it takes no activation or residual`);
  }
  const out = into ?? rt.output(outShape);
  if (residual) sameRuns(out, residual, desc);
  if (weight.chunks.length > 1 || (bias && bias.chunks.length > 1)) throw new TensorShapeError(`${desc}: weights over one binding are not supported`);
  const shape: ConvShape = { cinTotal: Cw, H, W, Ho, Wo, k, stride, pad, padEnd, upsample };
  const outRuns = channelRuns(out, desc);
  const xRuns = channelRuns(x, desc);
  for (const o of outRuns) {
    // Passes over this output chunk, grouped by the samples they cover: whole-sample input
    // chunks each cover samples of their own (one pass each), channel ranges of one sample
    // add up over several passes.
    const passes = xRuns.filter((r) => r.firstSample < o.firstSample + o.samples && o.firstSample < r.firstSample + r.samples);
    passes.forEach((r, i) => {
      const first = Math.max(o.firstSample, r.firstSample);
      const samples = Math.min(o.firstSample + o.samples, r.firstSample + r.samples) - first;
      const next = passes[i + 1];
      const prev = passes[i - 1];
      dispatchConv(rt, shape, {
        x: r.chunk,
        out: o.chunk,
        residual: residual ? residual.chunks[o.index]! : undefined,
        xDtype: x.dtype,
        residualDtype: residual?.dtype ?? 'f32',
        outDtype: out.dtype,
        weight,
        bias,
        act: options.act ?? 'none',
        Cout: o.channels,
        coBase: co0 + o.firstChannel,
        Cin: r.channels,
        ciBase: ciOff + r.firstChannel,
        samples,
        xBatchOff: first - r.firstSample,
        outBatchOff: first - o.firstSample,
        // `into` holds a sum already, so even the first pass adds to it.
        accum: into !== undefined || (prev !== undefined && prev.firstSample === r.firstSample && r.samples === 1),
        epilogue: next === undefined || next.firstSample !== r.firstSample || r.samples !== 1,
      });
    });
  }
  return out;
}

/** The convolution's geometry, the same for every pass. */
interface ConvShape {
  /** The weight's input channels (its row stride over ci). */
  cinTotal: number;
  H: number;
  W: number;
  Ho: number;
  Wo: number;
  k: number;
  stride: number;
  pad: number;
  padEnd: number;
  /** x is read as its nearest ×2 upsampling (H and W are x's own size). */
  upsample: boolean;
}

/** One dispatch: an input chunk's channels into an output chunk's channels, for some samples. */
interface ConvPass {
  x: TensorChunk;
  out: TensorChunk;
  residual: TensorChunk | undefined;
  xDtype: GpuDType;
  residualDtype: GpuDType;
  outDtype: GpuDType;
  weight: GpuTensor;
  bias: GpuTensor | undefined;
  act: Activation;
  Cout: number;
  coBase: number;
  Cin: number;
  ciBase: number;
  samples: number;
  xBatchOff: number;
  outBatchOff: number;
  /** Adds to the partial sums an earlier pass wrote. */
  accum: boolean;
  /** The last pass: bias, activation and residual. */
  epilogue: boolean;
}

/** Flags of a quantized weight: its bit width and how its f16 scales are read. */
function quantDefines(rt: GpuRuntime, quant: QuantStorage): Record<string, boolean> {
  return { W_QUANT: true, W_Q8: quant.bits === 8, W_Q4: quant.bits === 4, SCALE_F16: rt.shaderF16, SCALE_F16_PACKED: !rt.shaderF16 };
}

function dispatchConv(rt: GpuRuntime, s: ConvShape, p: ConvPass): void {
  const P = s.Ho * s.Wo;
  const tilesP = Math.ceil(P / TILE_P);
  const tilesC = Math.ceil(p.Cout / TILE_C);
  const hasBias = p.epilogue && p.bias !== undefined;
  const hasResidual = p.epilogue && p.residual !== undefined;
  // A quantized weight is dequantized in the kernel as it is read, never into a temporary.
  const quant = p.weight.quant;
  // Absent bias/residual slots still need a buffer; the shader does not declare them then.
  const bindings = [p.x, p.weight, p.bias ?? p.x, p.residual ?? p.x, p.out];
  rt.dispatch(quant ? CONV_Q : CONV, {
    bindings: quant ? [...bindings, quant.scales] : bindings,
    ...(quant ? { quantized: [1] } : {}),
    uniforms: {
      Cin: p.Cin, H: s.H, W: s.W, Cout: p.Cout, Ho: s.Ho, Wo: s.Wo, batch: p.samples, tilesP, tilesC,
      cinTotal: s.cinTotal, ciBase: p.ciBase, coBase: p.coBase, xBatchOff: p.xBatchOff, outBatchOff: p.outBatchOff,
      qGroupSize: quant?.groupSize ?? 0, qScaleStride: quant?.scaleStride ?? 0,
    },
    defines: {
      X_VEC: s.k === 1 && s.stride === 1 && s.pad === 0 && s.padEnd === 0 && (s.H * s.W) % 4 === 0,
      X_UP2: s.upsample,
      OUT_VEC: P % 4 === 0,
      HAS_BIAS: hasBias,
      HAS_RESIDUAL: hasResidual,
      ACCUM: p.accum,
      EPILOGUE: p.epilogue,
      X_F16: p.xDtype === 'f16',
      R_F16: hasResidual && p.residualDtype === 'f16',
      OUT_F16: p.outDtype === 'f16',
      ...rt.storageDefines('W', p.weight),
      ...(hasBias ? rt.storageDefines('BIAS', p.bias!) : {}),
      ...(quant ? quantDefines(rt, quant) : {}),
    },
    constants: { KSIZE: s.k, STRIDE: s.stride, PAD: s.pad, ACT: ACTIVATION_CODE[p.act] },
    workgroups: tilesP * tilesC * p.samples,
  });
}
