import { describe, expect, it } from 'vitest';
import { readSafetensors, type SafetensorsTensor } from '../../../../src/io/safetensors.js';
import { StateDict } from '../../../../src/io/state-dict.js';
import { AddedTokenEmbeddings } from '../../../../src/models/clip/added-token-embeddings.js';
import { CLIPTextModel } from '../../../../src/models/clip/clip-text-model.js';
import { parseCLIPTextConfig } from '../../../../src/models/clip/config.js';
import { ModelInputError } from '../../../../src/models/errors.js';
import { loadFixture, type ComponentFixture } from '../../../../tools/verify/fixture/fixture.js';
import type { CpuTensor } from '../../../helpers/cpu-ops.js';
import { fixturePath } from '../../../helpers/fixtures.js';
import { trackingOps } from '../tracking-ops.js';

const fx = (await loadFixture(fixturePath('text-encoder-clip-tiny'))) as ComponentFixture;
const tensors = await readSafetensors(await fx.source.fetchFile(fx.weights));
const config = parseCLIPTextConfig(fx.config, 'text_encoder/config.json');
const V = config.vocabSize;
const D = config.hiddenSize;
const TABLE = 'text_model.embeddings.token_embedding.weight';

/** Three added vectors, distinct from every base row. */
const extra = Float32Array.from({ length: 3 * D }, (_, i) => Math.sin(i + 1) * 0.5);

/** The checkpoint with its token table replaced by `table` ([vocab, D]). */
function dict(table?: Float32Array): StateDict {
  const list: SafetensorsTensor[] = [...tensors.values()].map((t) => (t.name === TABLE && table ? { ...t, shape: [table.length / D, D], data: table } : t));
  return new StateDict(list, 'text_encoder/model.safetensors');
}

/** Two rows of 77 ids: added ids among ordinary ones (first, in the middle, repeated), and a row without any. */
function ids(): Int32Array {
  const out = new Int32Array(2 * 77).fill(49407);
  out.set([49406, 320, V, V + 1, 1125, V + 2, V, 49407], 0);
  out.set([49406, 320, 1125, 539, 49407], 77);
  return out;
}

describe('AddedTokenEmbeddings with CLIPTextModel', () => {
  it("gives exactly what transformers' resized token table gives, leaking nothing", async () => {
    const { ops, live } = trackingOps();
    const base = CLIPTextModel.load(ops, config, dict());
    const table = new Float32Array((V + 3) * D);
    table.set(tensors.get(TABLE)!.data as Float32Array);
    table.set(extra, V * D);
    const resized = CLIPTextModel.load(ops, { ...config, vocabSize: V + 3 }, dict(table));
    const added = AddedTokenEmbeddings.upload(ops, V, extra, D);
    const before = live.size;

    const got = base.forward(ids(), [2, 77], { addedTokens: added });
    const want = resized.forward(ids(), [2, 77]);
    expect(Array.from(await ops.read(got.lastHiddenState))).toEqual(Array.from(await ops.read(want.lastHiddenState)));
    const penultimate = base.forwardPenultimate(ids(), [2, 77], { addedTokens: added });
    const wantPenultimate = resized.forwardPenultimate(ids(), [2, 77]);
    expect(Array.from(await ops.read(penultimate))).toEqual(Array.from(await ops.read(wantPenultimate)));
    for (const t of [got.lastHiddenState, got.poolerOutput, want.lastHiddenState, want.poolerOutput, penultimate, wantPenultimate]) ops.release(t);
    expect(live.size).toBe(before);

    // Without the added rows the same ids are refused.
    expect(() => base.forward(ids(), [2, 77])).toThrow(/token id 49408 is outside the vocabulary/);
    added.release();
    base.release();
    resized.release();
    expect(live.size).toBe(0);
  });

  it('takes the plain gather when no id is added, and knows its ids', async () => {
    const { ops } = trackingOps();
    const base = CLIPTextModel.load(ops, config, dict());
    const added = AddedTokenEmbeddings.upload(ops, V, extra, D);
    const plain = Int32Array.from(ids().subarray(77));
    const a = base.forwardPenultimate(plain, [1, 77], { addedTokens: added });
    const b = base.forwardPenultimate(plain, [1, 77]);
    expect(Array.from(await ops.read(a))).toEqual(Array.from(await ops.read(b)));
    expect([V - 1, V, V + 2, V + 3].map((id) => added.has(id))).toEqual([false, true, true, false]);
  });

  it('refuses ids past the added rows, rows that do not follow the vocabulary, and vectors of another width', () => {
    const { ops } = trackingOps();
    const base = CLIPTextModel.load(ops, config, dict());
    const added = AddedTokenEmbeddings.upload(ops, V, extra, D);
    const past = ids();
    past[3] = V + 3;
    expect(() => base.forward(past, [2, 77], { addedTokens: added })).toThrow(ModelInputError);
    const late = AddedTokenEmbeddings.upload(ops, V + 1, extra, D);
    expect(() => base.forward(ids(), [2, 77], { addedTokens: late })).toThrow(/tokenizer and text encoder disagree/);
    const narrow = AddedTokenEmbeddings.upload(ops, V, extra, D / 2);
    expect(() => base.forward(ids(), [2, 77], { addedTokens: narrow as AddedTokenEmbeddings<CpuTensor> })).toThrow(/hidden size/);
    expect(() => AddedTokenEmbeddings.upload(ops, V, new Float32Array(D + 1), D)).toThrow(ModelInputError);
    expect(() => AddedTokenEmbeddings.upload(ops, V, new Float32Array(0), D)).toThrow(ModelInputError);
    expect(() => AddedTokenEmbeddings.upload(ops, -1, extra, D)).toThrow(ModelInputError);
  });
});
