// Flash-style multi-head attention: softmax(q·kᵀ·scale [+ causal mask])·v per (batch, head).
//
// One workgroup owns BLOCK_Q consecutive queries of one (batch, head). It walks the keys in
// tiles of BLOCK_K: the tile's keys and values are staged once in workgroup memory and shared by
// every query of the block, and each query keeps a running max and running sum (online softmax)
// so the Lq×Lk score matrix never exists anywhere: each score is used as soon as it is computed.
//
// LANES threads share one query, each owning every LANES-th vec4 of the head (so a large head
// does not need all of q and the accumulator in one thread's registers); their partial dot
// products are summed through workgroup memory. Scores, softmax and accumulation are f32 whatever
// the storage dtype, which is what keeps f16 models free of overflow NaNs here.
//
// SHARED_TILE (for large heads): K and V take turns in one tile instead of sitting side by side.
// A 512-wide key row is 2 KiB, so WebGPU's default 16 KiB of workgroup memory holds only a few
// keys of K and V together; taking turns halves that, for one more barrier per tile, and keeps
// the query block (the reuse of every staged key) whole. The scores of the tile wait in `partial`
// while V replaces K.
//
// Tensors are [B, L, H·D] row-major: element (b, l, h, d) sits at (b·L + l)·H·D + h·D + d.

struct Params {
  batch_heads: u32,
  heads: u32,
  lq: u32,
  lk: u32,
  head_size: u32,
  // Workgroups per (batch, head): ceil(lq / BLOCK_Q).
  q_blocks: u32,
  causal: u32,
  // scale·log2(e), folded into q so the softmax runs on exp2.
  scale_log2e: f32,
}

// Queries per workgroup.
override BLOCK_Q: u32 = 64u;
// Threads per query.
override LANES: u32 = 1u;
// Keys per tile.
override BLOCK_K: u32 = 32u;
// vec4s of the head each thread owns: ceil(ceil(D / 4) / LANES); at most MAX_CHUNKS.
override CHUNKS: u32 = 10u;
// Slots for the partial dot products of LANES > 1 (1 when unused).
override PARTIAL_SLOTS: u32 = 1u;

// Register arrays need a const size; the loops stop at CHUNKS, so after unrolling only the used
// prefix is live.
const MAX_CHUNKS = 16u;
// Running max before the first key: below any real score, yet finite (WGSL has no infinities),
// so the first rescale multiplies the empty accumulator by exp2(-huge) = 0.
const NO_MAX = -3.0e38;

@group(0) @binding(0) var<uniform> params: Params;
#if Q_F16
@group(0) @binding(1) var<storage, read> q: array<f16>;
#elif Q_F16_PACKED
@group(0) @binding(1) var<storage, read> q: array<u32>;
#else
@group(0) @binding(1) var<storage, read> q: array<f32>;
#endif
#if K_F16
@group(0) @binding(2) var<storage, read> k: array<f16>;
#elif K_F16_PACKED
@group(0) @binding(2) var<storage, read> k: array<u32>;
#else
@group(0) @binding(2) var<storage, read> k: array<f32>;
#endif
#if V_F16
@group(0) @binding(3) var<storage, read> v: array<f16>;
#elif V_F16_PACKED
@group(0) @binding(3) var<storage, read> v: array<u32>;
#else
@group(0) @binding(3) var<storage, read> v: array<f32>;
#endif
// Ops output f32 whatever their inputs' storage.
@group(0) @binding(4) var<storage, read_write> out: array<out_t>;

// The current key tile (and with SHARED_TILE, after the scores, the value tile): BLOCK_K rows of
// CHUNKS·LANES vec4s, zero past the head and past the last key, so the inner loops need no
// bounds checks.
var<workgroup> tile: array<vec4<f32>, BLOCK_K * CHUNKS * LANES>;
#if !SHARED_TILE
var<workgroup> tile_v: array<vec4<f32>, BLOCK_K * CHUNKS * LANES>;
#endif
// partial[j·BLOCK_Q·LANES + lid]: thread lid's share of the dot product with key j of the tile
// (lid = query·LANES + lane, so a warp's stores are contiguous: no bank conflicts on a real GPU).
// With SHARED_TILE the entry of a query's first lane then becomes the key's score.
var<workgroup> partial: array<f32, PARTIAL_SLOTS>;

fn load_q(e: u32) -> f32 {
#if Q_F16
  return f32(q[e]);
#elif Q_F16_PACKED
  return unpack_half(q[e >> 1u], e);
#else
  return q[e];
#endif
}

