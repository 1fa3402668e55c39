import { describe, expect, it } from 'vitest';
import { GpuRuntime } from '../../../src/webgpu/runtime.js';
import { loadFixture, type ComponentFixture } from '../../../tools/verify/fixture/fixture.js';
import { readSafetensors } from '../../../src/io/safetensors.js';
import { StateDict } from '../../../src/io/state-dict.js';
import type { SafetensorsTensor } from '../../../src/io/safetensors.js';
import { GpuOps } from '../../../src/webgpu/kernels/gpu-ops.js';
import { CLIPTextModel } from '../../../src/models/clip/clip-text-model.js';
import { parseCLIPTextConfig } from '../../../src/models/clip/config.js';
import { parseUNetConfig } from '../../../src/models/unet/config.js';
import { UNet2DConditionModel } from '../../../src/models/unet/unet-2d-condition.js';
import { AutoencoderKLDecoder } from '../../../src/models/vae/autoencoder-kl-decoder.js';
import { parseAutoencoderKLConfig } from '../../../src/models/vae/config.js';
import { PlanError } from '../../../src/plan/errors.js';
import { SyntheticStateDict, type GeneratedWeight } from '../../../src/plan/synthetic-weights.js';
import { fixturePath } from '../../helpers/fixtures.js';

/** A real checkpoint that records what the model takes from it, in order. */
class RecordingStateDict extends StateDict {
  readonly takenWeights: GeneratedWeight[] = [];
  override take(key: string, expectedShape?: readonly number[]): SafetensorsTensor {
    const t = super.take(key, expectedShape);
    this.takenWeights.push({ key, shape: t.shape });
    return t;
  }
}

type Loader = (ops: GpuOps, config: unknown, dict: StateDict) => { release(): void };
const loaders: Record<string, Loader> = {
  'unet-sd15-tiny': (ops, c, d) => UNet2DConditionModel.load(ops, parseUNetConfig(c, 'unet/config.json'), d),
  'unet-sd21-tiny': (ops, c, d) => UNet2DConditionModel.load(ops, parseUNetConfig(c, 'unet/config.json'), d),
  'unet-lcm-tiny': (ops, c, d) => UNet2DConditionModel.load(ops, parseUNetConfig(c, 'unet/config.json'), d),
  // SDXL (issue 21): add_embedding and per-level transformer depths; the full-size SDXL UNet
  // run (bench/full-size.js --only sdxl, test/full/sdxl-unet.test.ts) streams the plan's list.
  'unet-sdxl-tiny': (ops, c, d) => UNet2DConditionModel.load(ops, parseUNetConfig(c, 'unet/config.json'), d),
  'vae-decoder-tiny': (ops, c, d) => AutoencoderKLDecoder.load(ops, parseAutoencoderKLConfig(c, 'vae/config.json'), d),
  'text-encoder-clip-tiny': (ops, c, d) => CLIPTextModel.load(ops, parseCLIPTextConfig(c, 'text_encoder/config.json'), d),
  'text-encoder-clip-projection-tiny': (ops, c, d) => CLIPTextModel.load(ops, parseCLIPTextConfig(c, 'text_encoder_2/config.json'), d),
};

describe('SyntheticStateDict', () => {
  it.each(Object.keys(loaders))('hands the %s model exactly the weights (keys and shapes) its real checkpoint holds', async (name) => {
    const fx = (await loadFixture(fixturePath(name))) as ComponentFixture;
    const real = new RecordingStateDict(await readSafetensors(await fx.source.fetchFile(fx.weights)), `${name}/${fx.weights}`);
    const generated = new SyntheticStateDict(`${name} (generated)`);
    const ops = new GpuOps(GpuRuntime.plan());
    loaders[name]!(ops, fx.config, real).release();
    loaders[name]!(ops, fx.config, generated).release();
    expect(generated.generated).toEqual(real.takenWeights);
    expect(generated.parameters).toBe(real.takenWeights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0));
  });

  it('generates zeros of the requested shape', () => {
    const dict = new SyntheticStateDict('generated');
    const big = dict.takeFloat32('a.weight', [3, 4]);
    const small = dict.takeFloat32('b.bias', [5]);
    expect(big).toEqual(new Float32Array(12));
    expect(small).toEqual(new Float32Array(5));
    expect(dict.generated).toEqual([
      { key: 'a.weight', shape: [3, 4] },
      { key: 'b.bias', shape: [5] },
    ]);
    expect(dict.parameters).toBe(17);
  });

  it('refuses a weight requested without a shape, naming the key', () => {
    expect(() => new SyntheticStateDict('generated').take('conv.weight')).toThrow(PlanError);
    expect(() => new SyntheticStateDict('generated').take('conv.weight')).toThrow(/"conv\.weight"/);
  });
});
