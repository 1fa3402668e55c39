// Batched GEMM with fused epilogue: out[b, m, n0 + n] = act(alpha * sum_k a[b, m, k] * B[b, k, n] + bias[n0 + n]).
//
// B is b[b, k, n] ([K, N]) or, with TRANS_B, b[b, n, k] ([N, K], PyTorch Linear weights).
// Each thread owns a 4×4 block of the output and reads its operands straight from storage:
// on lavapipe that ran 1.5–3× faster than staging tiles through workgroup memory (the barriers
// and shared-memory gathers cost more than the cache misses they save), and on GPUs the 8×8
// threads of a workgroup reuse the same A rows and B columns through L1.
//
// Flags (see src/webgpu/kernels/matmul.ts):
//   A_VEC    K % 4 == 0: a rows are read as vec4.
//   B_VEC    4 consecutive B elements along the contiguous dim start on a multiple of 4
//            (N % 4 == 0, or K % 4 == 0 with TRANS_B): read as one vector.
//   OUT_VEC  N, ldc and n0 are multiples of 4: the output is written as vec4.
//   HAS_BIAS bias is bound.
//   A_F16 / OUT_F16  f16 activations (a, out) on devices with shader-f16.
//   B_F16 / B_F16_PACKED, BIAS_F16 / BIAS_F16_PACKED  f16 storage, as array<f16> or packed two
//            per u32 (GpuRuntime.storageDefines).
//   B_QUANT with B_Q8 or B_Q4  B is a quantized Linear weight (src/quant/scheme.ts; TRANS_B, K % 4
//            == 0, so A_VEC): packed u32 words, dequantized in registers as they are read, with
//            its f16 scales at binding 5 as array<f16> (SCALE_F16) or packed two per u32
//            (SCALE_F16_PACKED). No full-precision copy of the weight ever exists.
// Uniforms carry every shape, so one pipeline serves all shapes of a specialisation.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batch: u32,
  // Element strides between batches (0 for a B shared by every batch).
  strideA: u32,
  strideB: u32,
  strideOut: u32,
  // Row stride of the output and first output column: a linear over a weight split into
  // row chunks writes each chunk's column range of the full output.
  ldOut: u32,
  colOffset: u32,
  tilesN: u32,
  tilesM: u32,
  alpha: f32,
  // Quantized B only (0 otherwise): values per scale, and f16 scales per weight row.
  qGroupSize: u32,
  qScaleStride: u32,
}

// 0 none, 1 silu, 2 gelu (erf), 3 quick_gelu, 4 relu.
override ACT: u32 = 0u;

// The activation operand a is f32 or, with f16 activations (shader-f16 only), f16.
#if A_F16
alias a_t = f16;
#else
alias a_t = f32;
#endif

@group(0) @binding(0) var<uniform> p: Params;
#if A_VEC
@group(0) @binding(1) var<storage, read> a: array<vec4<a_t>>;
#else
@group(0) @binding(1) var<storage, read> a: array<a_t>;
#endif
#if B_QUANT
@group(0) @binding(2) var<storage, read> b: array<u32>;
#elif B_F16
#if B_VEC
@group(0) @binding(2) var<storage, read> b: array<vec4<f16>>;
#else
@group(0) @binding(2) var<storage, read> b: array<f16>;
#endif
#elif B_F16_PACKED
@group(0) @binding(2) var<storage, read> b: array<u32>;
#else
#if B_VEC
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
#else
@group(0) @binding(2) var<storage, read> b: array<f32>;
#endif
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
@group(0) @binding(4) var<storage, read_write> out: array<vec4<out_t>>;
#else
@group(0) @binding(4) var<storage, read_write> out: array<out_t>;
#endif
#if SCALE_F16
@group(0) @binding(5) var<storage, read> scales: array<f16>;
#elif SCALE_F16_PACKED
@group(0) @binding(5) var<storage, read> scales: array<u32>;
#endif

// a[e .. e + 3], e a multiple of 4 when A_VEC.
fn load_a4(e: u32) -> vec4<f32> {
#if A_VEC
  return vec4<f32>(a[e >> 2u]);
#else
  return vec4<f32>(f32(a[e]), f32(a[e + 1u]), f32(a[e + 2u]), f32(a[e + 3u]));
#endif
}

#if !B_QUANT
fn load_b1(e: u32) -> f32 {
#if B_F16
#if B_VEC
  return f32(b[e >> 2u][e & 3u]);
#else
  return f32(b[e]);
#endif
#elif B_F16_PACKED
  return unpack_half(b[e >> 1u], e);
#else
#if B_VEC
  return b[e >> 2u][e & 3u];
#else
  return b[e];
#endif
#endif
}

