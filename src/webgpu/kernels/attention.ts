import source from '../../../shaders/attention.wgsl?raw';
import { TensorShapeError } from '../errors.js';
import { defineKernel } from '../kernel.js';
import type { GpuLimits } from '../limits.js';
import type { GpuRuntime } from '../runtime.js';
import type { GpuTensor } from '../tensor.js';
import type { AttentionOptions } from './ops.js';

const ATTENTION = defineKernel({ family: 'attention', entryPoint: 'main', source, storage: ['read', 'read', 'read', 'read_write'] });

/** vec4s of q and of the accumulator one thread holds at most (attention.wgsl's `MAX_CHUNKS`): registers on a real GPU. */
const MAX_CHUNKS = 16;
/** Key tile the default tiling starts from (a short last tile costs only its zero fill: the key loop stops at Lk). */
const DEFAULT_BLOCK_K = 32;
/**
 * The smallest tile the default tiling makes: fewer keys (four barriers each tile) or queries
 * (the reuse of each staged key) would run, but so poorly that naming the limit is more useful.
 */
const MIN_SHARED_BLOCK_K = 4;
const MIN_BLOCK_Q = 8;

/** How attention.wgsl is tiled: its `override` constants. */
export interface AttentionTiling {
  /** Queries per workgroup. */
  readonly blockQ: number;
  /** Threads per query; each owns every `lanes`-th vec4 of the head. */
  readonly lanes: number;
  /** Keys per tile staged in workgroup memory. */
  readonly blockK: number;
  /**
   * K and V take turns in one tile (attention.wgsl's `SHARED_TILE`) instead of sitting side by
   * side: half the tile memory, for one more barrier per tile. Large heads need it to keep a
   * useful query block and key tile under the default 16 KiB of workgroup memory. Default false.
   */
  readonly sharedTile?: boolean;
}

/** `AttentionOptions` plus an explicit tiling (benchmarks and tests; the default suits the shape and device). */
export interface GpuAttentionOptions extends AttentionOptions {
  tiling?: AttentionTiling;
}

/**
 * Bytes of workgroup memory a tiling needs for head size `headSize`: the K and V tiles (one tile
 * they share with `sharedTile`), plus the partial dot products when lanes > 1 or with
 * `sharedTile` (where they also keep the tile's scores while V replaces K).
 */
export function attentionWorkgroupBytes(tiling: AttentionTiling, headSize: number): number {
  const tile = tiling.blockK * chunksOf(headSize, tiling.lanes) * tiling.lanes * 16;
  return (tiling.sharedTile ? tile : 2 * tile) + partialSlots(tiling) * 4;
}

/**
 * The default tiling for a head size and query count on a device: split the head over
 * enough threads that each holds at most 16 vec4s of q and 16 of the accumulator (registers on
 * a real GPU) and size the query block to the queries there are. Then K and V sit side by side
 * in tiles of 32 or 16 keys when that fits workgroup memory (heads up to 64 under the default
 * limits); past that they take turns in one tile, which keeps the whole query block (every
 * staged key serves all its queries) with the largest key tile that fits, shrinking the query
 * block only when not even 4 keys fit, and never below 8 queries × 4 keys: a head that needs
 * more than that throws, naming the workgroup memory it needs. Under the default limits: D 80 → 64 queries × 16 keys,
 * D 160 and 256 → 64 × 8, D 512 → 32 × 4.
 */
export function attentionTiling(headSize: number, lq: number, limits: GpuLimits): AttentionTiling {
  const vec4s = Math.ceil(headSize / 4);
  let lanes = 1;
  while (Math.ceil(vec4s / lanes) > MAX_CHUNKS) lanes *= 2;
  const maxThreads = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  const fullBlockQ = Math.min(64, nextPowerOfTwo(Math.max(lq, 8)), Math.floor(maxThreads / lanes));
  const fits = (t: AttentionTiling): boolean => attentionWorkgroupBytes(t, headSize) <= limits.maxComputeWorkgroupStorageSize;
  for (let blockK = DEFAULT_BLOCK_K; blockK >= 16; blockK /= 2) {
    const side = { blockQ: fullBlockQ, lanes, blockK };
    if (fits(side)) return side;
  }
  const smallestBlockQ = Math.min(MIN_BLOCK_Q, fullBlockQ);
  for (let blockQ = fullBlockQ; blockQ >= smallestBlockQ; blockQ /= 2) {
    for (let blockK = DEFAULT_BLOCK_K; blockK >= MIN_SHARED_BLOCK_K; blockK /= 2) {
      const turns = { blockQ, lanes, blockK, sharedTile: true };
      if (fits(turns)) return turns;
    }
  }
  const smallest = { blockQ: smallestBlockQ, lanes, blockK: MIN_SHARED_BLOCK_K, sharedTile: true };
  throw new TensorShapeError(
    `attention: head size ${headSize} needs ${attentionWorkgroupBytes(smallest, headSize)} bytes of workgroup memory, more than maxComputeWorkgroupStorageSize = ${limits.maxComputeWorkgroupStorageSize}`,
  );
}

