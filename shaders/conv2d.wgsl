// 2-D convolution (NCHW, weights [Cout, Cin, k, k]) as an implicit GEMM: output channels are
// the rows, output pixels the columns, and (ci, ky, kx) the reduction, with the input patch
// gathered on the fly instead of materialising an im2col matrix.
// out = act(conv + bias) + residual.
//
// A dispatch may cover part of the reduction: an input chunk holding channels
// [ciBase, ciBase + Cin) of weights with cinTotal input channels, writing output channels
// [coBase, coBase + Cout) into an output chunk. Tensors over one binding (VAE activations at
// 512² and above) are convolved chunk by chunk: the first pass over an output chunk writes the
// partial sums, later ones add to them (ACCUM), and the last applies bias, activation and
// residual (EPILOGUE); a single pass does both. The math is the same as one whole pass.
//
// Each thread owns 8 output channels × 4 consecutive output pixels (8 rather than 4 channels
// amortises the input gather: 1.4× on lavapipe), reading operands straight from storage (see
// matmul.wgsl for why no workgroup-memory staging). A workgroup covers 64 channels × 32 pixels.
//
// Flags (see src/webgpu/kernels/conv2d.ts):
//   X_VEC      1×1, stride 1, no padding and H·W % 4 == 0: the 4 pixels are one aligned vec4.
//   X_UP2      x (H×W) is read as its nearest ×2 upsampling (2H×2W): tap (iy, ix) loads
//              x[iy / 2, ix / 2], so the 4× larger upsampled tensor never exists.
//   OUT_VEC    Ho·Wo % 4 == 0: output (and residual) rows are written/read as vec4.
//   W_F16 / W_F16_PACKED, BIAS_F16 / BIAS_F16_PACKED  f16 storage (GpuRuntime.storageDefines).
//   W_QUANT with W_Q8 or W_Q4  quantized weights (src/quant/scheme.ts: row co, K = cinTotal·k²
//              values ci·k² + ky·k + kx): packed u32 words, dequantized in registers as they are
//              read, with their f16 scales at binding 6 as array<f16> (SCALE_F16) or packed two
//              per u32 (SCALE_F16_PACKED). No full-precision copy of the weight ever exists.
//   HAS_BIAS, HAS_RESIDUAL
//   X_F16, R_F16, OUT_F16  f16 activations (x, residual, out) on devices with shader-f16.
//   ACCUM      add the output chunk's current values (a partial sum from an earlier pass).
//   EPILOGUE   apply bias, activation and residual (the last pass over these outputs).

struct Params {
  Cin: u32,
  H: u32,
  W: u32,
  Cout: u32,
  Ho: u32,
  Wo: u32,
  batch: u32,
  tilesP: u32,
  tilesC: u32,
  // Weight layout and where this dispatch sits in the whole convolution (see the header).
  cinTotal: u32,
  ciBase: u32,
  coBase: u32,
  // First sample of the dispatch within the input chunk and within the output chunk.
  xBatchOff: u32,
  outBatchOff: u32,
  // Quantized weights only (0 otherwise): values per scale, and f16 scales per output channel.
  qGroupSize: u32,
  qScaleStride: u32,
}

override KSIZE: u32 = 3u;
override STRIDE: u32 = 1u;
override PAD: u32 = 1u;
// 0 none, 1 silu, 2 gelu (erf), 3 quick_gelu, 4 relu.
override ACT: u32 = 0u;

// Activations (x, residual) are f32 or, with f16 activations (shader-f16 only), f16.
#if X_F16
alias x_t = f16;
#else
alias x_t = f32;
#endif
#if R_F16
alias r_t = f16;
#else
alias r_t = f32;
#endif

@group(0) @binding(0) var<uniform> p: Params;
#if X_VEC
@group(0) @binding(1) var<storage, read> x: array<vec4<x_t>>;
#else
@group(0) @binding(1) var<storage, read> x: array<x_t>;
#endif
#if W_QUANT
@group(0) @binding(2) var<storage, read> w: array<u32>;
#elif W_F16
@group(0) @binding(2) var<storage, read> w: array<f16>;
#elif W_F16_PACKED
@group(0) @binding(2) var<storage, read> w: array<u32>;
#else
@group(0) @binding(2) var<storage, read> w: array<f32>;
#endif
#if HAS_BIAS
#if BIAS_F16
@group(0) @binding(3) var<storage, read> bias: array<f16>;
#elif BIAS_F16_PACKED
@group(0) @binding(3) var<storage, read> bias: array<u32>;
#else
@group(0) @binding(3) var<storage, read> bias: array<f32>;
#endif
#endif
#if OUT_VEC
#if HAS_RESIDUAL
@group(0) @binding(4) var<storage, read> residual: array<vec4<r_t>>;
#endif
@group(0) @binding(5) var<storage, read_write> out: array<vec4<out_t>>;
#else
#if HAS_RESIDUAL
@group(0) @binding(4) var<storage, read> residual: array<r_t>;
#endif
@group(0) @binding(5) var<storage, read_write> out: array<out_t>;
#endif
#if SCALE_F16
@group(0) @binding(6) var<storage, read> scales: array<f16>;
#elif SCALE_F16_PACKED
@group(0) @binding(6) var<storage, read> scales: array<u32>;
#endif

