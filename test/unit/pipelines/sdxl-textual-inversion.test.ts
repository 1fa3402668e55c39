import { describe, expect, it } from 'vitest';
import { DiffusersRepo } from '../../../src/io/diffusers-repo.js';
import { readSafetensors, type SafetensorsTensor } from '../../../src/io/safetensors.js';
import { LocalFolderSource } from '../../../src/io/sources/local-folder-source.js';
import { StateDict } from '../../../src/io/state-dict.js';
import { AddedTokenEmbeddings } from '../../../src/models/clip/added-token-embeddings.js';
import { CLIPTextModel } from '../../../src/models/clip/clip-text-model.js';
import type { TextualInversionTokens } from '../../../src/models/textual-inversion/add-tokens.js';
import { maybeConvertPrompt } from '../../../src/models/textual-inversion/convert-prompt.js';
import { COMPONENTS } from '../../../src/models/registry.js';
import { readTextSide, type TextPair } from '../../../src/pipelines/text-side.js';
import type { TextToImageJob } from '../../../src/pipelines/text-to-image.js';
import { convertingPrompts, readTextualInversions } from '../../../src/pipelines/textual-inversion.js';
import { CpuOps, type CpuTensor } from '../../helpers/cpu-ops.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { errorStats, randomNormal } from '../../helpers/rng.js';
import { buildSafetensors, f32Bytes } from '../io/build-safetensors.js';

// An SDXL embedding on pipeline-sdxl-tiny's two text encoders, on the float64 CPU reference,
// against an independent path: each encoder's weights copied with the token-embedding rows of
// two real words overwritten by the file's vectors, and the prompt written with those words.
// Same ids at the same places, same rows: the hidden states (and text_encoder_2's pooled
// projection, taken at EOS) must agree.

const MODEL = 'pipeline-sdxl-tiny';
const source = new LocalFolderSource(fixturePath(MODEL));
const repo = await DiffusersRepo.open(source);
const unet = COMPONENTS.unet.parseConfig(await repo.readConfig('unet'), `${MODEL}/unet/config.json`);
const base = await readTextSide(repo, source, unet);
const second = base.second!;

const N = 2;
const TOKEN = '<xl-style>';
/** Real words standing in for the token's two vectors in the independent path. */
const STAND_INS = ['zebra', 'violin'];
const PROMPT = `a photo of ${TOKEN} on a table, ${TOKEN}`;
const PLAIN = `a photo of ${STAND_INS.join(' ')} on a table, ${STAND_INS.join(' ')}`;

const clipL = randomNormal(N * base.first.config.hiddenSize, 101, 0.5);
const clipG = randomNormal(N * second.config.hiddenSize, 202, 0.5);
const file = buildSafetensors([
  { name: 'clip_l', dtype: 'F32', shape: [N, base.first.config.hiddenSize], bytes: f32Bytes(Array.from(clipL)) },
  { name: 'clip_g', dtype: 'F32', shape: [N, second.config.hiddenSize], bytes: f32Bytes(Array.from(clipG)) },
]);
const loaded = await readTextualInversions(base, [{ source: file, file: 'xl-style.safetensors', token: TOKEN }]);

async function weights(folder: string): Promise<SafetensorsTensor[]> {
  return [...(await readSafetensors(await source.fetchFile(`${folder}/model.safetensors`))).values()];
}

/** `tensors` with the token-embedding rows of `ids` replaced by `vectors` (row k for ids[k]). */
function withRows(tensors: SafetensorsTensor[], ids: readonly number[], vectors: Float32Array, hidden: number): SafetensorsTensor[] {
  return tensors.map((t) => {
    if (!t.name.endsWith('embeddings.token_embedding.weight')) return t;
    const data = Float32Array.from(t.data as Float32Array);
    ids.forEach((id, k) => data.set(vectors.subarray(k * hidden, (k + 1) * hidden), id * hidden));
    return { ...t, data };
  });
}

interface Case {
  name: string;
  folder: string;
  plain: TextPair;
  withTokens: TextPair;
  tokens: TextualInversionTokens;
  vectors: Float32Array;
}

const cases: Case[] = [
  { name: 'text_encoder (clip_l)', folder: 'text_encoder', plain: base.first, withTokens: loaded.text.first, tokens: loaded.tokens!, vectors: clipL },
  { name: 'text_encoder_2 (clip_g)', folder: 'text_encoder_2', plain: second, withTokens: loaded.text.second!, tokens: loaded.tokens2!, vectors: clipG },
];

