// Softmax over the last dim: one workgroup per row, f32 max/sum reductions in workgroup memory.

override WG: u32 = 256u;

struct Uniforms {
  rows: u32,
  cols: u32,
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

@group(0) @binding(2) var<storage, read_write> out: array<out_t>;

var<workgroup> scratch: array<f32, WG>;

// Tree reduction of one value per thread; `is_max` picks max instead of sum. Every thread gets the result.
fn reduce(v: f32, lid: u32, is_max: bool) -> f32 {
  scratch[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      if (is_max) { scratch[lid] = max(scratch[lid], scratch[lid + s]); } else { scratch[lid] += scratch[lid + s]; }
    }
    workgroupBarrier();
  }
  let r = scratch[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn softmax(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  // Uniform across the workgroup, so the early return keeps barriers in uniform control flow.
  let row = linear_workgroup_index(wid, nwg);
  if (row >= u.rows) { return; }
  let base = row * u.cols;
  var m = -0x1.fffffep+127f;
  for (var c = lid; c < u.cols; c += WG) { m = max(m, load_x(base + c)); }
  m = reduce(m, lid, true);
  var s = 0.0;
  for (var c = lid; c < u.cols; c += WG) { s += exp(load_x(base + c) - m); }
  s = reduce(s, lid, false);
  let inv = 1.0 / s;
  for (var c = lid; c < u.cols; c += WG) { out[base + c] = out_t(exp(load_x(base + c) - m) * inv); }
}
