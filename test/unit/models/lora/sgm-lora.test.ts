import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../../../../src/io/safetensors.js';
import { StateDict } from '../../../../src/io/state-dict.js';
import { CLIPTextModel } from '../../../../src/models/clip/clip-text-model.js';
import { parseCLIPTextConfig } from '../../../../src/models/clip/config.js';
import type { LoraTarget } from '../../../../src/models/lora/adapter.js';
import { bindLora, type LoraTargets } from '../../../../src/models/lora/bind.js';
import { LoraMismatchError } from '../../../../src/models/lora/errors.js';
import { readLoraFile } from '../../../../src/models/lora/lora-file.js';
import { parseUNetConfig, type UNetConfig } from '../../../../src/models/unet/config.js';
import { UNet2DConditionModel } from '../../../../src/models/unet/unet-2d-condition.js';
import { CpuOps, type CpuTensor } from '../../../helpers/cpu-ops.js';
import { fixturesOfKind } from '../../../helpers/fixture-kind.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { buildSgmLoraPair, SDXL_TINY_SGM_MODULES } from '../../../helpers/sdxl-sgm-lora.js';
import { thrown } from '../../../helpers/thrown.js';

const cpu = new CpuOps();

/** A diffusers repo's UNet and text encoders on the CPU reference ops: their LoRA targets and the UNet config. */
async function loadTargets(dir: string): Promise<{ targets: LoraTargets<CpuTensor>; unet: UNetConfig }> {
  const json = async (file: string): Promise<unknown> => JSON.parse(await readFile(join(dir, file), 'utf8'));
  const dict = async (file: string) => new StateDict(await readSafetensors({ nodePath: join(dir, file) }, { file }), file);
  const unet = parseUNetConfig(await json('unet/config.json'), 'unet/config.json');
  const clip = async (name: string) => CLIPTextModel.load(cpu, parseCLIPTextConfig(await json(`${name}/config.json`), `${name}/config.json`), await dict(`${name}/model.safetensors`)).loraTargets;
  const hasSecond = await readFile(join(dir, 'text_encoder_2/config.json')).then(
    () => true,
    () => false,
  );
  return {
    unet,
    targets: {
      unet: UNet2DConditionModel.load(cpu, unet, await dict('unet/diffusion_pytorch_model.safetensors')).loraTargets,
      text_encoder: await clip('text_encoder'),
      text_encoder_2: hasSecond ? await clip('text_encoder_2') : null,
    },
  };
}

/** CpuOps that count uploads: a refused LoRA uploads nothing. */
function countingOps(): { ops: CpuOps; uploads: () => number } {
  let n = 0;
  const ops = new CpuOps();
  const upload = ops.upload.bind(ops);
  ops.upload = (data, shape, dtype) => {
    n++;
    return upload(data, shape, dtype);
  };
  return { ops, uploads: () => n };
}

const sdxlDir = fixturePath('pipeline-sdxl-tiny');
const sd15Dir = fixturePath('pipeline-sd15-tiny');
const sdxl = await loadTargets(sdxlDir);
const pair = await buildSgmLoraPair(sdxlDir, SDXL_TINY_SGM_MODULES);
const sgmFile = await readLoraFile(pair.kohya, 'sdxl_sgm.safetensors');
const diffusersFile = await readLoraFile(pair.diffusers, 'sdxl_diffusers.safetensors');

