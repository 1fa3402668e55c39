import { afterAll } from 'vitest';
import { GpuContext } from '../../../src/webgpu/device.js';
import type { GpuRuntime } from '../../../src/webgpu/runtime.js';

/**
 * Shared Dawn devices for gpu tests: at most one of each kind per test file (vitest gives each
 * file its own module instance), destroyed when the file ends.
 */
const contexts = new Map<string, Promise<GpuContext>>();

afterAll(async () => {
  for (const ctx of contexts.values()) (await ctx).destroy();
  contexts.clear();
});

function shared(kind: string, make: () => Promise<GpuContext>): Promise<GpuContext> {
  let ctx = contexts.get(kind);
  if (!ctx) {
    ctx = make();
    contexts.set(kind, ctx);
  }
  return ctx;
}

/** The file's device with every optional feature the adapter has (lavapipe: shader-f16, subgroups). */
export function gpuContext(): Promise<GpuContext> {
  return shared('default', () => GpuContext.create());
}

/** A device created without `shader-f16`, to exercise the packed-f16 path. */
export function gpuContextWithoutF16(): Promise<GpuContext> {
  return shared('no-f16', () => GpuContext.create({ optionalFeatures: ['subgroups'] }));
}

export async function gpuRuntime(): Promise<GpuRuntime> {
  return (await gpuContext()).runtime;
}

export async function gpuRuntimeWithoutF16(): Promise<GpuRuntime> {
  return (await gpuContextWithoutF16()).runtime;
}

/** Both f16 storage layouts, for tables that run a case on each. */
export const f16Layouts = [
  { name: 'shader-f16', runtime: gpuRuntime },
  { name: 'packed f16', runtime: gpuRuntimeWithoutF16 },
] as const;
