import { describe, expect, it } from 'vitest';
import { MissingWeightError, StateDictMismatchError } from '../../../../src/io/errors.js';
import { readSafetensors, type SafetensorsTensor } from '../../../../src/io/safetensors.js';
import { StateDict } from '../../../../src/io/state-dict.js';
import { CLIPTextModel } from '../../../../src/models/clip/clip-text-model.js';
import { parseCLIPTextConfig, type CLIPTextConfig } from '../../../../src/models/clip/config.js';
import type { TensorOps } from '../../../../src/webgpu/kernels/ops.js';
import { loadFixture, type ComponentFixture } from '../../../../tools/verify/fixture/fixture.js';
import { compareTensors } from '../../../../tools/verify/compare.js';
import { CpuOps, type CpuTensor } from '../../../helpers/cpu-ops.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { thrown } from '../../../helpers/thrown.js';
import { trackingOps } from '../tracking-ops.js';

async function fixture(name: string) {
  const fx = (await loadFixture(fixturePath(name))) as ComponentFixture;
  const tensors = await readSafetensors(await fx.source.fetchFile(fx.weights));
  const io = await fx.readIo();
  const ids = io.get('input_ids')!;
  return { fx, tensors, io, ids: ids.data as Int32Array, shape: [ids.shape[0]!, ids.shape[1]!] as const };
}

// SDXL's text_encoder_2 structure: 3 layers, hidden 12, projection_dim 10.
const proj = await fixture('text-encoder-clip-projection-tiny');
const projConfig = parseCLIPTextConfig(proj.fx.config, 'text_encoder_2/config.json');

/** The projection fixture's weights, keys renamed by `rename` (null drops the tensor). */
function projDict(rename: (key: string) => string | null = (k) => k): StateDict {
  const out: SafetensorsTensor[] = [];
  for (const t of proj.tensors.values()) {
    const name = rename(t.name);
    if (name !== null) out.push({ ...t, name });
  }
  return new StateDict(out, 'text_encoder_2/model.safetensors');
}

/** The projection model cut to its first `n` layers: the config says `n`, the dict drops the rest. */
function firstLayers(ops: TensorOps<CpuTensor>, n: number): CLIPTextModel<CpuTensor> {
  const config: CLIPTextConfig = { ...projConfig, numHiddenLayers: n };
  const dict = projDict((k) => {
    const layer = /\.layers\.(\d+)\./.exec(k);
    return layer && Number(layer[1]) >= n ? null : k;
  });
  return CLIPTextModel.load(ops, config, dict);
}