describe('kohya SDXL LoRAs with original-UNet (SGM) module names', () => {
  it('bind to the same layers with the same weights and factors as the same LoRA in diffusers naming', () => {
    const match = { unetLayersPerBlock: sdxl.unet.layersPerBlock };
    const fromSgm = new Map(bindLora(cpu, sgmFile, sdxl.targets, 'f32', match).adapters(0.8, 0.6));
    const fromDiffusers = new Map(bindLora(cpu, diffusersFile, sdxl.targets, 'f32', match).adapters(0.8, 0.6));
    expect(fromSgm.size).toBe(SDXL_TINY_SGM_MODULES.length);
    // Every table entry lands on the layer its diffusers path names.
    for (const m of SDXL_TINY_SGM_MODULES) {
      const layer = sdxl.targets[m.component]!.get(m.path) as LoraTarget<CpuTensor> | undefined;
      expect(layer, `${m.kohya} → ${m.path}`).toBeDefined();
      const a = fromSgm.get(layer!);
      const b = fromDiffusers.get(layer!);
      expect(a, m.kohya).toBeDefined();
      expect(b, m.path).toBeDefined();
      expect(a!.down.shape).toEqual(b!.down.shape);
      expect(Array.from(a!.down.data)).toEqual(Array.from(b!.down.data));
      expect(Array.from(a!.up.data)).toEqual(Array.from(b!.up.data));
      expect(a!.scale).toBe(b!.scale);
      expect(a!.scale).toBe(m.component === 'unet' ? 0.8 : 0.6);
    }
    // The table covers Linear, 3x3 and 1x1 Conv2d layers.
    const kinds = SDXL_TINY_SGM_MODULES.map((m) => sdxl.targets[m.component]!.get(m.path)!).map((t) => `${t.kind}${t.weight.shape.slice(2).join('x')}`);
    expect(new Set(kinds)).toEqual(new Set(['linear', 'conv2d3x3', 'conv2d1x1']));
  });

  it("refuses them whole without the UNet's layers_per_block, naming why", () => {
    const err = thrown(() => bindLora(cpu, sgmFile, sdxl.targets, 'f32')) as LoraMismatchError;
    expect(err).toBeInstanceOf(LoraMismatchError);
    expect(err.matched).toBe(SDXL_TINY_SGM_MODULES.filter((m) => m.component !== 'unet').length);
    expect(err.unmatched[0]).toMatch(/lora_unet_input_blocks_0_0: an original-UNet \(SGM\) module name, which needs the UNet's layers_per_block/);
  });

  it('refuses an SGM name that is no module of the model, by key', async () => {
    const bogus = await buildSgmLoraPair(sdxlDir, [{ component: 'unet', path: 'conv_in', kohya: 'lora_unet_input_blocks_3_1_proj_in' }]);
    const lora = await readLoraFile(bogus.kohya, 'bogus.safetensors');
    const err = thrown(() => bindLora(cpu, lora, sdxl.targets, 'f32', { unetLayersPerBlock: 2 })) as LoraMismatchError;
    expect(err).toBeInstanceOf(LoraMismatchError);
    expect(err.message).toMatch(/bogus\.safetensors: 0 of the LoRA's 1 modules match/);
    expect(err.unmatched[0]).toMatch(/lora_unet_input_blocks_3_1_proj_in: no such unet module/);
  });

  it('an SD 1.5 kohya LoRA (diffusers-style names) is refused by SDXL before anything is uploaded', async () => {
    const sd15Lora = (await fixturesOfKind('lora')).find((f) => f.fx.loraFiles['kohya'])!;
    const path = join(sd15Lora.path, sd15Lora.fx.loraFiles['kohya']!);
    const lora = await readLoraFile({ nodePath: path }, path);
    const { ops, uploads } = countingOps();
    const err = thrown(() => bindLora(ops, lora, sdxl.targets, 'f32', { unetLayersPerBlock: sdxl.unet.layersPerBlock })) as LoraMismatchError;
    expect(err).toBeInstanceOf(LoraMismatchError);
    expect(err.total).toBe(lora.modules.length);
    expect(err.matched).toBeLessThan(err.total);
    expect(err.unmatched.length).toBeGreaterThan(0);
    expect(err.unmatched.length).toBeLessThanOrEqual(5);
    expect(err.message).toMatch(new RegExp(`${err.matched} of the LoRA's ${err.total} modules match`));
    expect(uploads()).toBe(0);
  });

  it('an SDXL SGM LoRA is refused by SD 1.5 before anything is uploaded, its UNet part too', async () => {
    const sd15 = await loadTargets(sd15Dir);
    const match = { unetLayersPerBlock: sd15.unet.layersPerBlock };
    const { ops, uploads } = countingOps();
    const whole = thrown(() => bindLora(ops, sgmFile, sd15.targets, 'f32', match)) as LoraMismatchError;
    expect(whole).toBeInstanceOf(LoraMismatchError);
    expect(whole.total).toBe(SDXL_TINY_SGM_MODULES.length);
    expect(whole.message).toMatch(new RegExp(`${whole.matched} of the LoRA's ${whole.total} modules match`));
    const unetOnly = await buildSgmLoraPair(
      sdxlDir,
      SDXL_TINY_SGM_MODULES.filter((m) => m.component === 'unet'),
    );
    const unetLora = await readLoraFile(unetOnly.kohya, 'sdxl_unet_sgm.safetensors');
    const part = thrown(() => bindLora(ops, unetLora, sd15.targets, 'f32', match)) as LoraMismatchError;
    expect(part).toBeInstanceOf(LoraMismatchError);
    expect(part.matched).toBeLessThan(part.total);
    expect(part.unmatched.some((u) => u.startsWith('lora_unet_'))).toBe(true);
    expect(uploads()).toBe(0);
  });
});
