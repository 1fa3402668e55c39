import { describe, expect, it } from 'vitest';
import { loadFixture, type ComponentFixture } from '../../../../tools/verify/fixture/fixture.js';
import { GpuOps } from '../../../../src/webgpu/kernels/gpu-ops.js';
import { streamStateDictToDevice } from '../../../../src/models/device-state-dict.js';
import { parseUNetConfig } from '../../../../src/models/unet/config.js';
import { UNet2DConditionModel } from '../../../../src/models/unet/unet-2d-condition.js';
import { compareTensors, formatComparison } from '../../../../tools/verify/compare.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { gpuRuntime } from '../../helpers/device.js';

/**
 * The UNet with its transformer feed-forward run over token chunks (as it does when the GEGLU
 * input would exceed one storage binding) against the same UNet in one pass, on Dawn: the tiny
 * SD 1.5-structured fixture with a binding limit small enough to split every block's tokens.
 */
describe('UNet feed-forward chunking on the WebGPU kernels (unet-sd15-tiny)', () => {
  it('gives the one-pass result (within 1e-5) and the fixture output, with more dispatches and no leak', async () => {
    const rt = await gpuRuntime();
    const ops = new GpuOps(rt);
    const fx = (await loadFixture(fixturePath('unet-sd15-tiny'))) as ComponentFixture;
    const config = parseUNetConfig(fx.config, 'unet-sd15-tiny/config.json');
    const io = await fx.readIo();
    const tensor = (name: string) => io.get(name) ?? expect.fail(`io.safetensors has no ${name}`);
    const [timestepName, outputName] = fx.ioPairs[0]!;
    const sample = tensor('sample');
    const ehs = tensor('encoder_hidden_states');
    const [B, , H, W] = sample.shape as [number, number, number, number];
    const c0 = config.blockOutChannels[0]!;
    // The first level has B·H·W tokens of 8·c0 floats of GEGLU input; let about a third fit.
    const maxBindingBytes = Math.floor((B * H * W) / 3) * 8 * c0 * 4;
    const live = rt.pool.stats.liveBytes;

    const run = async (options: { maxBindingBytes?: number }): Promise<{ out: Float32Array; dispatches: number }> => {
      const dict = await streamStateDictToDevice(ops, await fx.source.fetchFile(fx.weights), { file: fx.weights, dtype: 'f32' });
      const model = UNet2DConditionModel.load(ops, config, dict, { dtype: 'f32', ...options });
      dict.releaseUntaken();
      const x = ops.upload(Float32Array.from(sample.data), sample.shape);
      const context = ops.upload(Float32Array.from(ehs.data), ehs.shape);
      const before = rt.stats.dispatches;
      const y = model.forward(x, Array.from(tensor(timestepName).data), context);
      const dispatches = rt.stats.dispatches - before;
      const out = await ops.read(y);
      for (const t of [x, context, y]) ops.release(t);
      model.release();
      return { out, dispatches };
    };

    const whole = await run({});
    const chunked = await run({ maxBindingBytes });
    expect(chunked.dispatches).toBeGreaterThan(whole.dispatches);
    let maxAbs = 0;
    for (let i = 0; i < whole.out.length; i++) maxAbs = Math.max(maxAbs, Math.abs(chunked.out[i]! - whole.out[i]!));
    console.log(`unet-sd15-tiny: ${whole.dispatches} dispatches in one pass, ${chunked.dispatches} chunked; max |chunked − one pass| = ${maxAbs}`);
    expect(maxAbs).toBeLessThanOrEqual(1e-5);
    const vsFixture = compareTensors(outputName, chunked.out, tensor(outputName).data, fx.tolerance);
    expect(vsFixture.pass, formatComparison(vsFixture)).toBe(true);
    expect(rt.pool.stats.liveBytes).toBe(live);
  });
});