// b[e .. e + 3]; with B_VEC, e is a multiple of 4.
fn load_b4(e: u32) -> vec4<f32> {
#if B_F16
#if B_VEC
  return vec4<f32>(b[e >> 2u]);
#else
  return vec4<f32>(load_b1(e), load_b1(e + 1u), load_b1(e + 2u), load_b1(e + 3u));
#endif
#elif B_F16_PACKED
#if B_VEC
  let w = e >> 1u;
  return vec4<f32>(unpack2x16float(b[w]), unpack2x16float(b[w + 1u]));
#else
  return vec4<f32>(load_b1(e), load_b1(e + 1u), load_b1(e + 2u), load_b1(e + 3u));
#endif
#else
#if B_VEC
  return b[e >> 2u];
#else
  return vec4<f32>(b[e], b[e + 1u], b[e + 2u], b[e + 3u]);
#endif
#endif
}
#endif

#if B_QUANT
// The quantized values of b[e .. e + 3] (e a multiple of 4, so one byte-aligned word quarter or
// nibble half of a word: a row holds whole words), unscaled. int8 bytes are sign-extended by
// shifting each to the top and back down arithmetically; int4 nibbles are stored as q + 8.
fn load_bq4(e: u32) -> vec4<f32> {
#if B_Q8
  let w = b[e >> 2u];
  return vec4<f32>(vec4<i32>(bitcast<i32>(w << 24u), bitcast<i32>(w << 16u), bitcast<i32>(w << 8u), bitcast<i32>(w)) >> vec4<u32>(24u));
#else
  let w = b[e >> 3u] >> ((e & 4u) << 2u);
  return vec4<f32>(vec4<u32>(w, w >> 4u, w >> 8u, w >> 12u) & vec4<u32>(15u)) - 8.0;
#endif
}

// Scale `i` (row-major, qScaleStride per weight row).
fn load_scale(i: u32) -> f32 {
#if SCALE_F16
  return f32(scales[i]);
#else
  return unpack_half(scales[i >> 1u], i);
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

fn activate(x: f32) -> f32 {
  switch ACT {
    case 1u: { return x / (1.0 + exp(-x)); }
    case 2u: { return 0.5 * x * (1.0 + erf_approx(x * 0.7071067811865476)); }
    case 3u: { return x / (1.0 + exp(-1.702 * x)); }
    case 4u: { return max(x, 0.0); }
    default: { return x; }
  }
}

// erf to ~1.2e-7 absolute (Numerical Recipes' erfc Chebyshev fit): WGSL has no erf, and
// tanh-GELU would differ from torch's default exact GELU by up to 5e-4.
fn erf_approx(x: f32) -> f32 {
  let z = abs(x);
  let t = 1.0 / (1.0 + 0.5 * z);
  let r = t * exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277)))))))));
  return select(r - 1.0, 1.0 - r, x >= 0.0);
}

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let tile = linear_workgroup_index(wid, nwg);
  let tilesPerBatch = p.tilesN * p.tilesM;
  if (tile >= tilesPerBatch * p.batch) {
    return;
  }
  let batch = tile / tilesPerBatch;
  let inBatch = tile - batch * tilesPerBatch;
  let m0 = ((inBatch / p.tilesN) * 8u + lid.y) * 4u;
  let n0 = ((inBatch % p.tilesN) * 8u + lid.x) * 4u;
  if (m0 >= p.M || n0 >= p.N) {
    return;
  }
  let baseA = batch * p.strideA;
  let baseB = batch * p.strideB;

  // Rows and columns past the edge are clamped onto the last one: they compute garbage that is
  // never stored, which keeps the inner loop free of bounds checks.
  var rowA: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) {
    rowA[i] = baseA + min(m0 + i, p.M - 1u) * p.K;
  }
  var col: array<u32, 4>;
  for (var j = 0u; j < 4u; j++) {
    col[j] = min(n0 + j, p.N - 1u);
  }

  var acc: array<vec4<f32>, 4>;
#if B_QUANT
  // The 4 columns' scales of the group holding k, reloaded as k enters the next group (k steps
  // by 4 and group sizes are multiples of 8, so k lands on each group's start exactly).
  var qScale = vec4<f32>(0.0);
  var qGroup = 0u;
  var qGroupEnd = 0u;