fn load_k(e: u32) -> f32 {
#if K_F16
  return f32(k[e]);
#elif K_F16_PACKED
  return unpack_half(k[e >> 1u], e);
#else
  return k[e];
#endif
}

fn load_v(e: u32) -> f32 {
#if V_F16
  return f32(v[e]);
#elif V_F16_PACKED
  return unpack_half(v[e >> 1u], e);
#else
  return v[e];
#endif
}

// Lanes at or past `valid` (1..4) read the last valid element again and are zeroed, so a head
// size that is not a multiple of 4 never reads past its own row.
fn valid_mask(valid: u32) -> vec4<bool> {
  return vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(valid);
}

fn load4_q(e: u32, valid: u32) -> vec4<f32> {
  let last = e + valid - 1u;
  let x = vec4<f32>(load_q(e), load_q(min(e + 1u, last)), load_q(min(e + 2u, last)), load_q(min(e + 3u, last)));
  return select(vec4<f32>(0.0), x, valid_mask(valid));
}

fn load4_k(e: u32, valid: u32) -> vec4<f32> {
  let last = e + valid - 1u;
  let x = vec4<f32>(load_k(e), load_k(min(e + 1u, last)), load_k(min(e + 2u, last)), load_k(min(e + 3u, last)));
  return select(vec4<f32>(0.0), x, valid_mask(valid));
}

fn load4_v(e: u32, valid: u32) -> vec4<f32> {
  let last = e + valid - 1u;
  let x = vec4<f32>(load_v(e), load_v(min(e + 1u, last)), load_v(min(e + 2u, last)), load_v(min(e + 3u, last)));
  return select(vec4<f32>(0.0), x, valid_mask(valid));
}

fn store4(e: u32, x: vec4<f32>, valid: u32) {
  for (var i = 0u; i < valid; i++) {
    out[e + i] = out_t(x[i]);
  }
}

// This thread's share of q · (the tile's key at vec4 `first`, with stride LANES).
fn dot_tile_k(qv: ptr<function, array<vec4<f32>, MAX_CHUNKS>>, first: u32) -> f32 {
  var dot4 = vec4<f32>(0.0);
  for (var c = 0u; c < CHUNKS; c++) {
    dot4 = fma((*qv)[c], tile[first + c * LANES], dot4);
  }
  return (dot4.x + dot4.y) + (dot4.z + dot4.w);
}

// Where vec4 `i` of the tile of keys from `k0` comes from: element `e` of k and v (kv_base is
// the head's first element), of which `valid` (0..4) are real; 0 past the last key or the head,
// whose tile entries stay zero.
struct TileSource {
  e: u32,
  valid: u32,
}

fn tile_source(i: u32, k0: u32, kv_base: u32) -> TileSource {
  let stride = CHUNKS * LANES;
  let key = k0 + i / stride;
  let d = (i % stride) * 4u;
  if (key >= params.lk || d >= params.head_size) {
    return TileSource(0u, 0u);
  }
  return TileSource(kv_base + key * params.heads * params.head_size + d, min(params.head_size - d, 4u));
}

// The value tile entry `i` (the tile V shares with K, or its own).
fn tile_v_at(i: u32) -> vec4<f32> {
#if SHARED_TILE
  return tile[i];
#else
  return tile_v[i];
#endif
}

