// GroupNorm of [B, C, spatial]: one workgroup per (batch, group), two-pass mean/variance in f32,
// per-channel affine, optional fused SiLU. A dispatch covers `groups_total` consecutive groups
// starting at channel c_base of some sample, read from x_base in the bound chunk of x and
// written from out_base in the bound chunk of out (large tensors are split into chunks of
// whole groups, and x and out may be chunked differently when their dtypes differ). A dispatch
// may also normalise a channel range of x on its own (gamma_base), which is exact because a
// group's statistics are over its own channels.

override WG: u32 = 256u;
override SILU: bool = false;

struct Uniforms {
  // groups in this dispatch
  groups_total: u32,
  // channels per sample
  channels: u32,
  // channels per group
  cpg: u32,
  // spatial elements per channel
  spatial: u32,
  eps: f32,
  // channel of the dispatch's first group, within the channels of x it normalises
  c_base: u32,
  // gamma and beta's index of that first channel: nonzero when x's channel range [gamma_base,
  // gamma_base + channels) is normalised on its own
  gamma_base: u32,
  x_base: u32,
  out_base: u32,
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
fn group_norm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bg = linear_workgroup_index(wid, nwg);
  if (bg >= u.groups_total) { return; }
  // Groups are contiguous: channels g*cpg .. (g+1)*cpg of one batch row.
  let n = u.cpg * u.spatial;
  let xb = u.x_base + bg * n;
  let first_channel = (u.c_base + bg * u.cpg) % u.channels;
  var s = 0.0;
  for (var k = lid; k < n; k += WG) { s += load_x(xb + k); }
  let mean = workgroup_sum(s, lid) / f32(n);
  var q = 0.0;
  for (var k = lid; k < n; k += WG) {
    let d = load_x(xb + k) - mean;
    q += d * d;
  }
  let inv = inverseSqrt(workgroup_sum(q, lid) / f32(n) + u.eps);
  let ob = u.out_base + bg * n;
  for (var k = lid; k < n; k += WG) {
    let c = u.gamma_base + first_channel + k / u.spatial;
    var y = (load_x(xb + k) - mean) * inv * load_gamma(c) + load_beta(c);
    if (SILU) { y = y / (1.0 + exp(-y)); }
    out[ob + k] = out_t(y);
  }
}
