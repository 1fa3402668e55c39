import { describe, expect, it } from 'vitest';
import { MissingWeightError, StateDictMismatchError, WeightShapeError } from '../../../src/io/errors.js';
import { loadFixture, type ComponentFixture } from '../../../tools/verify/fixture/fixture.js';
import { readSafetensors, type SafetensorsTensor } from '../../../src/io/safetensors.js';
import { StateDict } from '../../../src/io/state-dict.js';
import { CLIPTextModel } from '../../../src/models/clip/clip-text-model.js';
import { parseCLIPTextConfig } from '../../../src/models/clip/config.js';
import { parseUNetConfig } from '../../../src/models/unet/config.js';
import { UNet2DConditionModel } from '../../../src/models/unet/unet-2d-condition.js';
import { AutoencoderKLDecoder } from '../../../src/models/vae/autoencoder-kl-decoder.js';
import { parseAutoencoderKLConfig } from '../../../src/models/vae/config.js';
import { compareTensors } from '../../../tools/verify/compare.js';
import { CpuOps } from '../../helpers/cpu-ops.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { trackingOps } from './tracking-ops.js';
import { thrown } from '../../helpers/thrown.js';

async function fixture(name: string) {
  const fx = (await loadFixture(fixturePath(name))) as ComponentFixture;
  const tensors = await readSafetensors(await fx.source.fetchFile(fx.weights));
  return { fx, tensors, io: await fx.readIo() };
}

const unet = await fixture('unet-lcm-tiny');
const unetConfig = parseUNetConfig(unet.fx.config, 'unet/config.json');

/** The UNet fixture's tensors with `edit` applied, as a StateDict. */
function tamperedUNet(edit: (m: Map<string, SafetensorsTensor>) => void): StateDict {
  const m = new Map(unet.tensors);
  edit(m);
  return new StateDict(m, 'unet/model.safetensors');
}

describe('loading weights into the models', () => {
  it('a missing key throws MissingWeightError naming the key, and releases what was uploaded', () => {
    const key = 'up_blocks.2.attentions.1.transformer_blocks.0.attn2.to_k.weight';
    const { ops, live } = trackingOps();
    const err = thrown(() => UNet2DConditionModel.load(ops, unetConfig, tamperedUNet((m) => m.delete(key))));
    expect(err).toBeInstanceOf(MissingWeightError);
    expect((err as MissingWeightError).key).toBe(key);
    expect((err as Error).message).toContain(key);
    expect(live.size).toBe(0);
  });

  it('a wrong shape throws WeightShapeError naming the key and both shapes', () => {
    const key = 'mid_block.resnets.0.conv1.weight';
    const dict = tamperedUNet((m) => {
      const t = m.get(key)!;
      m.set(key, { ...t, shape: [t.shape[0]!, t.shape[1]!, 1, 9] });
    });
    const err = thrown(() => UNet2DConditionModel.load(new CpuOps(), unetConfig, dict)) as WeightShapeError;
    expect(err).toBeInstanceOf(WeightShapeError);
    expect(err.key).toBe(key);
    expect(err.expected).toEqual([32, 32, 3, 3]);
    expect(err.actual).toEqual([32, 32, 1, 9]);
  });

  it('a key the config does not account for throws StateDictMismatchError listing it', () => {
    const extra = 'down_blocks.0.attentions.0.transformer_blocks.1.norm1.weight';
    const dict = tamperedUNet((m) => m.set(extra, { ...m.get('down_blocks.0.attentions.0.transformer_blocks.0.norm1.weight')!, name: extra }));
    const err = thrown(() => UNet2DConditionModel.load(new CpuOps(), unetConfig, dict)) as StateDictMismatchError;
    expect(err).toBeInstanceOf(StateDictMismatchError);
    expect(err.unexpected).toEqual([extra]);
  });

  it('a checkpoint holding weights the config has no use for (cond_proj without time_cond_proj_dim) is rejected', () => {
    const err = thrown(() => UNet2DConditionModel.load(new CpuOps(), { ...unetConfig, timeCondProjDim: null }, tamperedUNet(() => undefined)));
    expect(err).toBeInstanceOf(StateDictMismatchError);
    expect((err as StateDictMismatchError).unexpected).toEqual(['time_embedding.cond_proj.weight']);
  });

  it('uploads every weight once, with the requested dtype', () => {
    const dtypes: (string | undefined)[] = [];
    const cpu = new CpuOps();
    const spy = Object.assign(Object.create(cpu) as CpuOps, {
      upload: (data: Float32Array, shape: readonly number[], dtype?: 'f32' | 'f16') => {
        dtypes.push(dtype);
        return cpu.upload(data, shape, dtype);
      },
    });
    UNet2DConditionModel.load(spy, unetConfig, tamperedUNet(() => undefined), { dtype: 'f16' });
    expect(dtypes.length).toBe(unet.tensors.size);
    expect(new Set(dtypes)).toEqual(new Set(['f16']));
  });

  it('CLIPTextModel accepts transformers-5 keys without the text_model. prefix and without position_ids', async () => {
    const clip = await fixture('text-encoder-clip-tiny');
    const stripped = [...clip.tensors.values()]
      .filter((t) => !t.name.endsWith('position_ids'))
      .map((t) => ({ ...t, name: t.name.replace(/^text_model\./, '') }));
    const ops = new CpuOps();
    const model = CLIPTextModel.load(ops, parseCLIPTextConfig(clip.fx.config, 'config.json'), new StateDict(stripped, 'model.safetensors'));
    const ids = clip.io.get('input_ids')!;
    const out = model.forward(ids.data as Int32Array, [ids.shape[0]!, ids.shape[1]!]);
    const result = compareTensors('pooler_output', await ops.read(out.poolerOutput), clip.io.get('pooler_output')!.data, clip.fx.tolerance);
    expect(result.pass).toBe(true);
  });

  it('the VAE maps old attention names (query/key/value/proj_attn, stored as 1x1 convs) and decodes the same image', async () => {
    const vae = await fixture('vae-decoder-tiny');
    const old: Record<string, string> = { to_q: 'query', to_k: 'key', to_v: 'value', 'to_out.0': 'proj_attn' };
    const legacy = [...vae.tensors.values()].map((t) => {
      const m = /^(decoder\.mid_block\.attentions\.0\.)(to_q|to_k|to_v|to_out\.0)\.(weight|bias)$/.exec(t.name);
      if (!m) return t;
      return { ...t, name: `${m[1]}${old[m[2]!]}.${m[3]}`, shape: m[3] === 'weight' ? [...t.shape, 1, 1] : t.shape };
    });
    expect(legacy.filter((t) => t.name.includes('.query.')).length).toBe(2);
    const ops = new CpuOps();
    const model = AutoencoderKLDecoder.load(ops, parseAutoencoderKLConfig(vae.fx.config, 'config.json'), new StateDict(legacy, 'vae.safetensors'));
    const latents = vae.io.get('latents')!;
    const image = await ops.read(model.decode(ops.upload(Float32Array.from(latents.data), latents.shape)));
    expect(compareTensors('image', image, vae.io.get('image')!.data, vae.fx.tolerance).pass).toBe(true);
  }, 30_000);
});
