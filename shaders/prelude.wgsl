// Prepended to every kernel by the runtime (after `enable f16;` when the device has shader-f16).

// Index of this workgroup in a 1-D launch that the runtime folded into a 2-D/3-D grid to stay
// under maxComputeWorkgroupsPerDimension. Kernels must bounds-check: the grid may overshoot.
fn linear_workgroup_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + nwg.x * (wid.y + nwg.y * wid.z);
}

// Element `i` of an f16 tensor stored packed two per u32 (no shader-f16), given its word.
fn unpack_half(word: u32, i: u32) -> f32 {
  return unpack2x16float(word)[i & 1u];
}

// The element type of a kernel's activation output: f16 when the runtime stores activations as
// f16 (`OUT_F16`, only on devices with shader-f16), else f32. Kernels compute in f32 and convert
// once at the store.
#if OUT_F16
alias out_t = f16;
#else
alias out_t = f32;
#endif
