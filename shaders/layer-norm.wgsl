// LayerNorm over the last dim: one workgroup per row, two-pass mean/variance in f32.

override WG: u32 = 256u;

struct Uniforms {
  rows: u32,
  cols: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> u: Uniforms;

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

#if G_F16
@group(0) @binding(2) var<storage, read> gamma: array<f16>;
fn load_gamma(i: u32) -> f32 { return f32(gamma[i]); }
#elif G_F16_PACKED
@group(0) @binding(2) var<storage, read> gamma: array<u32>;
fn load_gamma(i: u32) -> f32 { return unpack_half(gamma[i >> 1u], i); }
#else
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
fn load_gamma(i: u32) -> f32 { return gamma[i]; }
#endif

#if B_F16
@group(0) @binding(3) var<storage, read> beta: array<f16>;
fn load_beta(i: u32) -> f32 { return f32(beta[i]); }
#elif B_F16_PACKED
@group(0) @binding(3) var<storage, read> beta: array<u32>;
fn load_beta(i: u32) -> f32 { return unpack_half(beta[i >> 1u], i); }
#else
@group(0) @binding(3) var<storage, read> beta: array<f32>;
fn load_beta(i: u32) -> f32 { return beta[i]; }
#endif

@group(0) @binding(4) var<storage, read_write> out: array<out_t>;

var<workgroup> scratch: array<f32, WG>;

fn workgroup_sum(v: f32, lid: u32) -> f32 {
  scratch[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { scratch[lid] += scratch[lid + s]; }
    workgroupBarrier();
  }
  let r = scratch[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn layer_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = linear_workgroup_index(wid, nwg);
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  let count = f32(u.cols);
  var s = 0.0;
  for (var c = lid; c < u.cols; c += WG) { s += load_x(base + c); }
  let mean = workgroup_sum(s, lid) / count;
  // Second pass over centred values: exact where E[x²] − mean² would cancel.
  var q = 0.0;
  for (var c = lid; c < u.cols; c += WG) {
    let d = load_x(base + c) - mean;
    q += d * d;
  }
  let inv = inverseSqrt(workgroup_sum(q, lid) / count + u.eps);
  for (var c = lid; c < u.cols; c += WG) {
    out[base + c] = out_t((load_x(base + c) - mean) * inv * load_gamma(c) + load_beta(c));
  }
}
