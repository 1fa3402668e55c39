import { describe, expect, it } from 'vitest';
import { loadFixture, type ComponentFixture } from '../../../tools/verify/fixture/fixture.js';
import { readSafetensors } from '../../../src/io/safetensors.js';
import { StateDict } from '../../../src/io/state-dict.js';
import { CLIPTextModel } from '../../../src/models/clip/clip-text-model.js';
import { parseCLIPTextConfig } from '../../../src/models/clip/config.js';
import { AutoencoderTinyDecoder } from '../../../src/models/taesd/autoencoder-tiny-decoder.js';
import { parseAutoencoderTinyConfig } from '../../../src/models/taesd/config.js';
import { parseUNetConfig } from '../../../src/models/unet/config.js';
import { UNet2DConditionModel } from '../../../src/models/unet/unet-2d-condition.js';
import { AutoencoderKLDecoder } from '../../../src/models/vae/autoencoder-kl-decoder.js';
import { parseAutoencoderKLConfig } from '../../../src/models/vae/config.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { trackingOps } from './tracking-ops.js';

async function component(name: string): Promise<{ fx: ComponentFixture; dict: StateDict; io: Awaited<ReturnType<ComponentFixture['readIo']>> }> {
  const fx = (await loadFixture(fixturePath(name))) as ComponentFixture;
  const dict = new StateDict(await readSafetensors(await fx.source.fetchFile(fx.weights)), fx.weights);
  return { fx, dict, io: await fx.readIo() };
}

describe('model tensor lifetimes', () => {
  it('the tracking ops reject a released tensor and count views as handles', () => {
    const { ops, live } = trackingOps();
    const x = ops.upload(new Float32Array(4), [2, 2]);
    const view = ops.reshape(x, [4]);
    ops.release(x);
    expect(live.size).toBe(1);
    expect(() => ops.scale(x, 2)).toThrow(/released/);
    ops.release(view);
    expect(live.size).toBe(0);
  });

  it('UNet2DConditionModel releases every intermediate: after a call only weights, inputs and the output are live', async () => {
    const { fx, dict, io } = await component('unet-lcm-tiny');
    const { ops, live } = trackingOps();
    const model = UNet2DConditionModel.load(ops, parseUNetConfig(fx.config, 'config.json'), dict);
    const weights = live.size;
    const up = (n: string) => ops.upload(Float32Array.from(io.get(n)!.data), io.get(n)!.shape);
    const inputs = [up('sample'), up('encoder_hidden_states'), up('timestep_cond')] as const;
    const out = model.forward(inputs[0], [io.get('timestep')!.data[0]!], inputs[1], inputs[2]);
    expect(live.size).toBe(weights + inputs.length + 1);
    ops.release(out);
    for (const x of inputs) ops.release(x);
    model.release();
    expect(live.size).toBe(0);
  });

  it('CLIPTextModel leaves only its two outputs live', async () => {
    const { fx, dict, io } = await component('text-encoder-clip-tiny');
    const { ops, live } = trackingOps();
    const model = CLIPTextModel.load(ops, parseCLIPTextConfig(fx.config, 'config.json'), dict);
    const weights = live.size;
    const ids = io.get('input_ids')!;
    const out = model.forward(ids.data as Int32Array, [ids.shape[0]!, ids.shape[1]!]);
    expect(live.size).toBe(weights + 2);
    ops.release(out.lastHiddenState);
    ops.release(out.poolerOutput);
    model.release();
    expect(live.size).toBe(0);
  });

  it('the VAE and TAESD decoders leave only the image live', async () => {
    for (const name of ['vae-decoder-tiny', 'taesd-decoder']) {
      const { fx, dict, io } = await component(name);
      const { ops, live } = trackingOps();
      const model =
        fx.kind === 'vae_decoder'
          ? AutoencoderKLDecoder.load(ops, parseAutoencoderKLConfig(fx.config, 'config.json'), dict)
          : AutoencoderTinyDecoder.load(ops, parseAutoencoderTinyConfig(fx.config, 'config.json'), dict);
      const latents = ops.upload(Float32Array.from(io.get('latents')!.data), io.get('latents')!.shape);
      const before = live.size;
      const image = model.decode(latents);
      expect(live.size, name).toBe(before + 1);
      ops.release(image);
      ops.release(latents);
      model.release();
      expect(live.size, name).toBe(0);
    }
  }, 60_000);
});
