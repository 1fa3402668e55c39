import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GpuContext } from '../../src/webgpu/device.js';
import { GpuRuntime } from '../../src/webgpu/runtime.js';
import { GpuOps } from '../../src/webgpu/kernels/gpu-ops.js';
import { SyntheticStateDict } from '../../src/plan/synthetic-weights.js';
import { AutoencoderKLDecoder } from '../../src/models/vae/autoencoder-kl-decoder.js';
import { parseAutoencoderKLConfig } from '../../src/models/vae/config.js';
import type { DecoderMemory } from '../../src/models/vae/decoder-resnet.js';
import { findFixtures, loadFixture, type ComponentFixture } from '../../tools/verify/fixture/fixture.js';
import { formatComparison } from '../../tools/verify/compare.js';
import { runComponentFixture } from '../../tools/verify/components.js';
import { fixturesDir } from '../helpers/fixtures.js';

/**
 * The full-size VAE decoder fixtures (512²) run with a working set of 2²⁵ elements (128 MiB of
 * f32), so that their norms and convs go over channel ranges as SDXL's 1024² decode does with
 * the default one: the ranged path held to the diffusers reference at real size, on Dawn at
 * WebGPU's default limits, and its real pool peak held to what `plan` computes for it.
 */
const RANGED: DecoderMemory = { workingSetElements: 2 ** 25 };

const root = join(fixturesDir(), 'full');
const fixtures = existsSync(root)
  ? (await Promise.all((await findFixtures(root)).map(async (path) => ((await loadFixture(path)).kind === 'vae_decoder' ? [{ name: basename(path), path }] : [])))).flat()
  : [];

/** Pool bytes of the decoder's f32 weights plus its activation peak on `latents`, in plan mode (default limits). */
function planned(fx: ComponentFixture, latents: readonly number[], memory?: DecoderMemory): { weights: number; activations: number } {
  const rt = GpuRuntime.plan({});
  const ops = new GpuOps(rt);
  const vae = AutoencoderKLDecoder.load(ops, parseAutoencoderKLConfig(fx.config, 'config.json'), new SyntheticStateDict('planned'), { dtype: 'f32' });
  const weights = rt.pool.stats.liveBytes;
  rt.resetPeak();
  const x = ops.upload(new Float32Array(latents.reduce((a, b) => a * b, 1)), latents);
  ops.release(vae.decode(x, memory));
  ops.release(x);
  const activations = rt.pool.stats.peakBytes - weights;
  vae.release();
  return { weights, activations };
}

describe("full-size VAE decoders over channel ranges, on Dawn at WebGPU's default limits", () => {
  it('finds a full-size VAE decoder fixture', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  it.each(fixtures)('$name decodes in channel ranges within the fixture tolerance, in less memory than whole', async ({ name, path }) => {
    const fx = (await loadFixture(path)) as ComponentFixture;
    const latents = (await fx.readIo()).get('latents')!.shape;
    const ctx = await GpuContext.create({});
    try {
      const started = performance.now();
      const results = await runComponentFixture(fx, new GpuOps(ctx.runtime), { decoderMemory: RANGED });
      const seconds = (performance.now() - started) / 1000;
      const poolPeak = ctx.runtime.pool.stats.peakBytes;
      const ranged = planned(fx, latents, RANGED);
      const whole = planned(fx, latents);
      const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
      console.log(
        `${name} in ranges of ${RANGED.workingSetElements} elements: ${seconds.toFixed(1)} s, pool peak ${mb(poolPeak)} ` +
          `(planned: weights ${mb(ranged.weights)} + activations ${mb(ranged.activations)}; whole: ${mb(whole.activations)})\n` +
          results.map((r) => `  ${formatComparison(r)}`).join('\n'),
      );
      expect(results.filter((r) => !r.pass).map(formatComparison)).toEqual([]);
      // The device held what plan mode computes for the ranged decode, and less than a whole one.
      expect(poolPeak).toBeLessThanOrEqual(ranged.weights + ranged.activations);
      expect(ranged.activations).toBeLessThan(0.6 * whole.activations);
    } finally {
      ctx.destroy();
    }
  }, 900_000);
});
