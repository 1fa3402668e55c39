import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelConfigError } from '../../../src/models/errors.js';
import { COMPONENT_KINDS, COMPONENTS, parseVaeComponent, vaeLatentScaling, vaeScaleFactor } from '../../../src/models/registry.js';
import { planModel } from '../../../src/plan/plan-model.js';
import { fixturePath } from '../../helpers/fixtures.js';

const config = (dir: string, sub = ''): unknown => JSON.parse(readFileSync(join(fixturePath(dir), sub, 'config.json'), 'utf8'));
const componentConfig = (dir: string): unknown => (JSON.parse(readFileSync(join(fixturePath(dir), 'fixture.json'), 'utf8')) as { component_config: unknown }).component_config;

describe('the component registry', () => {
  it('describes every kind once, by its diffusers or transformers class', () => {
    expect([...COMPONENT_KINDS].sort()).toEqual(Object.keys(COMPONENTS).sort());
    for (const kind of COMPONENT_KINDS) expect(COMPONENTS[kind].kind).toBe(kind);
    expect(Object.fromEntries(COMPONENT_KINDS.map((k) => [k, COMPONENTS[k].className]))).toEqual({
      text_encoder: 'CLIPTextModel',
      unet: 'UNet2DConditionModel',
      vae_decoder: 'AutoencoderKL',
      taesd_decoder: 'AutoencoderTiny',
      vae_encoder: 'AutoencoderKL',
    });
  });

  it('gives each kind the keys of its checkpoint that its model never uses', () => {
    const keys = ['encoder.conv_in.weight', 'quant_conv.bias', 'decoder.conv_in.weight', 'post_quant_conv.weight'];
    const unused = (kind: (typeof COMPONENT_KINDS)[number]) => keys.filter((k) => COMPONENTS[kind].unusedKey?.(k) ?? false);
    // One AutoencoderKL checkpoint feeds both halves: each skips exactly what the other takes.
    expect(unused('vae_decoder')).toEqual(['encoder.conv_in.weight', 'quant_conv.bias']);
    expect(unused('vae_encoder')).toEqual(['decoder.conv_in.weight', 'post_quant_conv.weight']);
    expect(unused('taesd_decoder')).toEqual(['encoder.conv_in.weight']);
    expect(COMPONENTS.unet.unusedKey).toBeNull();
    expect(COMPONENTS.text_encoder.unusedKey).toBeNull();
  });

  it('gives each kind its scale factor: the VAE 8, TAESD 8, the UNet its downsampling, the text encoder 1', () => {
    const vae = COMPONENTS.vae_decoder.parseConfig(config('pipeline-sdturbo-tiny', 'vae'), 'vae/config.json');
    expect(COMPONENTS.vae_decoder.scaleFactor(vae)).toBe(8);
    expect(COMPONENTS.vae_encoder.scaleFactor(vae)).toBe(8);
    expect(COMPONENTS.taesd_decoder.scaleFactor(COMPONENTS.taesd_decoder.parseConfig(componentConfig('taesd-decoder'), 'taesd'))).toBe(8);
    const unet = COMPONENTS.unet.parseConfig(config('pipeline-sdturbo-tiny', 'unet'), 'unet/config.json');
    expect(COMPONENTS.unet.scaleFactor(unet)).toBe(2 ** (unet.blockOutChannels.length - 1));
    const clip = COMPONENTS.text_encoder.parseConfig(config('pipeline-sdturbo-tiny', 'text_encoder'), 'text_encoder/config.json');
    expect(COMPONENTS.text_encoder.scaleFactor(clip)).toBe(1);
  });

  it('reads a vae/ config as an AutoencoderKL, or by its _class_name an AutoencoderTiny, as diffusers loads either there', () => {
    const kl = parseVaeComponent(config('pipeline-sdturbo-tiny', 'vae'), 'vae/config.json');
    expect(kl.kind).toBe('vae_decoder');
    expect(vaeScaleFactor(kl)).toBe(8);
    expect(vaeLatentScaling(kl)).toEqual({ scalingFactor: 0.18215, shiftFactor: 0, forceUpcast: true });
    const tiny = parseVaeComponent(componentConfig('taesd-decoder'), 'vae/config.json');
    expect(tiny.kind).toBe('taesd_decoder');
    expect(vaeScaleFactor(tiny)).toBe(8);
    // TAESD takes the UNet's latents as they are, and diffusers does not upcast it.
    expect(vaeLatentScaling(tiny)).toEqual({ scalingFactor: 1, shiftFactor: 0, forceUpcast: false });
    expect(() => parseVaeComponent({ _class_name: 'AutoencoderTiny', act_fn: 'silu' }, 'vae/config.json')).toThrow(ModelConfigError);
  });

  it('lets plan and the pipeline agree on an AutoencoderTiny in vae/: decoded like a VAE, no img2img', () => {
    const configs = {
      unet: config('pipeline-sdturbo-tiny', 'unet'),
      textEncoder: config('pipeline-sdturbo-tiny', 'text_encoder'),
      vae: componentConfig('taesd-decoder'),
      source: 'tiny-vae',
    };
    const report = planModel(configs, { width: 64, height: 64, batch: 1, dtype: 'f32' });
    expect(report.components.map((c) => c.name)).toEqual(['text_encoder', 'unet', 'vae_decoder']);
    expect(report.withinLimits).toBe(true);
    expect(() => planModel(configs, { width: 64, height: 64, batch: 1, dtype: 'f32', img2img: true })).toThrow(/tiny-vae\/vae\/config\.json describes an AutoencoderTiny/);
  });
});
