// Conversion family: f32/f16 → f32 (with a source offset, so it also copies a slice) and f32 → f16.

override WG: u32 = 256u;

struct Uniforms {
  // Elements to convert.
  n: u32,
  // to_f32: first source element.
  offset: u32,
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

@group(0) @binding(2) var<storage, read_write> out_f32: array<f32>;

#if Y_F16
@group(0) @binding(2) var<storage, read_write> out_f16: array<f16>;
#else
@group(0) @binding(2) var<storage, read_write> out_f16: array<u32>;
#endif

@compute @workgroup_size(WG)
fn to_f32(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup_index(wid, nwg) * WG + lid;
  if (i >= u.n) { return; }
  out_f32[i] = load_x(u.offset + i);
}

// One thread per pair of elements, so packed output words have a single writer.
@compute @workgroup_size(WG)
fn to_f16(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = linear_workgroup_index(wid, nwg) * WG + lid;
  let i = 2u * p;
  if (i >= u.n) { return; }
  let lo = load_x(i);
  var hi = 0.0;
  if (i + 1u < u.n) { hi = load_x(i + 1u); }
#if Y_F16
  out_f16[i] = f16(lo);
  if (i + 1u < u.n) { out_f16[i + 1u] = f16(hi); }
#else
  out_f16[p] = pack2x16float(vec2<f32>(lo, hi));
#endif
}
