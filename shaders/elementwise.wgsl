// Elementwise family: binary (add/mul with broadcasting), scale_shift, unary activations, geglu.
// Inputs may be f32 or f16 (roles A, B, X); outputs are f32. One thread per output element.
// Tensors over one binding run one dispatch per chunk (src/webgpu/kernels/elementwise.ts).

override WG: u32 = 256u;
// binary: 0 = add, 1 = mul.
override OP: u32 = 0u;
// unary: 0 = none, 1 = silu, 2 = gelu (erf), 3 = quick_gelu, 4 = relu, 5 = tanh.
override ACT: u32 = 0u;

struct Uniforms {
  n: u32,
  // binary: elements of b, broadcast mode (0 same shape, 1 b is a prefix of a's shape, 2 a suffix),
  // and for mode 1 how many consecutive a elements share one b element.
  // geglu: m is N (half the last dim).
  m: u32,
  mode: u32,
  inner: u32,
  // binary: index in the whole of a of this dispatch's first element (a may be one chunk of a
  // larger tensor; a broadcast b is indexed by the whole tensor's element index).
  offset: u32,
  // First element of this dispatch within the bound chunk of a (or x), of a same-shape b, and
  // of out: tensors of one shape may be chunked differently when their dtypes differ.
  a_base: u32,
  b_base: u32,
  out_base: u32,
}

struct ScaleUniforms {
  n: u32,
  s: f32,
  t: f32,
  x_base: u32,
  out_base: u32,
}

@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(0) var<uniform> us: ScaleUniforms;

#if A_F16
@group(0) @binding(1) var<storage, read> a: array<f16>;
fn load_a(i: u32) -> f32 { return f32(a[i]); }
#elif A_F16_PACKED
@group(0) @binding(1) var<storage, read> a: array<u32>;
fn load_a(i: u32) -> f32 { return unpack_half(a[i >> 1u], i); }
#else
@group(0) @binding(1) var<storage, read> a: array<f32>;
fn load_a(i: u32) -> f32 { return a[i]; }
#endif

#if B_F16
@group(0) @binding(2) var<storage, read> b: array<f16>;
fn load_b(i: u32) -> f32 { return f32(b[i]); }
#elif B_F16_PACKED
@group(0) @binding(2) var<storage, read> b: array<u32>;
fn load_b(i: u32) -> f32 { return unpack_half(b[i >> 1u], i); }
#else
@group(0) @binding(2) var<storage, read> b: array<f32>;
fn load_b(i: u32) -> f32 { return b[i]; }
#endif

@group(0) @binding(3) var<storage, read_write> out3: array<out_t>;

#if X_F16
@group(0) @binding(1) var<storage, read> x: array<f16>;
fn load_x(i: u32) -> f32 { return f32(x[i]); }
#elif X_F16_PACKED
@group(0) @binding(1) var<storage, read> x: array<u32>;
fn load_x(i: u32) -> f32 { return unpack_half(x[i >> 1u], i); }
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
fn load_x(i: u32) -> f32 { return x[i]; }
#endif

@group(0) @binding(2) var<storage, read_write> out2: array<out_t>;

// erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, about f32 resolution); WGSL has no erf.
fn erf_f32(v: f32) -> f32 {
  let z = abs(v);
  let t = 1.0 / (1.0 + 0.3275911 * z);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(v) * (1.0 - poly * exp(-z * z));
}

fn gelu(v: f32) -> f32 {
  return 0.5 * v * (1.0 + erf_f32(v * 0.70710678118654752));
}

fn activate(v: f32) -> f32 {
  switch ACT {
    case 1u: { return v / (1.0 + exp(-v)); }
    case 2u: { return gelu(v); }
    case 3u: { return v / (1.0 + exp(-1.702 * v)); }
    case 4u: { return max(v, 0.0); }
    // tanh of a large argument can overflow inside the driver's exp; it is ±1 in f32 past 10.
    case 5u: { return tanh(clamp(v, -10.0, 10.0)); }
    default: { return v; }
  }
}

fn element_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return linear_workgroup_index(wid, nwg) * WG + lid;
}

@compute @workgroup_size(WG)
fn binary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= u.n) { return; }
  var j = u.b_base + i;
  if (u.mode == 1u) { j = (u.offset + i) / u.inner; } else if (u.mode == 2u) { j = (u.offset + i) % u.m; }
  let av = load_a(u.a_base + i);
  let bv = load_b(j);
  if (OP == 1u) { out3[u.out_base + i] = out_t(av * bv); } else { out3[u.out_base + i] = out_t(av + bv); }
}

@compute @workgroup_size(WG)
fn scale_shift(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= us.n) { return; }
  out2[us.out_base + i] = out_t(load_x(us.x_base + i) * us.s + us.t);
}

@compute @workgroup_size(WG)
fn unary(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= u.n) { return; }
  out2[u.out_base + i] = out_t(activate(load_x(u.a_base + i)));
}

@compute @workgroup_size(WG)
fn geglu(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= u.n) { return; }
  let half = u.m;
  let row = i / half;
  let col = i % half;
  let base = row * 2u * half;
  out2[i] = out_t(load_x(base + col) * gelu(load_x(base + half + col)));
}
