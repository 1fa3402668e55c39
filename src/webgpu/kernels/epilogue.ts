import type { Activation } from './ops.js';

/**
 * The `ACT` override constant of the GEMM-like kernels (matmul.wgsl, conv2d.wgsl), which apply
 * the activation in their epilogue. An override rather than a define: the switch on it folds
 * away at pipeline creation, and each activation is one pipeline of the same source.
 */
export const ACTIVATION_CODE: Readonly<Record<Activation, number>> = Object.freeze({
  none: 0,
  silu: 1,
  gelu: 2,
  quick_gelu: 3,
  relu: 4,
});
