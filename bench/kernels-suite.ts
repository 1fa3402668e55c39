import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-web';
import type { GpuRuntime } from '../src/webgpu/runtime.js';
import type { GpuTensor } from '../src/webgpu/tensor.js';
import { GpuOps } from '../src/webgpu/kernels/gpu-ops.js';
import { buildOnnxModel, type OnnxNodeSpec } from './onnx-model.js';

/** The subset of the onnxruntime-web module the suite uses (the page passes the real one). */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
}

/** One benchmark case: the SD-size op on our kernels and as a one-node ONNX model. */
interface KernelCase {
  name: string;
  flops: number;
  /** Uploads inputs, returns the op to time (it records and returns its output). */
  setup(ops: GpuOps): { run(): GpuTensor; dispose(): void };
  onnx(): OnnxNodeSpec;
}

export interface CaseResult {
  name: string;
  gflop: number;
  oursMs: number;
  ortWebgpuMs: number | null;
  ortWasmMs: number | null;
  notes: string[];
}

function fill(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 0.2;
  }
  return out;
}

function transpose2d(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c]!;
  return out;
}

function linearCase(M: number, K: number, N: number): KernelCase {
  const x = fill(M * K, 1);
  const w = fill(N * K, 2);
  return {
    name: `matmul ${M}x${K}x${N}`,
    flops: 2 * M * K * N,
    setup(ops) {
      const xt = ops.upload(x, [M, K]);
      const wt = ops.upload(w, [N, K]);
      return { run: () => ops.linear(xt, wt), dispose: () => [xt, wt].forEach((t) => ops.release(t)) };
    },
    onnx: () => ({
      opType: 'MatMul',
      inputs: [{ name: 'x', shape: [M, K] }],
      initializers: [{ name: 'w', shape: [K, N], data: transpose2d(w, N, K) }],
      nodeInputs: ['x', 'w'],
      output: { name: 'y', shape: [M, N] },
    }),
  };
}

function convCase(C: number, H: number): KernelCase {
  const x = fill(C * H * H, 3);
  const w = fill(C * C * 9, 4);
  const b = fill(C, 5);
  return {
    name: `conv3x3 ${C}->${C} @${H}x${H}`,
    flops: 2 * C * C * 9 * H * H,
    setup(ops) {
      const xt = ops.upload(x, [1, C, H, H]);
      const wt = ops.upload(w, [C, C, 3, 3]);
      const bt = ops.upload(b, [C]);
      return { run: () => ops.conv2d(xt, wt, bt, { padding: 1 }), dispose: () => [xt, wt, bt].forEach((t) => ops.release(t)) };
    },
    onnx: () => ({
      opType: 'Conv',
      attributes: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] },
      inputs: [{ name: 'x', shape: [1, C, H, H] }],
      initializers: [
        { name: 'w', shape: [C, C, 3, 3], data: w },
        { name: 'b', shape: [C], data: b },
      ],
      nodeInputs: ['x', 'w', 'b'],
      output: { name: 'y', shape: [1, C, H, H] },
    }),
  };
}

function attentionCase(Lq: number, Lk: number, heads: number, headSize: number): KernelCase {
  const C = heads * headSize;
  const q = fill(Lq * C, 6);
  const k = fill(Lk * C, 7);
  const v = fill(Lk * C, 8);
  return {
    name: `attention ${Lq}x${Lk} ${heads}x${headSize}`,
    flops: 4 * Lq * Lk * C,
    setup(ops) {
      const [qt, kt, vt] = [ops.upload(q, [1, Lq, C]), ops.upload(k, [1, Lk, C]), ops.upload(v, [1, Lk, C])];
      return { run: () => ops.attention(qt, kt, vt, { heads }), dispose: () => [qt, kt, vt].forEach((t) => ops.release(t)) };
    },
    onnx: () => ({
      opType: 'MultiHeadAttention',
      domain: 'com.microsoft',
      attributes: { num_heads: heads },
      inputs: [
        { name: 'q', shape: [1, Lq, C] },
        { name: 'k', shape: [1, Lk, C] },
        { name: 'v', shape: [1, Lk, C] },
      ],
      nodeInputs: ['q', 'k', 'v'],
      output: { name: 'y', shape: [1, Lq, C] },
    }),
  };
}