#endif
  let K4 = p.K & ~3u;
  for (var k = 0u; k < K4; k += 4u) {
    // bk[kk] = B[k + kk, n0 .. n0 + 3], one vec4 over the 4 output columns.
    var bk: array<vec4<f32>, 4>;
#if B_QUANT
    if (k == qGroupEnd) {
      qScale = vec4<f32>(load_scale(col[0] * p.qScaleStride + qGroup), load_scale(col[1] * p.qScaleStride + qGroup),
                        load_scale(col[2] * p.qScaleStride + qGroup), load_scale(col[3] * p.qScaleStride + qGroup));
      qGroup++;
      qGroupEnd += p.qGroupSize;
    }
    // As TRANS_B below, then each column times its scale: an f16 scale times a small integer
    // is exact in f32, so the weights are exactly the scheme's and only the sum rounds.
    let c0 = load_bq4(baseB + col[0] * p.K + k);
    let c1 = load_bq4(baseB + col[1] * p.K + k);
    let c2 = load_bq4(baseB + col[2] * p.K + k);
    let c3 = load_bq4(baseB + col[3] * p.K + k);
    bk[0] = vec4<f32>(c0.x, c1.x, c2.x, c3.x) * qScale;
    bk[1] = vec4<f32>(c0.y, c1.y, c2.y, c3.y) * qScale;
    bk[2] = vec4<f32>(c0.z, c1.z, c2.z, c3.z) * qScale;
    bk[3] = vec4<f32>(c0.w, c1.w, c2.w, c3.w) * qScale;
#elif TRANS_B
    // B rows are output columns: read 4 rows × 4 k and transpose in registers.
    let c0 = load_b4(baseB + col[0] * p.K + k);
    let c1 = load_b4(baseB + col[1] * p.K + k);
    let c2 = load_b4(baseB + col[2] * p.K + k);
    let c3 = load_b4(baseB + col[3] * p.K + k);
    bk[0] = vec4<f32>(c0.x, c1.x, c2.x, c3.x);
    bk[1] = vec4<f32>(c0.y, c1.y, c2.y, c3.y);
    bk[2] = vec4<f32>(c0.z, c1.z, c2.z, c3.z);
    bk[3] = vec4<f32>(c0.w, c1.w, c2.w, c3.w);
#else
    for (var kk = 0u; kk < 4u; kk++) {
      let rowB = baseB + (k + kk) * p.N;
#if B_VEC
      bk[kk] = load_b4(rowB + col[0]);
#else
      bk[kk] = vec4<f32>(load_b1(rowB + col[0]), load_b1(rowB + col[1]), load_b1(rowB + col[2]), load_b1(rowB + col[3]));
#endif
    }
#endif
    for (var i = 0u; i < 4u; i++) {
      let av = load_a4(rowA[i] + k);
      acc[i] = fma(vec4<f32>(av.x), bk[0], acc[i]);
      acc[i] = fma(vec4<f32>(av.y), bk[1], acc[i]);
      acc[i] = fma(vec4<f32>(av.z), bk[2], acc[i]);
      acc[i] = fma(vec4<f32>(av.w), bk[3], acc[i]);
    }
  }
  // The last K % 4 steps (none with A_VEC).
#if !A_VEC
  for (var k = K4; k < p.K; k++) {
#if TRANS_B
    let bv = vec4<f32>(load_b1(baseB + col[0] * p.K + k), load_b1(baseB + col[1] * p.K + k),
                       load_b1(baseB + col[2] * p.K + k), load_b1(baseB + col[3] * p.K + k));
#else
    let rowB = baseB + k * p.N;
    let bv = vec4<f32>(load_b1(rowB + col[0]), load_b1(rowB + col[1]), load_b1(rowB + col[2]), load_b1(rowB + col[3]));
#endif
    for (var i = 0u; i < 4u; i++) {
      acc[i] = fma(vec4<f32>(f32(a[rowA[i] + k])), bv, acc[i]);
    }
  }
#endif

#if HAS_BIAS
  let bv = vec4<f32>(load_bias(p.colOffset + col[0]), load_bias(p.colOffset + col[1]), load_bias(p.colOffset + col[2]), load_bias(p.colOffset + col[3]));
#else
  let bv = vec4<f32>(0.0);
#endif
  let baseOut = batch * p.strideOut + p.colOffset + n0;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + i;
    if (m >= p.M) {
      break;
    }
    let v = acc[i] * p.alpha + bv;
    let r = vec4<f32>(activate(v.x), activate(v.y), activate(v.z), activate(v.w));
    let o = baseOut + m * p.ldOut;
#if OUT_VEC
    out[o >> 2u] = vec4<out_t>(r);
#else
    for (var j = 0u; j < 4u; j++) {
      if (n0 + j < p.N) {
        out[o + j] = out_t(r[j]);
      }
    }
#endif
  }
}