@compute @workgroup_size(BLOCK_Q * LANES)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let block = linear_workgroup_index(wid, nwg);
  if (block >= params.batch_heads * params.q_blocks) {
    return;
  }
  let bh = block / params.q_blocks;
  let b = bh / params.heads;
  let h = bh % params.heads;
  let q0 = (block % params.q_blocks) * BLOCK_Q;
  let lane = lid % LANES;
  let query = q0 + lid / LANES;
  let head_size = params.head_size;
  let row_len = params.heads * head_size;
  let stride = CHUNKS * LANES;

  // Threads past the last query still stage tiles and meet every barrier; they only skip the store.
  var qv: array<vec4<f32>, MAX_CHUNKS>;
  var acc: array<vec4<f32>, MAX_CHUNKS>;
  let q_row = (b * params.lq + min(query, params.lq - 1u)) * row_len + h * head_size;
  for (var c = 0u; c < CHUNKS; c++) {
    let d = (c * LANES + lane) * 4u;
    qv[c] = vec4<f32>(0.0);
    if (d < head_size) {
      qv[c] = load4_q(q_row + d, min(head_size - d, 4u)) * params.scale_log2e;
    }
    acc[c] = vec4<f32>(0.0);
  }
  var running_max = NO_MAX;
  var running_sum = 0.0;

  // With the causal mask no query of this block sees keys past its last query.
  var k_end = params.lk;
  if (params.causal != 0u) {
    k_end = min(k_end, q0 + BLOCK_Q);
  }
  let kv_base = b * params.lk * row_len + h * head_size;
  let threads = BLOCK_Q * LANES;
  let first_lane = lid - lane;
  for (var k0 = 0u; k0 < k_end; k0 += BLOCK_K) {
    let keys = min(BLOCK_K, k_end - k0);
#if SHARED_TILE
    for (var i = lid; i < BLOCK_K * stride; i += threads) {
      let src = tile_source(i, k0, kv_base);
      var x = vec4<f32>(0.0);
      if (src.valid > 0u) {
        x = load4_k(src.e, src.valid);
      }
      tile[i] = x;
    }
    workgroupBarrier();
    for (var j = 0u; j < keys; j++) {
      partial[j * threads + lid] = dot_tile_k(&qv, j * stride + lane);
    }
    workgroupBarrier();
    // Nobody reads K any more: V takes its place. Meanwhile the lanes of each query sum its
    // partial dot products, key j by lane j % LANES, in place, so that the key loop below reads
    // one score per key instead of LANES partials.
    for (var i = lid; i < BLOCK_K * stride; i += threads) {
      let src = tile_source(i, k0, kv_base);
      var x = vec4<f32>(0.0);
      if (src.valid > 0u) {
        x = load4_v(src.e, src.valid);
      }
      tile[i] = x;
    }
    if (LANES > 1u) {
      for (var j = lane; j < keys; j += LANES) {
        var score = 0.0;
        for (var t = 0u; t < LANES; t++) {
          score += partial[j * threads + first_lane + t];
        }
        partial[j * threads + first_lane] = score;
      }
    }
    workgroupBarrier();
#else
    for (var i = lid; i < BLOCK_K * stride; i += threads) {
      let src = tile_source(i, k0, kv_base);
      var kx = vec4<f32>(0.0);
      var vx = vec4<f32>(0.0);
      if (src.valid > 0u) {
        kx = load4_k(src.e, src.valid);
        vx = load4_v(src.e, src.valid);
      }
      tile[i] = kx;
      tile_v[i] = vx;
    }
    workgroupBarrier();
    if (LANES > 1u) {
      for (var j = 0u; j < keys; j++) {
        partial[j * threads + lid] = dot_tile_k(&qv, j * stride + lane);
      }
      workgroupBarrier();
    }
#endif

    // The key loop has a runtime bound on purpose: unrolling it (with the head loop inside) made
    // pipelines take tens of seconds to compile on CPU drivers. Only the head loops unroll.
    // Every thread walks every key of the tile (causally masked ones get weight 0) so that the
    // loop stays uniform: then `j` is the same for all threads and CPU drivers broadcast the
    // tile reads instead of gathering them.
    for (var j = 0u; j < keys; j++) {
      let seen = params.causal == 0u || k0 + j <= query;
#if SHARED_TILE
      var score = partial[j * threads + first_lane];
#else
      var score = 0.0;
      if (LANES > 1u) {
        for (var t = 0u; t < LANES; t++) {
          score += partial[j * threads + first_lane + t];
        }
      } else {
        score = dot_tile_k(&qv, j * stride);
      }
#endif
      score = select(NO_MAX, score, seen);
      // Online softmax: rescale what was accumulated only when the running max moves, which
      // after the first few keys is rare.
      if (score > running_max) {
        let correction = exp2(running_max - score);
        running_sum *= correction;
        for (var c = 0u; c < CHUNKS; c++) {
          acc[c] *= correction;
        }
        running_max = score;
      }
      let p = select(0.0, exp2(score - running_max), seen);
      running_sum += p;
      let row = j * stride + lane;
      for (var c = 0u; c < CHUNKS; c++) {
        acc[c] = fma(vec4<f32>(p), tile_v_at(row + c * LANES), acc[c]);
      }
    }
    workgroupBarrier();
  }

  if (query >= params.lq) {
    return;
  }
  let inv_sum = 1.0 / running_sum;
  for (var c = 0u; c < CHUNKS; c++) {
    let d = (c * LANES + lane) * 4u;
    if (d < head_size) {
      store4(q_row + d, acc[c] * inv_sum, min(head_size - d, 4u));
    }
  }
}
