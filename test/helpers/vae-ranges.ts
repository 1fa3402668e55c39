import { basename } from 'node:path';
import { expect } from 'vitest';
import { findFixtures, loadFixture, type ComponentFixture } from '../../tools/verify/fixture/fixture.js';
import { compareTensors } from '../../tools/verify/compare.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { StateDict } from '../../src/io/state-dict.js';
import type { TensorLike, TensorOps } from '../../src/webgpu/kernels/ops.js';
import { AutoencoderKLDecoder } from '../../src/models/vae/autoencoder-kl-decoder.js';
import { parseAutoencoderKLConfig } from '../../src/models/vae/config.js';
import type { DecoderMemory } from '../../src/models/vae/decoder-resnet.js';
import { fixturesDir } from './fixtures.js';

/** Every `vae_decoder` fixture, found by kind (other fixtures of the format run too). */
export async function vaeDecoderFixtures(): Promise<Array<{ name: string; path: string }>> {
  const all = await Promise.all(
    (await findFixtures(fixturesDir())).map(async (path) => ((await loadFixture(path)).kind === 'vae_decoder' ? [{ name: basename(path), path }] : [])),
  );
  return all.flat();
}

/** One channel range per norm group: the most ranges the decoder can make. */
export const ONE_GROUP_PER_RANGE: DecoderMemory = { workingSetElements: 1 };

/**
 * Decodes a VAE fixture's latents twice on `ops`, once as usual and once in one-group channel
 * ranges; checks both against the fixture's image under its tolerance and returns both results
 * with the largest difference between them.
 */
export async function decodeInRanges<T extends TensorLike>(path: string, ops: TensorOps<T>): Promise<{ whole: Float32Array; ranged: Float32Array; maxAbsBetween: number; maxAbsRanged: number }> {
  const fx = (await loadFixture(path)) as ComponentFixture;
  const io = await fx.readIo();
  const dict = new StateDict(await readSafetensors(await fx.source.fetchFile(fx.weights)), fx.weights);
  const model = AutoencoderKLDecoder.load(ops, parseAutoencoderKLConfig(fx.config, 'config.json'), dict);
  const expected = io.get('image')!;
  const latents = ops.upload(Float32Array.from(io.get('latents')!.data), io.get('latents')!.shape);
  try {
    const read = async (memory?: DecoderMemory) => {
      const image = model.decode(latents, memory);
      const data = Float32Array.from(await ops.read(image));
      ops.release(image);
      return data;
    };
    const whole = await read();
    const ranged = await read(ONE_GROUP_PER_RANGE);
    const check = compareTensors('image', ranged, expected.data, fx.tolerance);
    expect(check.pass, `${basename(path)} in ranges: max_abs ${check.maxAbs}`).toBe(true);
    expect(compareTensors('image', whole, expected.data, fx.tolerance).pass).toBe(true);
    let maxAbsBetween = 0;
    for (let i = 0; i < whole.length; i++) maxAbsBetween = Math.max(maxAbsBetween, Math.abs(whole[i]! - ranged[i]!));
    return { whole, ranged, maxAbsBetween, maxAbsRanged: check.maxAbs };
  } finally {
    ops.release(latents);
    model.release();
  }
}