function groupNormCase(C: number, H: number): KernelCase {
  const x = fill(C * H * H, 9);
  const gamma = fill(C, 10).map((v) => 1 + v);
  const beta = fill(C, 11);
  return {
    name: `groupnorm ${C}ch @${H}x${H}`,
    flops: 8 * C * H * H,
    setup(ops) {
      const [xt, gt, bt] = [ops.upload(x, [1, C, H, H]), ops.upload(gamma, [C]), ops.upload(beta, [C])];
      return { run: () => ops.groupNorm(xt, gt, bt, { groups: 32, eps: 1e-5 }), dispose: () => [xt, gt, bt].forEach((t) => ops.release(t)) };
    },
    onnx: () => ({
      opType: 'GroupNormalization',
      attributes: { num_groups: 32, epsilon: { float: 1e-5 } },
      inputs: [{ name: 'x', shape: [1, C, H, H] }],
      initializers: [
        { name: 'scale', shape: [C], data: gamma },
        { name: 'bias', shape: [C], data: beta },
      ],
      nodeInputs: ['x', 'scale', 'bias'],
      output: { name: 'y', shape: [1, C, H, H] },
      opset: 21,
    }),
  };
}

/** The SD-size shapes of issue 3. */
export function sdCases(): KernelCase[] {
  return [
    linearCase(4096, 320, 320),
    linearCase(1024, 640, 2560),
    convCase(320, 64),
    attentionCase(4096, 4096, 8, 40),
    attentionCase(4096, 77, 8, 40),
    groupNormCase(320, 64),
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeOrt(ort: OrtModule, spec: OnnxNodeSpec, provider: 'webgpu' | 'wasm', reps: number): Promise<number> {
  const session = await ort.InferenceSession.create(buildOnnxModel(spec), {
    executionProviders: [provider],
    graphOptimizationLevel: 'disabled',
  });
  const feeds: Record<string, OrtTensor> = {};
  spec.inputs.forEach((input, i) => {
    feeds[input.name] = new ort.Tensor('float32', fill(input.shape.reduce((a, b) => a * b, 1), 100 + i), input.shape);
  });
  const times: number[] = [];
  for (let r = 0; r <= reps; r++) {
    const t0 = performance.now();
    await session.run(feeds);
    if (r > 0) times.push(performance.now() - t0);
  }
  await session.release();
  return median(times);
}

/**
 * Runs every case on our kernels and, when `ort` is given, on onnxruntime-web's WebGPU and
 * wasm EPs in the same process. The first run of each is a warm-up; the median of `reps` counts.
 */
export async function runKernelSuite(
  rt: GpuRuntime,
  options: { ort?: OrtModule; providers?: Array<'webgpu' | 'wasm'>; reps?: number; only?: string; log?: (line: string) => void } = {},
): Promise<CaseResult[]> {
  const reps = options.reps ?? 3;
  const log = options.log ?? (() => undefined);
  const ops = new GpuOps(rt);
  const results: CaseResult[] = [];
  for (const c of sdCases()) {
    if (options.only && !c.name.includes(options.only)) continue;
    const notes: string[] = [];
    const { run, dispose } = c.setup(ops);
    await rt.sync();
    const times: number[] = [];
    for (let r = 0; r <= reps; r++) {
      const t0 = performance.now();
      const out = run();
      await rt.sync();
      if (r > 0) times.push(performance.now() - t0);
      ops.release(out);
    }
    dispose();
    const result: CaseResult = { name: c.name, gflop: c.flops / 1e9, oursMs: median(times), ortWebgpuMs: null, ortWasmMs: null, notes };
    if (options.ort) {
      for (const provider of options.providers ?? (['webgpu', 'wasm'] as const)) {
        try {
          const ms = await timeOrt(options.ort, c.onnx(), provider, provider === 'wasm' ? 1 : reps);
          if (provider === 'webgpu') result.ortWebgpuMs = ms;
          else result.ortWasmMs = ms;
        } catch (err) {
          notes.push(`ORT ${provider}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
        }
      }
    }
    log(formatResult(result));
    results.push(result);
  }
  return results;
}

function gflops(gflop: number, ms: number | null): string {
  return ms === null ? 'n/a' : (gflop / (ms / 1000)).toFixed(2);
}

/** One line per case: median times, GFLOP/s, and our speed-up over ORT WebGPU (>1 means faster). */
export function formatResult(r: CaseResult): string {
  const ratio = r.ortWebgpuMs === null ? 'n/a' : (r.ortWebgpuMs / r.oursMs).toFixed(2);
  return [
    r.name.padEnd(30),
    `ours ${r.oursMs.toFixed(1)} ms (${gflops(r.gflop, r.oursMs)} GFLOP/s)`,
    `ort-webgpu ${r.ortWebgpuMs?.toFixed(1) ?? 'n/a'} ms (${gflops(r.gflop, r.ortWebgpuMs)})`,
    `ours/ort speed-up ${ratio}x`,
    `ort-wasm ${r.ortWasmMs?.toFixed(1) ?? 'n/a'} ms (${gflops(r.gflop, r.ortWasmMs)})`,
    ...r.notes,
  ].join(' | ');
}
