import { describe, expect, it } from 'vitest';
import { StateDictMismatchError } from '../../../../src/io/errors.js';
import { readSafetensors, type SafetensorsTensor } from '../../../../src/io/safetensors.js';
import { StateDict } from '../../../../src/io/state-dict.js';
import { ModelInputError } from '../../../../src/models/errors.js';
import { parseUNetConfig, type UNetConfig } from '../../../../src/models/unet/config.js';
import { TextTimeEmbedding } from '../../../../src/models/unet/text-time-embedding.js';
import { UNet2DConditionModel } from '../../../../src/models/unet/unet-2d-condition.js';
import { ModelWeights } from '../../../../src/models/weights.js';
import { loadFixture, type ComponentFixture } from '../../../../tools/verify/fixture/fixture.js';
import { CpuOps, type CpuTensor } from '../../../helpers/cpu-ops.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { thrown } from '../../../helpers/thrown.js';

/** A deterministic stand-in for trained weights: values in [-0.5, 0.5). */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** diffusers' `get_timestep_embedding` for one value, written out: [sin, cos] (or [cos, sin]), a zero column when `dim` is odd. */
function sinusoid(t: number, dim: number, flip: boolean, shift: number): number[] {
  const half = Math.floor(dim / 2);
  const sin: number[] = [];
  const cos: number[] = [];
  for (let i = 0; i < half; i++) {
    const freq = Math.exp((-Math.log(10000) * i) / (half - shift));
    sin.push(Math.sin(t * freq));
    cos.push(Math.cos(t * freq));
  }
  const out = flip ? [...cos, ...sin] : [...sin, ...cos];
  return dim % 2 === 1 ? [...out, 0] : out;
}

/** `W x + b` for a row-major W [N, K]. */
function affine(W: Float32Array, b: Float32Array, x: readonly number[]): number[] {
  const N = b.length;
  const K = x.length;
  return Array.from({ length: N }, (_, n) => x.reduce((acc, xk, k) => acc + W[n * K + k]! * xk, b[n]!));
}

const silu = (v: number): number => v / (1 + Math.exp(-v));

describe('TextTimeEmbedding (SDXL add_embedding) on the float64 CPU ops', () => {
  it.each([
    // SDXL's sinusoid: flipped to [cos, sin], no shift.
    { d: 8, pooled: 10, temb: 12, flip: true, shift: 0 },
    // The other options, and an odd width (diffusers pads a zero column), are passed through too.
    { d: 5, pooled: 3, temb: 7, flip: false, shift: 1 },
  ])('matches linear_2(silu(linear_1([text_embeds, sinusoid(time_ids)]))) written out (d=$d, flip=$flip, shift=$shift)', ({ d, pooled, temb, flip, shift }) => {
    const ops = new CpuOps();
    const inputDim = pooled + 6 * d;
    const W1 = values(temb * inputDim, 1);
    const b1 = values(temb, 2);
    const W2 = values(temb * temb, 3);
    const b2 = values(temb, 4);
    const dict = new StateDict(
      [
        { name: 'add_embedding.linear_1.weight', dtype: 'F32', shape: [temb, inputDim], data: W1 },
        { name: 'add_embedding.linear_1.bias', dtype: 'F32', shape: [temb], data: b1 },
        { name: 'add_embedding.linear_2.weight', dtype: 'F32', shape: [temb, temb], data: W2 },
        { name: 'add_embedding.linear_2.bias', dtype: 'F32', shape: [temb], data: b2 },
      ],
      'unet.safetensors',
    );
    const embedding = TextTimeEmbedding.load(new ModelWeights(ops, dict), { timeEmbedDim: d, pooledDim: pooled }, temb, { flipSinToCos: flip, downscaleFreqShift: shift });
    dict.finish();

    const B = 2;
    const text = values(B * pooled, 5);
    // Original size, crop top-left, target size in pixels, as SDXL passes them.
    const timeIds = [1024, 1024, 0, 0, 1024, 1024, 768, 1344, 16, 32, 832, 1216];
    const out = embedding.forward(ops, ops.upload(text, [B, pooled]), timeIds);
    expect(out.shape).toEqual([B, temb]);

    for (let b = 0; b < B; b++) {
      const x = [...text.subarray(b * pooled, (b + 1) * pooled)];
      for (const id of timeIds.slice(b * 6, (b + 1) * 6)) x.push(...sinusoid(id, d, flip, shift));
      const expected = affine(W2, b2, affine(W1, b1, x).map(silu));
      const got = [...out.data.subarray(b * temb, (b + 1) * temb)];
      got.forEach((g, i) => expect(g).toBeCloseTo(expected[i]!, 10));
    }
  });
});

// The SDXL-structured tiny UNet: text_time, transformer_layers_per_block [1, 2, 3].
const fx = (await loadFixture(fixturePath('unet-sdxl-tiny'))) as ComponentFixture;
const tensors = await readSafetensors(await fx.source.fetchFile(fx.weights));
const io = await fx.readIo();
const sdxlConfig = parseUNetConfig(fx.config, 'unet/config.json');

