import { describe, expect, it } from 'vitest';
import type { TensorLike, TensorOps } from '../../../../src/webgpu/kernels/ops.js';
import { GpuOps } from '../../../../src/webgpu/kernels/gpu-ops.js';
import { COMPONENTS } from '../../../../src/models/registry.js';
import { streamStateDictToDevice } from '../../../../src/models/device-state-dict.js';
import { loadFixture, type ComponentFixture } from '../../../../tools/verify/fixture/fixture.js';
import { CpuOps } from '../../../helpers/cpu-ops.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { randomNormal } from '../../../helpers/rng.js';
import { gpuRuntime } from '../../helpers/device.js';

/**
 * Latent sides that do not halve evenly (diffusers' `forward_upsample_size`): the stride-2
 * downsamplers pad (9 → 5 → 3), and each up block upsamples to its skip's size (3 → 5 → 9), as
 * `F.interpolate(size=…, mode="nearest")` does. The kernels against the float64 reference of the
 * same model, whose nearest-index rule matches PyTorch's (checked against torch 2.13 for every
 * input side up to 69).
 */
async function unetOutput<T extends TensorLike>(ops: TensorOps<T>, name: string, H: number, W: number): Promise<Float32Array> {
  const fx = (await loadFixture(fixturePath(name))) as ComponentFixture;
  const config = COMPONENTS.unet.parseConfig(fx.config, name);
  const dict = await streamStateDictToDevice(ops, await fx.source.fetchFile(fx.weights), { file: name, dtype: 'f32' });
  const model = COMPONENTS.unet.load(ops, config, dict);
  try {
    const sample = ops.upload(randomNormal(config.inChannels * H * W, 7), [1, config.inChannels, H, W]);
    const ehs = ops.upload(randomNormal(77 * config.crossAttentionDim, 8), [1, 77, config.crossAttentionDim]);
    const added = config.additionEmbed
      ? { textEmbeds: ops.upload(randomNormal(config.additionEmbed.pooledDim, 9), [1, config.additionEmbed.pooledDim]), timeIds: [8 * H, 8 * W, 0, 0, 8 * H, 8 * W] }
      : undefined;
    const out = model.forward(sample, [500], ehs, undefined, added);
    expect(out.shape).toEqual([1, config.outChannels, H, W]);
    const values = await ops.read(out);
    for (const t of [sample, ehs, out, ...(added ? [added.textEmbeds] : [])]) ops.release(t);
    return values;
  } finally {
    model.release();
  }
}

describe('the UNet at latent sizes that do not halve evenly (WebGPU kernels against the float64 reference)', () => {
  it.each([
    ['unet-sd15-tiny', 9, 7],
    ['unet-sdxl-tiny', 9, 13],
  ])('%s at %ix%i', async (name, H, W) => {
    const gpu = await unetOutput(new GpuOps(await gpuRuntime()), name, H, W);
    const ref = await unetOutput(new CpuOps(), name, H, W);
    let maxAbs = 0;
    let maxRef = 0;
    for (let i = 0; i < ref.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(gpu[i]! - ref[i]!));
      maxRef = Math.max(maxRef, Math.abs(ref[i]!));
    }
    expect(gpu.every(Number.isFinite)).toBe(true);
    expect(maxRef).toBeGreaterThan(0);
    expect(maxAbs).toBeLessThan(1e-4 * Math.max(1, maxRef));
  });
});