/**
 * Multi-head scaled dot-product attention: q [B, Lq, H·D], k and v [B, Lk, H·D] → [B, Lq, H·D] f32.
 * q, k and v may each be f32 or f16 (scores, softmax and accumulation are f32). Flash-style: the
 * Lq×Lk score matrix is never stored, only per-workgroup tiles of it. One dispatch.
 */
export function attention(rt: GpuRuntime, q: GpuTensor, k: GpuTensor, v: GpuTensor, options: GpuAttentionOptions): GpuTensor {
  const { heads } = options;
  if (q.shape.length !== 3 || k.shape.length !== 3 || v.shape.length !== 3) {
    throw new TensorShapeError(`attention: q [${q.shape}], k [${k.shape}], v [${v.shape}] must all be [B, L, H·D]`);
  }
  const [batch, lq, width] = q.shape as [number, number, number];
  const lk = k.shape[1]!;
  if (k.shape[0] !== batch || k.shape[2] !== width || v.shape[0] !== batch || v.shape[1] !== lk || v.shape[2] !== width) {
    throw new TensorShapeError(`attention: k [${k.shape}] and v [${v.shape}] must both be [${batch}, Lk, ${width}] to match q [${q.shape}]`);
  }
  if (!Number.isInteger(heads) || heads < 1 || width % heads !== 0) {
    throw new TensorShapeError(`attention: heads = ${heads} does not divide q's last dim ${width}`);
  }
  if (lk === 0) throw new TensorShapeError(`attention: k [${k.shape}] has no keys to attend to`);
  if (options.causal && lq !== lk) throw new TensorShapeError(`attention: the causal mask needs Lq == Lk, got q [${q.shape}] and k [${k.shape}]`);
  for (const [t, role] of [[q, 'q'], [k, 'k'], [v, 'v']] as const) {
    if (t.dtype === 'i32') throw new TensorShapeError(`attention: ${role} [${t.shape}] is i32; it must be f32 or f16`);
  }
  const headSize = width / heads;
  const tiling = options.tiling ?? attentionTiling(headSize, lq, rt.limits);
  const chunks = chunksOf(headSize, tiling.lanes);
  checkTiling(tiling, headSize, chunks, rt.limits);
  const out = rt.output([batch, lq, width]);
  if (lq === 0 || batch === 0) return out;
  const qBlocks = Math.ceil(lq / tiling.blockQ);
  const scale = options.scale ?? 1 / Math.sqrt(headSize);
  rt.dispatch(ATTENTION, {
    bindings: [q, k, v, out],
    uniforms: { batch_heads: batch * heads, heads, lq, lk, head_size: headSize, q_blocks: qBlocks, causal: options.causal ? 1 : 0, scale_log2e: scale * Math.LOG2E },
    defines: { ...rt.storageDefines('Q', q), ...rt.storageDefines('K', k), ...rt.storageDefines('V', v), SHARED_TILE: tiling.sharedTile === true, ...rt.outputDefines(out) },
    constants: {
      BLOCK_Q: tiling.blockQ,
      LANES: tiling.lanes,
      BLOCK_K: tiling.blockK,
      CHUNKS: chunks,
      PARTIAL_SLOTS: partialSlots(tiling),
    },
    workgroups: batch * heads * qBlocks,
  });
  return out;
}

function checkTiling(tiling: AttentionTiling, headSize: number, chunks: number, limits: GpuLimits): void {
  const { blockQ, lanes, blockK } = tiling;
  const what = `attention tiling ${JSON.stringify(tiling)} for head size ${headSize}`;
  if (![blockQ, lanes, blockK].every((n) => Number.isInteger(n) && n >= 1)) throw new TensorShapeError(`${what}: sizes must be positive integers`);
  if (chunks > MAX_CHUNKS) throw new TensorShapeError(`${what}: ${chunks} vec4s per thread, more than attention.wgsl's ${MAX_CHUNKS}; use more lanes`);
  const threads = blockQ * lanes;
  const maxThreads = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  if (threads > maxThreads) throw new TensorShapeError(`${what}: ${threads} threads per workgroup, more than the device's ${maxThreads}`);
  const bytes = attentionWorkgroupBytes(tiling, headSize);
  if (bytes > limits.maxComputeWorkgroupStorageSize) {
    throw new TensorShapeError(`${what}: ${bytes} bytes of workgroup memory, more than maxComputeWorkgroupStorageSize = ${limits.maxComputeWorkgroupStorageSize}`);
  }
}

/** Floats of attention.wgsl's `partial`: the dot products of every lane of every query for every key of a tile (1 when unused). */
function partialSlots(tiling: AttentionTiling): number {
  return tiling.sharedTile || tiling.lanes > 1 ? tiling.blockQ * tiling.blockK * tiling.lanes : 1;
}

function chunksOf(headSize: number, lanes: number): number {
  return Math.ceil(Math.ceil(headSize / 4) / lanes);
}

function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}
