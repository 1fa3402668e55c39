import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExecutorUnavailableError } from '../../../src/api/errors.js';
import { DEFAULT_LIMITS } from '../../../src/webgpu/limits.js';
import { GpuRuntime } from '../../../src/webgpu/runtime.js';
import type { ByteStream } from '../../../src/io/byte-source.js';
import type { FetchFileOptions } from '../../../src/io/sources/model-source.js';
import { LocalFolderSource } from '../../../src/io/sources/local-folder-source.js';
import { StableDiffusionPipeline } from '../../../src/pipelines/stable-diffusion.js';
import type { TextToImageJob } from '../../../src/pipelines/text-to-image.js';
import { DeviceLimitError } from '../../../src/plan/errors.js';
import { repoRoot } from '../../helpers/fixtures.js';
import { gpuContext } from '../helpers/device.js';

/** The bundled tiny-shapes model, recording every file read from it. */
class RecordingSource extends LocalFolderSource {
  readonly paths: string[] = [];
  override fetchFile(path: string, options?: FetchFileOptions): Promise<ByteStream> {
    this.paths.push(path);
    return super.fetchFile(path, options);
  }
}

const tinyShapes = resolve(repoRoot, 'models/tiny-shapes');
const job = (o: Partial<TextToImageJob> = {}): TextToImageJob => ({
  prompt: 'a red circle on a blue background',
  negativePrompt: null,
  numInferenceSteps: 2,
  guidanceScale: 2,
  height: 32,
  width: 32,
  seed: 1,
  numImages: 1,
  decoder: 'vae',
  returnTrajectoryLatents: false,
  ...o,
});

describe('StableDiffusionPipeline refuses what the device cannot run, before any work (tiny-shapes, Dawn)', () => {
  it('fails a request no chunking can fit with DeviceLimitError before recording or allocating anything, then serves the next', async () => {
    const ctx = await gpuContext();
    // WebGPU's default limits, whatever the adapter offers: the refusal below is sized for them.
    const rt = new GpuRuntime(ctx.device, { ...ctx.capabilities, limits: DEFAULT_LIMITS });
    const pipeline = await StableDiffusionPipeline.load(new LocalFolderSource(tinyShapes), rt, { dtype: 'f32' });
    try {
      rt.flush();
      const before = { dispatches: rt.stats.dispatches, copies: rt.stats.copies, allocations: rt.pool.stats.allocations, live: rt.pool.stats.liveBytes };
      // 8192², guidance on: latents [2, 3, 8192, 8192] f32, one 256 MiB plane per channel.
      const err = await pipeline.generate(job({ width: 8192, height: 8192 })).then(
        () => expect.fail('expected a DeviceLimitError'),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DeviceLimitError);
      const limit = err as DeviceLimitError;
      expect(limit.component).toBe('unet');
      expect(limit.limit).toBe('maxStorageBufferBindingSize');
      expect(limit.limitValue).toBe(rt.limits.maxStorageBufferBindingSize);
      expect(limit.message).toMatch(/^The unet at 8192×8192, input \[2,3,8192,8192\] does not fit this GPU: tensor \[[\d,]+\] f32 \(\d+ bytes\) does not fit maxStorageBufferBindingSize = \d+\. Try a smaller size \(\d+×\d+ fits\)\.$/);
      expect({ dispatches: rt.stats.dispatches, copies: rt.stats.copies, allocations: rt.pool.stats.allocations, live: rt.pool.stats.liveBytes }).toEqual(before);

      const result = await pipeline.generate(job());
      expect(result.images).toHaveLength(3 * 32 * 32);
      expect(rt.stats.dispatches).toBeGreaterThan(before.dispatches);
    } finally {
      pipeline.release();
    }
  });

  it('refuses a model that fits at no size when loading, before reading any weights', async () => {
    const ctx = await gpuContext();
    // The real device, seen through limits far below WebGPU's defaults: 4 KiB per binding.
    const rt = new GpuRuntime(ctx.device, { ...ctx.capabilities, limits: { ...DEFAULT_LIMITS, maxStorageBufferBindingSize: 4096 } });
    const source = new RecordingSource(tinyShapes);
    const err = await StableDiffusionPipeline.load(source, rt, { dtype: 'f32' }).then(
      () => expect.fail('expected ExecutorUnavailableError'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ExecutorUnavailableError);
    expect((err as Error).message).toMatch(/cannot run .*tiny-shapes at any size\. DeviceLimitError: .* maxStorageBufferBindingSize = 4096\./);
    expect((err as Error).cause).toBeInstanceOf(DeviceLimitError);
    expect(source.paths.filter((p) => p.endsWith('.safetensors'))).toEqual([]);
    expect(source.paths).toContain('unet/config.json');
    expect(rt.pool.stats.allocations).toBe(0);
  });
});
