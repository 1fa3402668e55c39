import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LoraFileError } from '../../../../src/models/lora/errors.js';
import { loraFactor } from '../../../../src/models/lora/bind.js';
import { readLoraFile } from '../../../../src/models/lora/lora-file.js';
import { mulberry32 } from '../../../helpers/rng.js';
import { fixturesDir } from '../../../helpers/fixtures.js';
import { buildSafetensors, type BuildEntry } from '../../io/build-safetensors.js';

const f32 = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);
const tensor = (name: string, shape: number[], fill = 0.5, dtype = 'F32'): BuildEntry => ({
  name,
  dtype,
  shape,
  bytes: dtype === 'F32' ? f32(Array(shape.reduce((a, b) => a * b, 1)).fill(fill)) : new Uint8Array(8 * shape.reduce((a, b) => a * b, 1)),
});
const kohyaModule = (name: string, r = 2, cin = 4, out = 6): BuildEntry[] => [tensor(`${name}.lora_down.weight`, [r, cin]), tensor(`${name}.lora_up.weight`, [out, r]), tensor(`${name}.alpha`, [], 1)];

async function refusal(bytes: Uint8Array, file = 'x.safetensors'): Promise<LoraFileError> {
  const err = await readLoraFile(bytes, file).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LoraFileError);
  return err as LoraFileError;
}

describe('readLoraFile', () => {
  it('reads both forms of the fixture LoRA into the same modules', async () => {
    const dir = join(fixturesDir(), 'community/lora-sd15-tiny');
    const kohya = await readLoraFile({ nodePath: join(dir, 'lora_kohya.safetensors') }, 'lora_kohya.safetensors');
    const diffusers = await readLoraFile({ nodePath: join(dir, 'lora_diffusers.safetensors') }, 'lora_diffusers.safetensors');
    expect(kohya.format).toBe('kohya');
    expect(diffusers.format).toBe('diffusers');
    expect(kohya.modules.length).toBe(diffusers.modules.length);
    const te = kohya.modules.find((m) => m.component === 'text_encoder')!;
    // `text_model_` is dropped: text-encoder modules are named from the encoder's root.
    expect(te.name.startsWith('encoder_layers_')).toBe(true);
    expect(diffusers.modules.find((m) => m.component === 'text_encoder')!.name.startsWith('encoder.layers.')).toBe(true);
  });

  it('takes a missing alpha as alpha = r (factor 1), and scales by alpha / r otherwise', async () => {
    const lora = await readLoraFile(
      buildSafetensors([tensor('lora_unet_a.lora_down.weight', [4, 3]), tensor('lora_unet_a.lora_up.weight', [5, 4]), ...kohyaModule('lora_unet_b', 8)]),
      'x.safetensors',
    );
    expect(lora.modules.map((m) => [m.name, loraFactor(m)])).toEqual([
      ['a', 1],
      ['b', 1 / 8],
    ]);
  });

  it.each([
    ['a pickle by its name', new Uint8Array([0x80, 0x02]), 'model.ckpt', /pickle.*can run arbitrary code.*safetensors/],
    ['pickle bytes under a .safetensors name', new Uint8Array([0x80, 0x02, 0x7d, 0x71, 0, 0, 0, 0, 0, 0]), 'x.safetensors', /not a readable safetensors file/],
    ['a zip (torch.save) under a .safetensors name', new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]), 'x.safetensors', /not a readable safetensors file/],
    ['a huge header length', buildSafetensors(kohyaModule('lora_unet_a'), { headerLength: 2 ** 40 }), 'x.safetensors', /not a readable safetensors file/],
    ['a truncated file', buildSafetensors(kohyaModule('lora_unet_a')).slice(0, -5), 'x.safetensors', /not a readable safetensors file/],
    ['no tensors', buildSafetensors([]), 'x.safetensors', /holds no tensors/],
    ['a NaN weight', buildSafetensors([tensor('lora_unet_a.lora_down.weight', [2, 4], Number.NaN), tensor('lora_unet_a.lora_up.weight', [6, 2])]), 'x.safetensors', /lora_down.weight.*NaN/],
    ['an up weight missing', buildSafetensors([tensor('lora_unet_a.lora_down.weight', [2, 4])]), 'x.safetensors', /lora_unet_a.*no up weight/],
    ['ranks that differ', buildSafetensors([tensor('lora_unet_a.lora_down.weight', [2, 4]), tensor('lora_unet_a.lora_up.weight', [6, 3])]), 'x.safetensors', /same rank/],
    ['an alpha that is not a scalar', buildSafetensors([...kohyaModule('lora_unet_a').slice(0, 2), tensor('lora_unet_a.alpha', [2])]), 'x.safetensors', /alpha of shape \[2\]/],
    ['a key of no LoRA form', buildSafetensors([...kohyaModule('lora_unet_a'), tensor('model.diffusion_model.x.weight', [2])]), 'x.safetensors', /is not a LoRA key/],
    ['a LyCORIS (LoHa) module', buildSafetensors([tensor('lora_unet_a.hada_w1_a', [2, 2])]), 'x.safetensors', /LyCORIS/],
    ['kohya and diffusers keys mixed', buildSafetensors([...kohyaModule('lora_unet_a'), tensor('unet.b.lora_A.weight', [2, 4]), tensor('unet.b.lora_B.weight', [6, 2])]), 'x.safetensors', /mixes the kohya and diffusers/],
    ['integer weights', buildSafetensors([tensor('lora_unet_a.lora_down.weight', [2, 4], 0, 'I64'), tensor('lora_unet_a.lora_up.weight', [6, 2])]), 'x.safetensors', /dtype I64/],
  ])('refuses %s with a LoraFileError naming the cause', async (_name, bytes, file, message) => {
    expect((await refusal(bytes, file)).message).toMatch(message);
  });

  it('survives random corruption of a real LoRA file: it reads, or fails with LoraFileError, never otherwise', async () => {
    const good = new Uint8Array(await readFile(join(fixturesDir(), 'community/lora-sd15-tiny/lora_kohya.safetensors')));
    const headerEnd = 8 + Number(new DataView(good.buffer).getBigUint64(0, true));
    const random = mulberry32(2201);
    let refused = 0;
    for (let trial = 0; trial < 200; trial++) {
      const bytes = good.slice();
      // A few bytes of the header (lengths, names, shapes, offsets) or of the data (NaN, Inf).
      for (let k = 0; k < 3; k++) bytes[Math.floor(random() * (trial % 2 === 0 ? headerEnd : bytes.length))] = Math.floor(random() * 256);
      const outcome = await readLoraFile(bytes, 'fuzzed.safetensors').then(
        () => 'read',
        (e: unknown) => e,
      );
      if (outcome !== 'read') {
        expect(outcome).toBeInstanceOf(LoraFileError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(20);
  });
});
