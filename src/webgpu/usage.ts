/**
 * `GPUBufferUsage` / `GPUMapMode` values from the WebGPU spec. Spelled out here because plan mode
 * runs where no WebGPU implementation (and so no `GPUBufferUsage` global) is loaded.
 */
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;

export const MapMode = { READ: 0x0001 } as const;
