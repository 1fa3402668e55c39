// Data-movement family: nearest upsampling, channel concatenation, last-two-dims transpose,
// and row gathers (embedding lookups). One thread per output element; outputs are f32.

override WG: u32 = 256u;

struct Uniforms {
  n: u32,
  // upsample: H, W of the input. concat: a's and b's elements per batch row. transpose: M, N.
  // gather: C (row length) in p0.
  p0: u32,
  p1: u32,
}

// upsample: the input is h×w planes, the output oh×ow; this dispatch writes n outputs from
// out_base on, reading planes from in_plane on (either tensor may be one chunk of a larger one).
// Output row y reads input row floor(y · scale_h) with scale_h = f32(h / oh), as PyTorch's
// `interpolate(mode="nearest")` computes it in float32 (2× is the common case: scale 0.5).
struct UpsampleUniforms {
  n: u32,
  h: u32,
  w: u32,
  oh: u32,
  ow: u32,
  in_plane: u32,
  out_base: u32,
  scale_h: f32,
  scale_w: f32,
}

@group(0) @binding(0) var<uniform> u: Uniforms;
@group(0) @binding(0) var<uniform> uu: UpsampleUniforms;

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

// gather: (source row within the bound table chunk, destination row) pairs.
@group(0) @binding(2) var<storage, read> pairs: array<vec2<i32>>;

@group(0) @binding(2) var<storage, read_write> out2: array<out_t>;
@group(0) @binding(3) var<storage, read_write> out3: array<out_t>;

fn element_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return linear_workgroup_index(wid, nwg) * WG + lid;
}

@compute @workgroup_size(WG)
fn upsample_nearest(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= uu.n) { return; }
  let ox = i % uu.ow;
  let rest = i / uu.ow;
  let oy = rest % uu.oh;
  let plane = uu.in_plane + rest / uu.oh;
  let iy = min(u32(floor(f32(oy) * uu.scale_h)), uu.h - 1u);
  let ix = min(u32(floor(f32(ox) * uu.scale_w)), uu.w - 1u);
  out2[uu.out_base + i] = out_t(load_a((plane * uu.h + iy) * uu.w + ix));
}

@compute @workgroup_size(WG)
fn concat_channels(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= u.n) { return; }
  let sa = u.p0;
  let sb = u.p1;
  let batch = i / (sa + sb);
  let r = i % (sa + sb);
  if (r < sa) { out3[i] = out_t(load_a(batch * sa + r)); } else { out3[i] = out_t(load_b(batch * sb + r - sa)); }
}

@compute @workgroup_size(WG)
fn transpose(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= u.n) { return; }
  // out [B, N, M] from a [B, M, N]
  let m_dim = u.p0;
  let n_dim = u.p1;
  let m = i % m_dim;
  let rest = i / m_dim;
  let n = rest % n_dim;
  let batch = rest / n_dim;
  out2[i] = out_t(load_a((batch * m_dim + m) * n_dim + n));
}

// n = pairs × C. Rows not listed are left alone, so one output can be filled chunk by chunk.
@compute @workgroup_size(WG)
fn gather_rows(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = element_index(wid, nwg, lid);
  if (i >= u.n) { return; }
  let c_dim = u.p0;
  let pair = pairs[i / c_dim];
  let c = i % c_dim;
  out3[u32(pair.y) * c_dim + c] = out_t(load_a(u32(pair.x) * c_dim + c));
}
