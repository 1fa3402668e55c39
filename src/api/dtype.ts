/**
 * Weight and activation precision. `auto` picks f16 where the device supports it. `int8` and
 * `int4` (webgpu) quantize the large matmul and conv weights as the model loads (see
 * `QUANTIZED_DTYPES`) and store the rest as f16.
 */
export type DTypeOption = 'auto' | 'f32' | 'f16' | 'int8' | 'int4';

/** Every `DTypeOption`, in the order errors list them. */
export const DTYPE_OPTIONS: readonly DTypeOption[] = ['auto', 'f32', 'f16', 'int8', 'int4'];