#if W_QUANT
// The quantized value of weight element e, unscaled: an int8 byte moved to the top of the word
// and shifted back down arithmetically (sign extension), or an int4 nibble stored as q + 8.
fn load_wq(e: u32) -> f32 {
#if W_Q8
  return f32(bitcast<i32>(w[e >> 2u] << (24u - ((e & 3u) << 3u))) >> 24u);
#else
  return f32((w[e >> 3u] >> ((e & 7u) << 2u)) & 15u) - 8.0;
#endif
}

// Scale `i` (row-major, qScaleStride per output channel).
fn load_scale(i: u32) -> f32 {
#if SCALE_F16
  return f32(scales[i]);
#else
  return unpack_half(scales[i >> 1u], i);
#endif
}
#else
fn load_w(e: u32) -> f32 {
#if W_F16
  return f32(w[e]);
#elif W_F16_PACKED
  return unpack_half(w[e >> 1u], e);
#else
  return w[e];
#endif
}
#endif

#if HAS_BIAS
fn load_bias(e: u32) -> f32 {
#if BIAS_F16
  return f32(bias[e]);
#elif BIAS_F16_PACKED
  return unpack_half(bias[e >> 1u], e);
#else
  return bias[e];
#endif
}
#endif

fn activate(v: f32) -> f32 {
  switch ACT {
    case 1u: { return v / (1.0 + exp(-v)); }
    case 2u: { return 0.5 * v * (1.0 + erf_approx(v * 0.7071067811865476)); }
    case 3u: { return v / (1.0 + exp(-1.702 * v)); }
    case 4u: { return max(v, 0.0); }
    default: { return v; }
  }
}

// erf to ~1.2e-7 absolute (Numerical Recipes' erfc Chebyshev fit); WGSL has no erf.
fn erf_approx(v: f32) -> f32 {
  let z = abs(v);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, v >= 0.0);
}

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let tile = linear_workgroup_index(wid, nwg);
  let tilesPerBatch = p.tilesP * p.tilesC;
  if (tile >= tilesPerBatch * p.batch) {
    return;
  }
  let batch = tile / tilesPerBatch;
  let inBatch = tile - batch * tilesPerBatch;
  let P = p.Ho * p.Wo;
  let c0 = ((inBatch / p.tilesP) * 8u + lid.y) * 8u;
  let p0 = ((inBatch % p.tilesP) * 8u + lid.x) * 4u;
  if (c0 >= p.Cout || p0 >= P) {
    return;
  }
  let HW = p.H * p.W;
  let KK = KSIZE * KSIZE;
  let xBatch = (p.xBatchOff + batch) * p.Cin * HW;

  // Channels and pixels past the edge are clamped onto the last one (computed, never stored).
  var wRow: array<u32, 8>;
  for (var i = 0u; i < 8u; i++) {
    wRow[i] = ((p.coBase + min(c0 + i, p.Cout - 1u)) * p.cinTotal + p.ciBase) * KK;
  }
#if W_QUANT
  // First scale of each channel's weight row.
  var sRow: array<u32, 8>;
  for (var i = 0u; i < 8u; i++) {
    sRow[i] = (p.coBase + min(c0 + i, p.Cout - 1u)) * p.qScaleStride;
  }