describe('SDXL textual inversion on pipeline-sdxl-tiny (float64 CPU reference)', () => {
  it.each(cases)('$name: the prompt with the token encodes as the encoder whose rows hold the vectors', async (c) => {
    const ops = new CpuOps();
    const hidden = c.plain.config.hiddenSize;
    const V = c.plain.config.vocabSize;
    // Each stand-in is one real token, and the plain tokenizer makes the same ids with them where
    // the token's ids are, so the two paths differ only in where the rows come from.
    const eos = c.plain.tokenizer.call([''])[1]!;
    const standIn = STAND_INS.map((w) => {
      const [, id, end] = c.plain.tokenizer.call([w]);
      expect(end, `${w} is one token`).toBe(eos);
      return id!;
    });
    const converted = maybeConvertPrompt(PROMPT, c.withTokens.tokenizer);
    expect(converted).toBe(`a photo of ${TOKEN} ${TOKEN}_1 on a table, ${TOKEN} ${TOKEN}_1`);
    const ids = c.withTokens.tokenizer.call([converted]);
    const plainIds = c.plain.tokenizer.call([PLAIN]);
    expect(Array.from(ids)).toEqual(Array.from(plainIds, (id) => (id === standIn[0] ? V : id === standIn[1] ? V + 1 : id)));
    expect(Array.from(ids).filter((id) => id >= V)).toEqual([V, V + 1, V, V + 1]);

    const tensors = await weights(c.folder);
    const model = CLIPTextModel.load(ops, c.plain.config, new StateDict(tensors, `${c.folder}/model.safetensors`));
    const reference = CLIPTextModel.load(ops, c.plain.config, new StateDict(withRows(tensors, standIn, c.vectors, hidden), `${c.folder}/model.safetensors`));
    const added = AddedTokenEmbeddings.upload(ops, c.tokens.firstId, c.tokens.vectors, c.tokens.hiddenSize);
    const got = model.forward(ids, [1, 77], { addedTokens: added, penultimate: true });
    const want = reference.forward(plainIds, [1, 77], { penultimate: true });
    const pairs: [string, CpuTensor | undefined, CpuTensor | undefined][] = [
      ['hidden_states[-2]', got.penultimateHiddenState, want.penultimateHiddenState],
      ['last_hidden_state', got.lastHiddenState, want.lastHiddenState],
      ['pooler_output', got.poolerOutput, want.poolerOutput],
      ['text_embeds', got.textEmbeds, want.textEmbeds],
    ];
    for (const [what, a, b] of pairs) {
      if (what === 'text_embeds' && !c.plain.config.withProjection) continue;
      const { maxAbs, relL2 } = errorStats(await ops.read(a!), await ops.read(b!));
      console.log(`${c.name} ${what}: max_abs ${maxAbs.toExponential(2)} rel_l2 ${relL2.toExponential(2)}`);
      expect(maxAbs, what).toBeLessThan(1e-9);
    }
    // The vectors matter: without them (zeros in their place) the states differ.
    const zeros = AddedTokenEmbeddings.upload(ops, c.tokens.firstId, new Float32Array(c.tokens.vectors.length), hidden);
    const off = model.forwardPenultimate(ids, [1, 77], { addedTokens: zeros });
    expect(errorStats(await ops.read(off), await ops.read(want.penultimateHiddenState!)).maxAbs).toBeGreaterThan(1e-3);
  });

  it('text_encoder_2 pools at EOS, not at the added token (legacy eos_token_id 2: argmax of the ids)', async () => {
    expect(second.config.eosTokenId).toBe(2);
    const ops = new CpuOps();
    const c = cases[1]!;
    const ids = c.withTokens.tokenizer.call([maybeConvertPrompt(PROMPT, c.withTokens.tokenizer)]);
    const model = CLIPTextModel.load(ops, c.plain.config, new StateDict(await weights(c.folder), `${c.folder}/model.safetensors`));
    const added = AddedTokenEmbeddings.upload(ops, c.tokens.firstId, c.tokens.vectors, c.tokens.hiddenSize);
    const out = model.forward(ids, [1, 77], { addedTokens: added });
    const eos = Array.from(ids).indexOf(c.plain.tokenizer.call([''])[1]!);
    const H = c.plain.config.hiddenSize;
    const last = await ops.read(out.lastHiddenState);
    expect(Array.from(await ops.read(out.poolerOutput))).toEqual(Array.from(last.subarray(eos * H, (eos + 1) * H)));
  });

  it('converts prompt2 and negativePrompt2 with tokenizer_2, the prompt and negative prompt with tokenizer', async () => {
    let seen: TextToImageJob | null = null;
    // Only tokenizer_2 knows the token here, so each prompt shows which tokenizer converted it.
    const encode = convertingPrompts<null>(
      (job) => {
        seen = job;
        return Promise.reject(new Error('not encoded'));
      },
      base.first.tokenizer,
      loaded.text.second!.tokenizer,
    );
    const job = { prompt: `p ${TOKEN}`, negativePrompt: `n ${TOKEN}`, prompt2: `p2 ${TOKEN}`, negativePrompt2: `n2 ${TOKEN}` } as TextToImageJob;
    await expect(encode(job, true)).rejects.toThrow('not encoded');
    expect(seen).toMatchObject({ prompt: `p ${TOKEN}`, negativePrompt: `n ${TOKEN}`, prompt2: `p2 ${TOKEN} ${TOKEN}_1`, negativePrompt2: `n2 ${TOKEN} ${TOKEN}_1` });
    await expect(encode({ ...job, prompt2: null }, true)).rejects.toThrow('not encoded');
    expect(seen).toMatchObject({ prompt2: null });
  });
});
