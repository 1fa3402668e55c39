import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionEngine, EmbeddingFileError } from '../../../src/index.js';
import { DiffusersRepo } from '../../../src/io/diffusers-repo.js';
import { readSafetensors } from '../../../src/io/safetensors.js';
import { LocalFolderSource } from '../../../src/io/sources/local-folder-source.js';
import { StateDict } from '../../../src/io/state-dict.js';
import { AddedTokenEmbeddings } from '../../../src/models/clip/added-token-embeddings.js';
import { CLIPTextModel } from '../../../src/models/clip/clip-text-model.js';
import type { TextualInversionTokens } from '../../../src/models/textual-inversion/add-tokens.js';
import { maybeConvertPrompt } from '../../../src/models/textual-inversion/convert-prompt.js';
import { COMPONENTS } from '../../../src/models/registry.js';
import { readTextSide, type TextPair } from '../../../src/pipelines/text-side.js';
import { readTextualInversions } from '../../../src/pipelines/textual-inversion.js';
import { compareTensors, formatComparison } from '../../../tools/verify/compare.js';
import { CpuOps } from '../../helpers/cpu-ops.js';
import { fixturePath } from '../../helpers/fixtures.js';
import { randomNormal } from '../../helpers/rng.js';
import { buildSafetensors, f32Bytes } from '../../unit/io/build-safetensors.js';

// An SDXL embedding file (clip_l, clip_g) loaded through DiffusionEngine's `embeddings` config on
// pipeline-sdxl-tiny: the prompt and the negative prompt with its token are encoded by both
// encoders with the file's vectors, as the float64 CPU reference encodes them.

const MODEL = fixturePath('pipeline-sdxl-tiny');
const source = new LocalFolderSource(MODEL);
const repo = await DiffusersRepo.open(source);
const base = await readTextSide(repo, source, COMPONENTS.unet.parseConfig(await repo.readConfig('unet'), 'unet/config.json'));
const D1 = base.first.config.hiddenSize;
const D2 = base.second!.config.hiddenSize;
const N = 3;
/** The token is the file's name, as for Civitai's files. */
const TOKEN = 'xl-style';
const clipL = randomNormal(N * D1, 7, 0.5);
const clipG = randomNormal(N * D2, 8, 0.5);
const bytes = buildSafetensors([
  { name: 'clip_l', dtype: 'F32', shape: [N, D1], bytes: f32Bytes(Array.from(clipL)) },
  { name: 'clip_g', dtype: 'F32', shape: [N, D2], bytes: f32Bytes(Array.from(clipG)) },
]);

const PROMPT = `a watercolor of a fox, ${TOKEN}`;
const NEGATIVE = `blurry ${TOKEN}`;

/** Rows [n, 77, D1 + D2] and pooled [n, P] of `prompts` on the CPU reference: each encoder with its added rows. */
async function reference(prompts: string[]): Promise<{ embeds: Float32Array; pooled: Float32Array }> {
  const { text, tokens, tokens2 } = await readTextualInversions(base, [{ source: bytes, file: `${TOKEN}.safetensors` }]);
  const ops = new CpuOps();
  const run = async (pair: TextPair, folder: string, t: TextualInversionTokens) => {
    const tensors = [...(await readSafetensors(await source.fetchFile(`${folder}/model.safetensors`))).values()];
    const model = CLIPTextModel.load(ops, pair.config, new StateDict(tensors, `${folder}/model.safetensors`));
    const ids = pair.tokenizer.call(prompts.map((p) => maybeConvertPrompt(p, pair.tokenizer)));
    const out = model.forward(ids, [prompts.length, 77], { penultimate: true, addedTokens: AddedTokenEmbeddings.upload(ops, t.firstId, t.vectors, t.hiddenSize) });
    return { hidden: await ops.read(out.penultimateHiddenState), pooled: out.textEmbeds ? await ops.read(out.textEmbeds) : null };
  };
  const a = await run(text.first, 'text_encoder', tokens!);
  const b = await run(text.second!, 'text_encoder_2', tokens2!);
  const rows = prompts.length * 77;
  const embeds = new Float32Array(rows * (D1 + D2));
  for (let r = 0; r < rows; r++) {
    embeds.set(a.hidden.subarray(r * D1, (r + 1) * D1), r * (D1 + D2));
    embeds.set(b.hidden.subarray(r * D2, (r + 1) * D2), r * (D1 + D2) + D1);
  }
  return { embeds, pooled: Float32Array.from(b.pooled!) };
}

