import type {
  Activation,
  AttentionOptions,
  Conv2dOptions,
  GroupNormOptions,
  LinearOptions,
  MatmulOptions,
  TensorDType,
  TensorOps,
  TimestepEmbeddingOptions,
} from '../../src/webgpu/kernels/ops.js';

/** A float64 host tensor: the reference every kernel and model is checked against. */
export class CpuTensor {
  constructor(
    readonly shape: readonly number[],
    readonly data: Float64Array,
  ) {
    if (data.length !== numel(shape)) throw new Error(`CpuTensor: ${data.length} values for shape [${shape}]`);
  }
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is only good to 1e-7; the reference needs better, so use a
  // series for small |x| and a continued fraction for the tail (both double-precision accurate).
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = x;
    let term = x;
    const x2 = x * x;
    for (let n = 1; n < 200; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}

/** Exact (erf) GELU, as torch's default. */
export function geluRef(x: number): number {
  return 0.5 * x * (1 + erf(x / Math.SQRT2));
}

export function activate(x: number, act: Activation | 'tanh' | undefined): number {
  switch (act) {
    case undefined:
    case 'none':
      return x;
    case 'silu':
      return x / (1 + Math.exp(-x));
    case 'gelu':
      return geluRef(x);
    case 'quick_gelu':
      return x / (1 + Math.exp(-1.702 * x));
    case 'relu':
      return x > 0 ? x : 0;
    case 'tanh':
      return Math.tanh(x);
  }
}

/**
 * `TensorOps` in float64 on the host: straightforward loops, written for clarity, used as the
 * reference in kernel tests and to check the model graphs against the golden fixtures.
 */
export class CpuOps implements TensorOps<CpuTensor> {
  upload(data: Float32Array, shape: readonly number[], _dtype?: TensorDType): CpuTensor {
    return new CpuTensor([...shape], Float64Array.from(data));
  }

  async read(x: CpuTensor): Promise<Float32Array> {
    return Float32Array.from(x.data);
  }

  release(_x: CpuTensor): void {}

  reshape(x: CpuTensor, shape: readonly number[]): CpuTensor {
    if (numel(shape) !== x.data.length) throw new Error(`reshape [${x.shape}] → [${shape}]`);
    return new CpuTensor([...shape], x.data);
  }

  linear(x: CpuTensor, weight: CpuTensor, bias?: CpuTensor, options: LinearOptions = {}): CpuTensor {
    const K = x.shape[x.shape.length - 1]!;
    const [N, Kw] = weight.shape as [number, number];
    if (Kw !== K) throw new Error(`linear: x [${x.shape}] vs weight [${weight.shape}]`);
    const rows = x.data.length / K;
    const out = new Float64Array(rows * N);
    for (let r = 0; r < rows; r++) {
      for (let n = 0; n < N; n++) {
        let acc = bias ? bias.data[n]! : 0;
        for (let k = 0; k < K; k++) acc += x.data[r * K + k]! * weight.data[n * K + k]!;
        out[r * N + n] = activate(acc, options.act);
      }
    }
    return new CpuTensor([...x.shape.slice(0, -1), N], out);
  }