#endif
  // Top-left input corner of each pixel's receptive field; may be -PAD.
  var iy0: array<i32, 4>;
  var ix0: array<i32, 4>;
  for (var j = 0u; j < 4u; j++) {
    let q = min(p0 + j, P - 1u);
    let oy = q / p.Wo;
    iy0[j] = i32(oy * STRIDE) - i32(PAD);
    ix0[j] = i32((q - oy * p.Wo) * STRIDE) - i32(PAD);
  }

  var acc: array<vec4<f32>, 8>;
  // Taps outside, channels inside: a tap's input offsets and padding mask are worked out once,
  // then the channel loop only steps them by one plane (twice as fast on lavapipe as
  // recomputing them per channel).
  for (var t = 0u; t < KK; t++) {
    let ky = t / KSIZE;
    let kx = t - ky * KSIZE;
#if X_VEC
    let off = (xBatch + p0) >> 2u;
#else
    var off: array<u32, 4>;
    var mask: vec4<f32>;
    for (var j = 0u; j < 4u; j++) {
      let iy = u32(iy0[j] + i32(ky));
      let ix = u32(ix0[j] + i32(kx));
      // Unsigned compares also reject the negative (padding) side; a padding tap reads a safe
      // element and is masked to zero.
#if X_UP2
      let inside = iy < 2u * p.H && ix < 2u * p.W;
      off[j] = xBatch + select(0u, (iy >> 1u) * p.W + (ix >> 1u), inside);
#else
      let inside = iy < p.H && ix < p.W;
      off[j] = xBatch + select(0u, iy * p.W + ix, inside);
#endif
      mask[j] = select(0.0, 1.0, inside);
    }
#endif
    var wi = vec4<u32>(wRow[0], wRow[1], wRow[2], wRow[3]) + t;
    var wj = vec4<u32>(wRow[4], wRow[5], wRow[6], wRow[7]) + t;
#if W_QUANT
    // (ci, t)'s index within a weight row, the same for all 8 channels, so they share its group;
    // their scales are reloaded only when it enters a new one (uniform across the workgroup).
    var kq = p.ciBase * KK + t;
    var qGroupEnd = 0u;
    var si = vec4<f32>(0.0);
    var sj = vec4<f32>(0.0);
#endif
    for (var ci = 0u; ci < p.Cin; ci++) {
#if X_VEC
      let xv = vec4<f32>(x[off + ((ci * HW) >> 2u)]);
#else
      let plane = ci * HW;
      let xv = vec4<f32>(f32(x[off[0] + plane]), f32(x[off[1] + plane]), f32(x[off[2] + plane]), f32(x[off[3] + plane])) * mask;
#endif
#if W_QUANT
      if (kq >= qGroupEnd) {
        let g = kq / p.qGroupSize;
        qGroupEnd = (g + 1u) * p.qGroupSize;
        si = vec4<f32>(load_scale(sRow[0] + g), load_scale(sRow[1] + g), load_scale(sRow[2] + g), load_scale(sRow[3] + g));
        sj = vec4<f32>(load_scale(sRow[4] + g), load_scale(sRow[5] + g), load_scale(sRow[6] + g), load_scale(sRow[7] + g));
      }
      kq += KK;
      // An f16 scale times a small integer is exact in f32: the scheme's weights, exactly.
      let qi = vec4<f32>(load_wq(wi.x), load_wq(wi.y), load_wq(wi.z), load_wq(wi.w)) * si;
      let qj = vec4<f32>(load_wq(wj.x), load_wq(wj.y), load_wq(wj.z), load_wq(wj.w)) * sj;
      acc[0] = fma(vec4<f32>(qi.x), xv, acc[0]);
      acc[1] = fma(vec4<f32>(qi.y), xv, acc[1]);
      acc[2] = fma(vec4<f32>(qi.z), xv, acc[2]);
      acc[3] = fma(vec4<f32>(qi.w), xv, acc[3]);
      acc[4] = fma(vec4<f32>(qj.x), xv, acc[4]);
      acc[5] = fma(vec4<f32>(qj.y), xv, acc[5]);
      acc[6] = fma(vec4<f32>(qj.z), xv, acc[6]);
      acc[7] = fma(vec4<f32>(qj.w), xv, acc[7]);
#else
      acc[0] = fma(vec4<f32>(load_w(wi.x)), xv, acc[0]);
      acc[1] = fma(vec4<f32>(load_w(wi.y)), xv, acc[1]);
      acc[2] = fma(vec4<f32>(load_w(wi.z)), xv, acc[2]);
      acc[3] = fma(vec4<f32>(load_w(wi.w)), xv, acc[3]);
      acc[4] = fma(vec4<f32>(load_w(wj.x)), xv, acc[4]);
      acc[5] = fma(vec4<f32>(load_w(wj.y)), xv, acc[5]);
      acc[6] = fma(vec4<f32>(load_w(wj.z)), xv, acc[6]);
      acc[7] = fma(vec4<f32>(load_w(wj.w)), xv, acc[7]);
#endif
      wi += KK;
      wj += KK;
    }
  }

  for (var i = 0u; i < 8u; i++) {
    let c = c0 + i;
    if (c >= p.Cout) {
      break;
    }
    let o = ((p.outBatchOff + batch) * p.Cout + c) * P + p0;
#if OUT_VEC
#if ACCUM
    var v = acc[i] + vec4<f32>(out[o >> 2u]);
#else
    var v = acc[i];
#endif
#if EPILOGUE
#if HAS_BIAS
    v += vec4<f32>(load_bias(p.coBase + c));
#endif
    v = vec4<f32>(activate(v.x), activate(v.y), activate(v.z), activate(v.w));
#if HAS_RESIDUAL
    v += vec4<f32>(residual[o >> 2u]);
#endif
#endif
    out[o >> 2u] = vec4<out_t>(v);
#else
    for (var j = 0u; j < 4u; j++) {
      if (p0 + j < P) {
#if ACCUM
        var v = acc[i][j] + f32(out[o + j]);
#else
        var v = acc[i][j];
#endif
#if EPILOGUE
#if HAS_BIAS
        v += load_bias(p.coBase + c);
#endif
        v = activate(v);
#if HAS_RESIDUAL
        v += f32(residual[o + j]);
#endif
#endif
        out[o + j] = out_t(v);
      }
    }
#endif
  }
}