describe('SDXL textual-inversion embeddings through DiffusionEngine (webgpu, Dawn, pipeline-sdxl-tiny)', () => {
  let dir: string;
  let engine: DiffusionEngine;
  let plain: DiffusionEngine;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sdxl-ti-'));
    await writeFile(join(dir, `${TOKEN}.safetensors`), bytes);
    engine = await DiffusionEngine.create({ modelNameOrPath: MODEL, dtype: 'f32', gpuLimits: 'default', embeddings: [{ source: join(dir, `${TOKEN}.safetensors`) }] });
    plain = await DiffusionEngine.create({ modelNameOrPath: MODEL, dtype: 'f32', gpuLimits: 'default' });
  }, 120_000);

  afterAll(async () => {
    await engine?.close();
    await plain?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('encodes the prompt and the negative prompt with the token as the CPU reference does, in both encoders', async () => {
    const out = await engine.generate({ prompt: PROMPT, negativePrompt: NEGATIVE, guidanceScale: 2, numInferenceSteps: 1, seed: 1, returnIntermediates: true });
    expect(out.error).toBeNull();
    const got = out.intermediates!;
    // Both tokenizers got the token's three ids after their vocabularies, in both rows.
    for (const [ids, pair] of [
      [got.inputIds, base.first],
      [got.inputIds2!, base.second!],
    ] as const) {
      const V = pair.config.vocabSize;
      expect(Array.from(ids).filter((id) => id >= V)).toEqual([V, V + 1, V + 2, V, V + 1, V + 2]);
    }
    const want = await reference([NEGATIVE, PROMPT]);
    const half = 77 * (D1 + D2);
    const P = want.pooled.length / 2;
    const tolerance = { maxAbs: 1e-4, maxRelL2: 1e-4 };
    for (const [name, actual, expected] of [
      ['negative_prompt_embeds', got.negativePromptEmbeds!, want.embeds.subarray(0, half)],
      ['prompt_embeds', got.promptEmbeds, want.embeds.subarray(half)],
      ['negative_pooled_prompt_embeds', got.negativePooledPromptEmbeds!, want.pooled.subarray(0, P)],
      ['pooled_prompt_embeds', got.pooledPromptEmbeds!, want.pooled.subarray(P)],
    ] as const) {
      const r = compareTensors(name, actual, expected, tolerance);
      console.log(formatComparison(r));
      expect(r.pass, formatComparison(r)).toBe(true);
    }
  }, 120_000);

  it('differs from the model without the embedding, for the prompt and the negative prompt', async () => {
    const job = { prompt: PROMPT, negativePrompt: NEGATIVE, guidanceScale: 2, numInferenceSteps: 1, seed: 1, returnIntermediates: true };
    const [a, b] = [await engine.generate(job), await plain.generate(job)];
    const differs = (x: Float32Array, y: Float32Array) => x.length !== y.length || x.some((v, i) => Math.abs(v - y[i]!) > 1e-3);
    expect(differs(a.intermediates!.promptEmbeds, b.intermediates!.promptEmbeds)).toBe(true);
    expect(differs(a.intermediates!.negativePromptEmbeds!, b.intermediates!.negativePromptEmbeds!)).toBe(true);
    expect(differs(a.intermediates!.unetOutputs[0]!, b.intermediates!.unetOutputs[0]!)).toBe(true);
    // A prompt without the token is untouched by it.
    const none = { prompt: 'a watercolor of a fox', guidanceScale: 1, numInferenceSteps: 1, seed: 1, returnIntermediates: true };
    expect(Array.from((await engine.generate(none)).intermediates!.promptEmbeds)).toEqual(Array.from((await plain.generate(none)).intermediates!.promptEmbeds));
  }, 120_000);

  it('refuses an SDXL file on a one-encoder model, and a one-encoder file on SDXL, at load', async () => {
    const onSd15 = DiffusionEngine.create({ modelNameOrPath: fixturePath('pipeline-sd15-tiny'), dtype: 'f32', gpuLimits: 'default', embeddings: [{ source: join(dir, `${TOKEN}.safetensors`) }] });
    await expect(onSd15).rejects.toBeInstanceOf(EmbeddingFileError);
    await expect(onSd15).rejects.toThrow(/fits SDXL models/);
    await writeFile(join(dir, 'one.safetensors'), buildSafetensors([{ name: 'emb_params', dtype: 'F32', shape: [1, D1], bytes: f32Bytes(Array.from(clipL.subarray(0, D1))) }]));
    const onSdxl = DiffusionEngine.create({ modelNameOrPath: MODEL, dtype: 'f32', gpuLimits: 'default', embeddings: [{ source: join(dir, 'one.safetensors') }] });
    await expect(onSdxl).rejects.toBeInstanceOf(EmbeddingFileError);
    await expect(onSdxl).rejects.toThrow(/this model is SDXL/);
  }, 60_000);
});