function weight(key: string): Float32Array {
  return proj.tensors.get(key)!.data as Float32Array;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('CLIPTextModel: penultimate hidden state and CLIPTextModelWithProjection', () => {
  it('the fixture config asks for the projection (the tests below rely on it)', () => {
    expect(projConfig.withProjection).toBe(true);
    expect(projConfig.numHiddenLayers).toBe(3);
    expect(projConfig.projectionDim).not.toBe(projConfig.hiddenSize);
  });

  it('penultimateHiddenState is the output of the first N−1 layers, without final_layer_norm', async () => {
    const ops = new CpuOps();
    const full = firstLayers(ops, 3);
    const cut = firstLayers(ops, 2);
    const pen = full.forward(proj.ids, proj.shape, { penultimate: true }).penultimateHiddenState;
    const cutLast = cut.forward(proj.ids, proj.shape).lastHiddenState;
    // The 2-layer model's last_hidden_state is final_layer_norm of the same state.
    const h = projConfig.hiddenSize;
    const gamma = ops.upload(weight('text_model.final_layer_norm.weight'), [h]);
    const beta = ops.upload(weight('text_model.final_layer_norm.bias'), [h]);
    const normed = ops.layerNorm(pen, gamma, beta, projConfig.layerNormEps);
    expect(pen.shape).toEqual([2, 77, h]);
    expect(maxAbsDiff(normed.data, cutLast.data)).toBeLessThan(1e-9);
    // ...and penultimateHiddenState itself is not normalised.
    expect(maxAbsDiff(pen.data, cutLast.data)).toBeGreaterThan(1e-2);
  });

  it('with one layer, the penultimate state is the embeddings: token_embedding[id] + position_embedding[i]', () => {
    const ops = new CpuOps();
    const model = firstLayers(ops, 1);
    const h = projConfig.hiddenSize;
    const tok = weight('text_model.embeddings.token_embedding.weight');
    const pos = weight('text_model.embeddings.position_embedding.weight');
    const [B, L] = proj.shape;
    const expected = new Float64Array(B * L * h);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < L; i++) {
        const id = proj.ids[b * L + i]!;
        for (let c = 0; c < h; c++) expected[(b * L + i) * h + c] = tok[id * h + c]! + pos[i * h + c]!;
      }
    }
    expect(maxAbsDiff(model.forwardPenultimate(proj.ids, proj.shape).data, expected)).toBeLessThan(1e-12);
    expect(maxAbsDiff(model.forward(proj.ids, proj.shape, { penultimate: true }).penultimateHiddenState.data, expected)).toBeLessThan(1e-12);
  });

  it('forwardPenultimate gives the same state as forward and runs one layer less', () => {
    // One attention call per encoder layer.
    class CountingOps extends CpuOps {
      attentions = 0;
      override attention(...args: Parameters<CpuOps['attention']>): CpuTensor {
        this.attentions++;
        return super.attention(...args);
      }
    }
    const ops = new CountingOps();
    const model = CLIPTextModel.load(ops, projConfig, projDict());
    const full = model.forward(proj.ids, proj.shape, { penultimate: true });
    expect(ops.attentions).toBe(3);
    ops.attentions = 0;
    const alone = model.forwardPenultimate(proj.ids, proj.shape);
    expect(ops.attentions).toBe(2);
    expect(alone.data).toEqual(full.penultimateHiddenState.data);
  });

  it('textEmbeds is text_projection.weight · poolerOutput, [B, projection_dim]', async () => {
    const ops = new CpuOps();
    const out = CLIPTextModel.load(ops, projConfig, projDict()).forward(proj.ids, proj.shape);
    const { hiddenSize: h, projectionDim: p } = projConfig;
    const B = proj.shape[0];
    expect(out.textEmbeds?.shape).toEqual([B, p]);
    expect(out.poolerOutput.shape).toEqual([B, h]);
    const W = weight('text_projection.weight');
    const expected = new Float64Array(B * p);
    for (let b = 0; b < B; b++) {
      for (let o = 0; o < p; o++) {
        let acc = 0;
        for (let k = 0; k < h; k++) acc += W[o * h + k]! * out.poolerOutput.data[b * h + k]!;
        expected[b * p + o] = acc;
      }
    }
    expect(maxAbsDiff(out.textEmbeds!.data, expected)).toBeLessThan(1e-12);
    // And the whole chain matches transformers.
    const check = compareTensors('text_embeds', await ops.read(out.textEmbeds!), proj.io.get('text_embeds')!.data, proj.fx.tolerance);
    expect(check.pass).toBe(true);
  });

  it('loads transformers-5 keys (no text_model. prefix, text_projection.weight as it is) and matches the fixture', async () => {
    const ops = new CpuOps();
    const dict = projDict((k) => k.replace(/^text_model\./, ''));
    expect(dict.keys()).toContain('text_projection.weight');
    expect(dict.keys().some((k) => k.startsWith('text_model.'))).toBe(false);
    const out = CLIPTextModel.load(ops, projConfig, dict).forward(proj.ids, proj.shape, { penultimate: true });
    for (const [name, t] of [
      ['penultimate_hidden_state', out.penultimateHiddenState],
      ['text_embeds', out.textEmbeds!],
      ['last_hidden_state', out.lastHiddenState],
    ] as const) {
      const r = compareTensors(name, await ops.read(t), proj.io.get(name)!.data, proj.fx.tolerance);
      expect(r.pass, name).toBe(true);
    }
  });

  it('a plain CLIPTextModel returns no textEmbeds, and no penultimate state unless asked', async () => {
    const sdxl = await fixture('text-encoder-clip-sdxl-tiny');
    const config = parseCLIPTextConfig(sdxl.fx.config, 'text_encoder/config.json');
    expect(config.withProjection).toBe(false);
    const out = CLIPTextModel.load(new CpuOps(), config, new StateDict(sdxl.tensors, 'text_encoder/model.safetensors')).forward(sdxl.ids, sdxl.shape);
    expect(out.textEmbeds).toBeUndefined();
    expect(out.penultimateHiddenState).toBeUndefined();
  });

  it('leaves live only the outputs it returns, each the caller’s to release', () => {
    const { ops, live } = trackingOps();
    const model = CLIPTextModel.load(ops, projConfig, projDict());
    const weights = live.size;

    const out = model.forward(proj.ids, proj.shape, { penultimate: true });
    const outputs = [out.lastHiddenState, out.poolerOutput, out.penultimateHiddenState, out.textEmbeds!];
    expect(live.size).toBe(weights + 4);
    for (const t of outputs) ops.release(t);
    expect(live.size).toBe(weights);

    const plain = model.forward(proj.ids, proj.shape);
    expect(live.size).toBe(weights + 3);
    for (const t of [plain.lastHiddenState, plain.poolerOutput, plain.textEmbeds!]) ops.release(t);

    ops.release(model.forwardPenultimate(proj.ids, proj.shape));
    expect(live.size).toBe(weights);
    model.release();
    expect(live.size).toBe(0);
  });

  it('a CLIPTextModelWithProjection checkpoint without text_projection.weight is refused, naming the key, and nothing stays live', () => {
    const { ops, live } = trackingOps();
    const err = thrown(() => CLIPTextModel.load(ops, projConfig, projDict((k) => (k === 'text_projection.weight' ? null : k))));
    expect(err).toBeInstanceOf(MissingWeightError);
    expect((err as MissingWeightError).key).toBe('text_projection.weight');
    expect(live.size).toBe(0);
  });

  it('a CLIPTextModel config does not silently drop a checkpoint’s text_projection.weight', () => {
    const { ops, live } = trackingOps();
    const err = thrown(() => CLIPTextModel.load(ops, { ...projConfig, withProjection: false }, projDict()));
    expect(err).toBeInstanceOf(StateDictMismatchError);
    expect((err as StateDictMismatchError).unexpected).toEqual(['text_projection.weight']);
    expect(live.size).toBe(0);
  });
});