/** The fixture's weights, each passed through `edit` (null drops it). */
function dict(edit: (t: SafetensorsTensor) => SafetensorsTensor | null = (t) => t): StateDict {
  const out: SafetensorsTensor[] = [];
  for (const t of tensors.values()) {
    const e = edit(t);
    if (e) out.push(e);
  }
  return new StateDict(out, 'unet/model.safetensors');
}

function input(ops: CpuOps, name: string): CpuTensor {
  const t = io.get(name)!;
  return ops.upload(t.data as Float32Array, t.shape);
}

describe('UNet2DConditionModel with addition_embed_type "text_time"', () => {
  const ops = new CpuOps();
  const sample = input(ops, 'sample');
  const ehs = input(ops, 'encoder_hidden_states');
  const textEmbeds = input(ops, 'text_embeds');
  const timeIds = Array.from(io.get('time_ids')!.data);

  it('adds add_embedding to the time embedding before the SiLU the resnets apply', () => {
    // With add_embedding.linear_2 = 0·x + c, the added embedding is the constant c, so the model
    // must equal one without the added embedding whose time_embedding.linear_2 bias is raised by
    // c. Were c added after the SiLU, the two would differ.
    const c = values(sdxlConfig.blockOutChannels[0]! * 4, 9).map((v) => 4 * v);
    const withAdded = UNet2DConditionModel.load(
      ops,
      sdxlConfig,
      dict((t) => {
        if (t.name === 'add_embedding.linear_2.weight') return { ...t, data: new Float32Array(t.data.length) };
        if (t.name === 'add_embedding.linear_2.bias') return { ...t, data: c };
        return t;
      }),
    );
    const plain: UNetConfig = { ...sdxlConfig, additionEmbed: null };
    const without = UNet2DConditionModel.load(
      ops,
      plain,
      dict((t) => {
        if (t.name.startsWith('add_embedding.')) return null;
        if (t.name === 'time_embedding.linear_2.bias') return { ...t, data: (t.data as Float32Array).map((v, i) => v + c[i]!) };
        return t;
      }),
    );
    const a = withAdded.forward(sample, [500], ehs, undefined, { textEmbeds, timeIds });
    const b = without.forward(sample, [500], ehs);
    expect(a.shape).toEqual(sample.shape);
    let maxDiff = 0;
    let maxAbs = 0;
    a.data.forEach((v, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - b.data[i]!));
      maxAbs = Math.max(maxAbs, Math.abs(v));
    });
    expect(maxAbs).toBeGreaterThan(0.01);
    // float32 rounding of c + bias is the only difference.
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('loads every transformer block transformer_layers_per_block asks for, and refuses a checkpoint with more', () => {
    expect(sdxlConfig.transformerLayersPerBlock).toEqual([1, 2, 3]);
    // Up block 0 mirrors down block 2 (3 layers) and the mid block takes the last entry (3).
    expect(tensors.has('up_blocks.0.attentions.0.transformer_blocks.2.norm1.weight')).toBe(true);
    expect(tensors.has('mid_block.attentions.0.transformer_blocks.2.norm1.weight')).toBe(true);
    expect(() => UNet2DConditionModel.load(ops, sdxlConfig, dict())).not.toThrow();
    const err = thrown(() => UNet2DConditionModel.load(ops, { ...sdxlConfig, transformerLayersPerBlock: [1, 2, 2] }, dict()));
    expect(err).toBeInstanceOf(StateDictMismatchError);
    expect(err.message).toContain('transformer_blocks.2');
  });

  describe('refuses wrong added conditions with ModelInputError', () => {
    const model = UNet2DConditionModel.load(ops, sdxlConfig, dict());
    const plain = UNet2DConditionModel.load(
      ops,
      { ...sdxlConfig, additionEmbed: null },
      dict((t) => (t.name.startsWith('add_embedding.') ? null : t)),
    );

    it.each([
      ['missing on a text_time model', () => model.forward(sample, [1], ehs), 'addition_embed_type'],
      ['given to a model without text_time', () => plain.forward(sample, [1], ehs, undefined, { textEmbeds, timeIds }), 'no addition_embed_type'],
      ['textEmbeds of the wrong width', () => model.forward(sample, [1], ehs, undefined, { textEmbeds: ops.upload(new Float32Array(2 * 9), [2, 9]), timeIds }), 'textEmbeds has shape [2,9]'],
      ['textEmbeds of the wrong batch', () => model.forward(sample, [1], ehs, undefined, { textEmbeds: ops.upload(new Float32Array(10), [1, 10]), timeIds }), 'textEmbeds has shape [1,10]'],
      ['six timeIds for a batch of two', () => model.forward(sample, [1], ehs, undefined, { textEmbeds, timeIds: timeIds.slice(0, 6) }), 'got 6 timeIds for a batch of 2'],
      ['a non-finite time id', () => model.forward(sample, [1], ehs, undefined, { textEmbeds, timeIds: [...timeIds.slice(0, 11), NaN] }), 'finite'],
    ])('%s', (_, call, message) => {
      const err = thrown(call);
      expect(err).toBeInstanceOf(ModelInputError);
      expect(err.message).toContain(message);
    });
  });
});