  matmul(a: CpuTensor, b: CpuTensor, options: MatmulOptions = {}): CpuTensor {
    const batched = a.shape.length === 3;
    const B = batched ? a.shape[0]! : 1;
    const [M, K] = a.shape.slice(-2) as [number, number];
    const bDims = b.shape.slice(-2) as [number, number];
    const N = options.transB ? bDims[0] : bDims[1];
    const Kb = options.transB ? bDims[1] : bDims[0];
    if (Kb !== K) throw new Error(`matmul: a [${a.shape}] vs b [${b.shape}] transB=${options.transB}`);
    const bBatched = b.shape.length === 3;
    const bias = options.bias as CpuTensor | undefined;
    const alpha = options.alpha ?? 1;
    const out = new Float64Array(B * M * N);
    for (let bi = 0; bi < B; bi++) {
      const aOff = bi * M * K;
      const bOff = bBatched ? bi * K * N : 0;
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let acc = 0;
          for (let k = 0; k < K; k++) {
            const bv = options.transB ? b.data[bOff + n * K + k]! : b.data[bOff + k * N + n]!;
            acc += a.data[aOff + m * K + k]! * bv;
          }
          acc = acc * alpha + (bias ? bias.data[n]! : 0);
          out[(bi * M + m) * N + n] = activate(acc, options.act);
        }
      }
    }
    return new CpuTensor(batched ? [B, M, N] : [M, N], out);
  }

  conv2d(x: CpuTensor, weight: CpuTensor, bias?: CpuTensor, options: Conv2dOptions = {}): CpuTensor {
    const [B, Cx, Hx, Wx] = x.shape as [number, number, number, number];
    const [CoutW, Cin, kh, kw] = weight.shape as [number, number, number, number];
    const ciOff = options.inputChannelOffset ?? 0;
    if (ciOff + Cx > Cin) throw new Error(`conv2d: x [${x.shape}] at input channel ${ciOff} vs weight [${weight.shape}]`);
    const [co0, co1] = options.outputChannels ?? [0, CoutW];
    const Cout = co1 - co0;
    // The upsampled input is read through (y >> 1, x >> 1), never built.
    const up = options.upsample ? 2 : 1;
    const H = Hx * up;
    const W = Wx * up;
    const stride = options.stride ?? 1;
    const pad = options.padding ?? (kh === 3 ? 1 : 0);
    const padEnd = options.padEnd ?? 0;
    const Ho = Math.floor((H + 2 * pad + padEnd - kh) / stride) + 1;
    const Wo = Math.floor((W + 2 * pad + padEnd - kw) / stride) + 1;
    const into = options.into as CpuTensor | undefined;
    if (into && into.shape.join() !== [B, Cout, Ho, Wo].join()) throw new Error(`conv2d: into [${into.shape}] vs [${[B, Cout, Ho, Wo]}]`);
    const out = into ? into.data : new Float64Array(B * Cout * Ho * Wo);
    const residual = options.residual as CpuTensor | undefined;
    for (let b = 0; b < B; b++) {
      for (let co = 0; co < Cout; co++) {
        const wc = co + co0;
        for (let oy = 0; oy < Ho; oy++) {
          for (let ox = 0; ox < Wo; ox++) {
            let acc = bias ? bias.data[wc]! : 0;
            for (let ci = 0; ci < Cx; ci++) {
              for (let ky = 0; ky < kh; ky++) {
                const iy = oy * stride + ky - pad;
                if (iy < 0 || iy >= H) continue;
                for (let kx = 0; kx < kw; kx++) {
                  const ix = ox * stride + kx - pad;
                  if (ix < 0 || ix >= W) continue;
                  const xi = ((b * Cx + ci) * Hx + Math.floor(iy / up)) * Wx + Math.floor(ix / up);
                  acc += x.data[xi]! * weight.data[((wc * Cin + ci + ciOff) * kh + ky) * kw + kx]!;
                }
              }
            }
            const o = ((b * Cout + co) * Ho + oy) * Wo + ox;
            if (into) out[o] = out[o]! + acc;
            else out[o] = activate(acc, options.act) + (residual ? residual.data[o]! : 0);
          }
        }
      }
    }
    return into ?? new CpuTensor([B, Cout, Ho, Wo], out);
  }

  groupNorm(x: CpuTensor, gamma: CpuTensor, beta: CpuTensor, options: GroupNormOptions): CpuTensor {
    const [B, C] = x.shape as [number, number];
    const S = x.data.length / (B * C);
    const G = options.groups;
    const cpg = C / G;
    if (!Number.isInteger(cpg)) throw new Error(`groupNorm: ${C} channels in ${G} groups`);
    const [c0, c1] = options.channels ?? [0, C];
    if (c0 % cpg !== 0 || c1 % cpg !== 0 || c1 > C || c0 >= c1) throw new Error(`groupNorm: channels [${c0}, ${c1}) are not whole groups of ${cpg}`);
    const Cs = c1 - c0;
    const affine = options.affineOffset ?? 0;
    if (gamma.data.length < affine + C) throw new Error(`groupNorm: gamma [${gamma.shape}] at offset ${affine} for ${C} channels`);
    const out = new Float64Array(B * Cs * S);
    for (let b = 0; b < B; b++) {
      for (let g = c0 / cpg; g < c1 / cpg; g++) {
        const start = (b * C + g * cpg) * S;
        const outStart = (b * Cs + g * cpg - c0) * S;
        const n = cpg * S;
        let mean = 0;
        for (let i = 0; i < n; i++) mean += x.data[start + i]!;
        mean /= n;
        let v = 0;
        for (let i = 0; i < n; i++) v += (x.data[start + i]! - mean) ** 2;
        const inv = 1 / Math.sqrt(v / n + options.eps);
        for (let c = 0; c < cpg; c++) {
          const ch = g * cpg + c;
          for (let s = 0; s < S; s++) {
            const y = (x.data[start + c * S + s]! - mean) * inv * gamma.data[affine + ch]! + beta.data[affine + ch]!;
            out[outStart + c * S + s] = options.silu ? activate(y, 'silu') : y;
          }
        }
      }
    }
    return new CpuTensor([B, Cs, ...x.shape.slice(2)], out);
  }

  layerNorm(x: CpuTensor, gamma: CpuTensor, beta: CpuTensor, eps: number): CpuTensor {
    const C = x.shape[x.shape.length - 1]!;
    const rows = x.data.length / C;
    const out = new Float64Array(x.data.length);
    for (let r = 0; r < rows; r++) {
      let mean = 0;
      for (let c = 0; c < C; c++) mean += x.data[r * C + c]!;
      mean /= C;
      let v = 0;
      for (let c = 0; c < C; c++) v += (x.data[r * C + c]! - mean) ** 2;
      const inv = 1 / Math.sqrt(v / C + eps);
      for (let c = 0; c < C; c++) out[r * C + c] = (x.data[r * C + c]! - mean) * inv * gamma.data[c]! + beta.data[c]!;
    }
    return new CpuTensor(x.shape, out);
  }

  attention(q: CpuTensor, k: CpuTensor, v: CpuTensor, options: AttentionOptions): CpuTensor {
    const [B, Lq, HD] = q.shape as [number, number, number];
    const Lk = k.shape[1]!;
    const H = options.heads;
    const D = HD / H;
    const scale = options.scale ?? 1 / Math.sqrt(D);
    if (options.causal && Lq !== Lk) throw new Error('causal attention needs Lq == Lk');
    const out = new Float64Array(B * Lq * HD);
    const scores = new Float64Array(Lk);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < Lq; i++) {
          let max = -Infinity;
          const last = options.causal ? i : Lk - 1;
          for (let j = 0; j <= last; j++) {
            let s = 0;
            for (let d = 0; d < D; d++) s += q.data[(b * Lq + i) * HD + h * D + d]! * k.data[(b * Lk + j) * HD + h * D + d]!;
            scores[j] = s * scale;
            if (scores[j]! > max) max = scores[j]!;
          }
          let sum = 0;
          for (let j = 0; j <= last; j++) {
            scores[j] = Math.exp(scores[j]! - max);
            sum += scores[j]!;
          }
          for (let d = 0; d < D; d++) {
            let acc = 0;
            for (let j = 0; j <= last; j++) acc += scores[j]! * v.data[(b * Lk + j) * HD + h * D + d]!;
            out[(b * Lq + i) * HD + h * D + d] = acc / sum;
          }
        }
      }
    }
    return new CpuTensor([B, Lq, HD], out);
  }

  softmax(x: CpuTensor): CpuTensor {
    const N = x.shape[x.shape.length - 1]!;
    const out = new Float64Array(x.data.length);
    for (let r = 0; r < x.data.length / N; r++) {
      let max = -Infinity;
      for (let i = 0; i < N; i++) max = Math.max(max, x.data[r * N + i]!);
      let sum = 0;
      for (let i = 0; i < N; i++) sum += out[r * N + i] = Math.exp(x.data[r * N + i]! - max);
      for (let i = 0; i < N; i++) out[r * N + i]! /= sum;
    }
    return new CpuTensor(x.shape, out);
  }

  add(a: CpuTensor, b: CpuTensor): CpuTensor {
    return this.#binary(a, b, (x, y) => x + y);
  }

  mul(a: CpuTensor, b: CpuTensor): CpuTensor {
    return this.#binary(a, b, (x, y) => x * y);
  }

  #binary(a: CpuTensor, b: CpuTensor, f: (x: number, y: number) => number): CpuTensor {
    const n = a.data.length;
    const m = b.data.length;
    const same = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
    const prefix = !same && b.shape.every((d, i) => d === a.shape[i]);
    const suffix = !same && !prefix && b.shape.every((d, i) => d === a.shape[a.shape.length - b.shape.length + i]);
    if (!same && !prefix && !suffix) throw new Error(`broadcast [${b.shape}] onto [${a.shape}]`);
    const inner = n / m;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = f(a.data[i]!, b.data[same ? i : prefix ? Math.floor(i / inner) : i % m]!);
    return new CpuTensor(a.shape, out);
  }

  scale(a: CpuTensor, s: number, t = 0): CpuTensor {
    return new CpuTensor(a.shape, a.data.map((x) => x * s + t));
  }

  unary(x: CpuTensor, fn: Activation | 'tanh'): CpuTensor {
    return new CpuTensor(x.shape, x.data.map((v) => activate(v, fn)));
  }

  geglu(x: CpuTensor): CpuTensor {
    const N2 = x.shape[x.shape.length - 1]!;
    const N = N2 / 2;
    const rows = x.data.length / N2;
    const out = new Float64Array(rows * N);
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < N; i++) out[r * N + i] = x.data[r * N2 + i]! * geluRef(x.data[r * N2 + N + i]!);
    }
    return new CpuTensor([...x.shape.slice(0, -1), N], out);
  }

  upsampleNearest2x(x: CpuTensor, size?: readonly [number, number]): CpuTensor {
    const [B, C, H, W] = x.shape as [number, number, number, number];
    const [OH, OW] = size ?? [2 * H, 2 * W];
    // PyTorch's nearest index: floor(dst · scale), scale = in / out as a float32, the product in float32.
    const sh = Math.fround(H / OH);
    const sw = Math.fround(W / OW);
    const src = (i: number, scale: number, n: number) => Math.min(Math.floor(Math.fround(i * scale)), n - 1);
    const out = new Float64Array(B * C * OH * OW);
    for (let bc = 0; bc < B * C; bc++) {
      for (let y = 0; y < OH; y++) {
        for (let xx = 0; xx < OW; xx++) out[(bc * OH + y) * OW + xx] = x.data[(bc * H + src(y, sh, H)) * W + src(xx, sw, W)]!;
      }
    }
    return new CpuTensor([B, C, OH, OW], out);
  }

  concatChannels(a: CpuTensor, b: CpuTensor): CpuTensor {
    const B = a.shape[0]!;
    const sa = a.data.length / B;
    const sb = b.data.length / B;
    const out = new Float64Array(a.data.length + b.data.length);
    for (let i = 0; i < B; i++) {
      out.set(a.data.subarray(i * sa, (i + 1) * sa), i * (sa + sb));
      out.set(b.data.subarray(i * sb, (i + 1) * sb), i * (sa + sb) + sa);
    }
    return new CpuTensor([B, a.shape[1]! + b.shape[1]!, ...a.shape.slice(2)], out);
  }

  transpose(x: CpuTensor): CpuTensor {
    const B = x.shape.length === 3 ? x.shape[0]! : 1;
    const [M, N] = x.shape.slice(-2) as [number, number];
    const out = new Float64Array(x.data.length);
    for (let b = 0; b < B; b++) {
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) out[b * M * N + n * M + m] = x.data[b * M * N + m * N + n]!;
    }
    return new CpuTensor(x.shape.length === 3 ? [B, N, M] : [N, M], out);
  }

  sliceBatch(x: CpuTensor, start: number, end: number): CpuTensor {
    const row = x.data.length / x.shape[0]!;
    return new CpuTensor([end - start, ...x.shape.slice(1)], x.data.slice(start * row, end * row));
  }

  timestepEmbedding(timesteps: readonly number[], dim: number, options: TimestepEmbeddingOptions): CpuTensor {
    const half = Math.floor(dim / 2);
    const maxPeriod = options.maxPeriod ?? 10000;
    const out = new Float64Array(timesteps.length * dim);
    timesteps.forEach((t, b) => {
      for (let i = 0; i < half; i++) {
        const arg = t * Math.exp((-Math.log(maxPeriod) * i) / (half - options.downscaleFreqShift));
        const [first, second] = options.flipSinToCos ? [Math.cos(arg), Math.sin(arg)] : [Math.sin(arg), Math.cos(arg)];
        out[b * dim + i] = first;
        out[b * dim + half + i] = second;
      }
    });
    return new CpuTensor([timesteps.length, dim], out);
  }

  embedding(ids: Int32Array, idsShape: readonly [number, number], table: CpuTensor): CpuTensor {
    const C = table.shape[1]!;
    const out = new Float64Array(ids.length * C);
    ids.forEach((id, i) => out.set(table.data.subarray(id * C, (id + 1) * C), i * C));
    return new CpuTensor([idsShape[0], idsShape[1], C], out);
  }

  gatherRows(x: CpuTensor, positions: readonly number[]): CpuTensor {
    const [B, L, C] = x.shape as [number, number, number];
    const out = new Float64Array(B * C);
    positions.forEach((p, b) => out.set(x.data.subarray((b * L + p) * C, (b * L + p + 1) * C), b * C));
    return new CpuTensor([B, C], out);
  }
}
