import source from '../../shaders/attention.wgsl?raw';
import { TensorShapeError } from '../gpu/errors.js';
import { defineKernel, f32, u32 } from '../gpu/kernel.js';
import type { GpuLimits } from '../gpu/limits.js';
import type { GpuRuntime } from '../gpu/runtime.js';
import type { GpuTensor } from '../gpu/tensor.js';
import type { AttentionOptions } from './ops.js';

const ATTENTION = defineKernel({ family: 'attention', entryPoint: 'main', source, storage: ['read', 'read', 'read', 'read_write'] });

/** vec4s of q and of the accumulator one thread holds at most (attention.wgsl's `MAX_CHUNKS`): registers on a real GPU. */
const MAX_CHUNKS = 16;
/** Key tile the default tiling starts from (a short last tile costs only its zero fill: the key loop stops at Lk). */
const DEFAULT_BLOCK_K = 32;

/** How attention.wgsl is tiled: its `override` constants. */
export interface AttentionTiling {
  /** Queries per workgroup. */
  readonly blockQ: number;
  /** Threads per query; each owns every `lanes`-th vec4 of the head. */
  readonly lanes: number;
  /** Keys per tile staged in workgroup memory. */
  readonly blockK: number;
}

/** `AttentionOptions` plus an explicit tiling (benchmarks and tests; the default suits the shape and device). */
export interface GpuAttentionOptions extends AttentionOptions {
  tiling?: AttentionTiling;
}

/** Bytes of workgroup memory a tiling needs for head size `headSize`: the K and V tiles, plus the partial dot products when lanes > 1. */
export function attentionWorkgroupBytes(tiling: AttentionTiling, headSize: number): number {
  const stride = chunksOf(headSize, tiling.lanes) * tiling.lanes;
  const partial = tiling.lanes > 1 ? tiling.blockQ * tiling.blockK * tiling.lanes : 1;
  return 2 * tiling.blockK * stride * 16 + partial * 4;
}

/**
 * The default tiling for a head size and query count on a device: split the head over
 * enough threads that each holds at most 16 vec4s of q and 16 of the accumulator (registers on
 * a real GPU), size the query block to the queries there are, then take the largest key tile
 * that fits workgroup memory, shrinking the query block before going below 16 keys.
 */
export function attentionTiling(headSize: number, lq: number, limits: GpuLimits): AttentionTiling {
  const vec4s = Math.ceil(headSize / 4);
  let lanes = 1;
  while (Math.ceil(vec4s / lanes) > MAX_CHUNKS) lanes *= 2;
  const maxThreads = Math.min(limits.maxComputeInvocationsPerWorkgroup, limits.maxComputeWorkgroupSizeX);
  let blockQ = Math.min(64, nextPowerOfTwo(Math.max(lq, 8)), Math.floor(maxThreads / lanes));
  let blockK = DEFAULT_BLOCK_K;
  const fits = (): boolean => attentionWorkgroupBytes({ blockQ, lanes, blockK }, headSize) <= limits.maxComputeWorkgroupStorageSize;
  while (!fits() && blockK > 16) blockK /= 2;
  while (!fits() && blockQ > 8) blockQ /= 2;
  while (!fits() && blockK > 4) blockK /= 2;
  if (!fits()) {
    throw new TensorShapeError(
      `attention: head size ${headSize} needs ${attentionWorkgroupBytes({ blockQ, lanes, blockK }, headSize)} bytes of workgroup memory, more than maxComputeWorkgroupStorageSize = ${limits.maxComputeWorkgroupStorageSize}`,
    );
  }
  return { blockQ, lanes, blockK };
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
  const out = rt.empty([batch, lq, width]);
  if (lq === 0 || batch === 0) return out;
  const qBlocks = Math.ceil(lq / tiling.blockQ);
  const scale = options.scale ?? 1 / Math.sqrt(headSize);
  rt.dispatch(ATTENTION, {
    bindings: [q, k, v, out],
    uniforms: [u32(batch * heads), u32(heads), u32(lq), u32(lk), u32(headSize), u32(qBlocks), u32(options.causal ? 1 : 0), f32(scale * Math.LOG2E)],
    defines: { ...rt.storageDefines('Q', q), ...rt.storageDefines('K', k), ...rt.storageDefines('V', v) },
    constants: {
      BLOCK_Q: tiling.blockQ,
      LANES: tiling.lanes,
      BLOCK_K: tiling.blockK,
      CHUNKS: chunks,
      PARTIAL_SLOTS: tiling.lanes > 1 ? tiling.blockQ * tiling.blockK * tiling.lanes : 1,
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

function chunksOf(headSize: number, lanes: number): number {
  return Math.ceil(Math.ceil(headSize / 4) / lanes);
}

function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}
