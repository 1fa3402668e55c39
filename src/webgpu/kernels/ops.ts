/**
 * The tensor operations that models are written against.
 *
 * Models (`src/models/`) are plain config-driven graphs over this interface, so the same model
 * code runs on the WebGPU kernels (the product) and on the float64 CPU reference used by the
 * tests. Layouts follow PyTorch: activations NCHW for images, [B, L, C] for token sequences;
 * Linear weights [N, K]; conv weights [Cout, Cin, kh, kw].
 *
 * Ops are enqueued, not awaited: a GPU backend records dispatches and only `read` waits.
 * Every op returns a new tensor (except `conv2d` with `into`, which adds into and returns `into`);
 * `release` hands a tensor's memory back once the caller is done.
 */
export interface TensorLike {
  readonly shape: readonly number[];
}

/** Activation fused into the epilogue of linear/matmul/conv. */
export type Activation = 'none' | 'silu' | 'gelu' | 'quick_gelu' | 'relu';

/** Storage precision of a tensor. */
export type TensorDType = 'f32' | 'f16';

export interface LinearOptions {
  act?: Activation;
}

export interface MatmulOptions {
  /** b is [.., N, K] instead of [.., K, N]. */
  transB?: boolean;
  bias?: TensorLike;
  act?: Activation;
  /** Multiplies the product (before bias) by this factor. */
  alpha?: number;
}

export interface Conv2dOptions {
  stride?: 1 | 2;
  padding?: 0 | 1;
  /**
   * Extra zero rows and columns after the bottom and right edges, on top of `padding`: torch's
   * `F.pad(x, (0, 1, 0, 1))` before a padding-0 conv, which diffusers' `Downsample2D` does in
   * the VAE encoder.
   */
  padEnd?: 0 | 1;
  /** Added to the output after bias and activation: [B, Cout, Ho, Wo]. */
  residual?: TensorLike;
  act?: Activation;
  /**
   * Reads x as its nearest-neighbour ×2 upsampling (torch's `interpolate(scale_factor=2)` then
   * the conv) without materialising the upsampled tensor, which is 4× x. 3×3, stride 1 only.
   */
  upsample?: boolean;
  /**
   * x holds the weight's input channels [inputChannelOffset, inputChannelOffset + Cx): the conv
   * sums over those channels only, a partial sum of the whole convolution.
   */
  inputChannelOffset?: number;
  /** Computes only the weight's output channels [start, end) (and their bias): [B, end − start, Ho, Wo]. */
  outputChannels?: readonly [number, number];
  /**
   * Adds the result into this tensor in place and returns it instead of a new tensor:
   * `into += conv + bias`. With `inputChannelOffset` this accumulates a convolution channel range
   * by channel range (pass the bias with one range only). No activation or residual.
   */
  into?: TensorLike;
}

export interface GroupNormOptions {
  groups: number;
  eps: number;
  /** Apply SiLU to the normalised output. */
  silu?: boolean;
  /**
   * Normalises only channels [start, end) of x, whole groups of the norm's `groups`, into
   * [B, end − start, ...] (gamma and beta are indexed by x's channel): a group's statistics need
   * only its own channels, so the result equals that slice of the whole norm.
   */
  channels?: readonly [number, number];
  /**
   * gamma and beta's index of x's channel 0 (default 0): x is a channel range of a larger
   * activation, normalised with that range's affine weights.
   */
  affineOffset?: number;
}

export interface AttentionOptions {
  heads: number;
  /** Mask keys after the query position (CLIP's causal mask). Requires Lq == Lk. */
  causal?: boolean;
  /** Score scale; default head_size^-0.5. */
  scale?: number;
}

export interface TimestepEmbeddingOptions {
  flipSinToCos: boolean;
  /** diffusers' `downscale_freq_shift` (the UNet config's `freq_shift`). */
  downscaleFreqShift: number;
  maxPeriod?: number;
}

export interface TensorOps<T extends TensorLike = TensorLike> {
  /** Copies host data into a new tensor. `data.length` must equal the shape's product. */
  upload(data: Float32Array, shape: readonly number[], dtype?: TensorDType): T;
  /** Copies a tensor back to the host as float32. */
  read(x: T): Promise<Float32Array>;
  /** Frees the tensor's memory; using it afterwards is an error. */
  release(x: T): void;
  /** Same data, new shape of the same element count (no copy). */
  reshape(x: T, shape: readonly number[]): T;

  /** x [..., K] · weight[N, K]ᵀ + bias[N] → [..., N]. */
  linear(x: T, weight: T, bias?: T, options?: LinearOptions): T;
  /** a [B, M, K] · b [B, K, N] (or [B, N, K] with transB) → [B, M, N]; B may be absent on both. */
  matmul(a: T, b: T, options?: MatmulOptions): T;
  /** x [B, Cin, H, W] with weight [Cout, Cin, k, k] (k = 1 or 3) → [B, Cout, Ho, Wo]. */
  conv2d(x: T, weight: T, bias?: T, options?: Conv2dOptions): T;
  /** x [B, C, ...] normalised over (C/groups × spatial) per group, then affine per channel. */
  groupNorm(x: T, gamma: T, beta: T, options: GroupNormOptions): T;
  /** x [..., C] normalised over the last dim, then affine. */
  layerNorm(x: T, gamma: T, beta: T, eps: number): T;
  /** q [B, Lq, H·D], k and v [B, Lk, H·D] → [B, Lq, H·D]; never materialises the score matrix on GPU. */
  attention(q: T, k: T, v: T, options: AttentionOptions): T;
  /** Softmax over the last dim. */
  softmax(x: T): T;

  /** Elementwise a + b, same shapes; or b broadcast over a's trailing dims when b's shape is a prefix of a's (e.g. [B, C] onto [B, C, H, W]), or over leading dims when it is a suffix (e.g. [C] onto [B, L, C]). */
  add(a: T, b: T): T;
  /** Elementwise a * b with the same broadcasting rules as `add`. */
  mul(a: T, b: T): T;
  /** a * s + t. */
  scale(a: T, s: number, t?: number): T;
  /** Unary activations. */
  unary(x: T, fn: Activation | 'tanh'): T;
  /** x [..., 2N] → value[..., :N] * gelu(gate[..., N:]) (diffusers' GEGLU). */
  geglu(x: T): T;

  /**
   * Nearest-neighbour ×2 upsampling of [B, C, H, W], or to `size` [H', W'] (PyTorch's
   * `interpolate(size=…, mode="nearest")`, row y from row floor(y · f32(H / H'))): diffusers'
   * UNet upsamples to its skip's size when the input does not halve evenly.
   */
  upsampleNearest2x(x: T, size?: readonly [number, number]): T;
  /** Concatenation along dim 1 of [B, Ca, ...] and [B, Cb, ...] (same trailing dims). */
  concatChannels(a: T, b: T): T;
  /** Swaps the last two dims: [B, M, N] → [B, N, M] (a 2-D tensor is taken as B = 1). */
  transpose(x: T): T;
  /** Rows [start, end) along dim 0 (a copy). */
  sliceBatch(x: T, start: number, end: number): T;

  /** Sinusoidal embedding of one timestep per batch row → [B, dim]. */
  timestepEmbedding(timesteps: readonly number[], dim: number, options: TimestepEmbeddingOptions): T;
  /** table [V, C] gathered at ids [B, L] → [B, L, C]. */
  embedding(ids: Int32Array, idsShape: readonly [number, number], table: T): T;
  /** x [B, L, C] at one position per row → [B, C]. */
  gatherRows(x: T, positions: readonly number[]): T;
}
