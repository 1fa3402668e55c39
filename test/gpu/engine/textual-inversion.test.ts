import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionEngine, EmbeddingFileError, EmbeddingPickleError } from '../../../src/index.js';
import { LocalFolderSource } from '../../../src/io/sources/local-folder-source.js';
import { compareTensors, formatComparison } from '../../../tools/verify/compare.js';
import { F16_ACTIVATIONS_TOLERANCE } from '../../../tools/verify/components.js';
import { findFixtures, loadFixture } from '../../../tools/verify/fixture/fixture.js';
import type { TextualInversionFixture } from '../../../tools/verify/fixture/textual-inversion.js';
import { fixtureKind } from '../../helpers/fixture-kind.js';
import { fixturePath, fixturesDir } from '../../helpers/fixtures.js';

/** The first `textual_inversion` fixture under community/, found by kind. */
async function tiFixture(): Promise<TextualInversionFixture> {
  for (const path of await findFixtures(join(fixturesDir(), 'community'))) {
    if ((await fixtureKind(path)) === 'textual_inversion') return (await loadFixture(path)) as TextualInversionFixture;
  }
  throw new Error('no textual_inversion fixture under community/');
}

const fx = await tiFixture();
const io = await fx.readIo();
const dir = (fx.source as LocalFolderSource).dir;
const baseDir = (fx.baseSource as LocalFolderSource).dir;
const a1111 = join(dir, fx.embeddingFiles['a1111']!);
const diffusers = join(dir, fx.embeddingFiles['diffusers']!);

describe('textual-inversion embeddings through DiffusionEngine (webgpu, Dawn, the fixture’s base)', () => {
  let engine: DiffusionEngine;

  beforeAll(async () => {
    // The A1111 file by path, under the fixture's token.
    engine = await DiffusionEngine.create({ modelNameOrPath: baseDir, dtype: 'f32', gpuLimits: 'default', embeddings: [{ source: a1111, token: fx.token }] });
  });

  afterAll(async () => {
    await engine.close();
  });

  it.each(fx.cases.map((c, i) => ({ name: `cases[${i}]`, c })))('$name: the prompt and the negative prompt get the fixture’s ids and prompt_embeds', async ({ c }) => {
    const out = await engine.generate({ prompt: c.prompt, negativePrompt: c.prompt, guidanceScale: 2, numInferenceSteps: 1, seed: 1, returnIntermediates: true });
    const got = out.intermediates!;
    const ids = Array.from(io.get(c.inputIds)!.data);
    expect(Array.from(got.inputIds)).toEqual([...ids, ...ids]);
    const expected = io.get(c.promptEmbeds)!.data;
    for (const [name, actual] of [
      ['prompt_embeds', got.promptEmbeds],
      ['negative_prompt_embeds', got.negativePromptEmbeds!],
    ] as const) {
      const r = compareTensors(`${c.promptEmbeds} (${name})`, actual, expected, fx.tolerance);
      console.log(formatComparison(r));
      expect(r.pass, formatComparison(r)).toBe(true);
    }
  }, 60_000);

  it('loads a diffusers file given as a File, under the token its key names', async () => {
    const file = new File([await readFile(diffusers)], 'learned_embeds.safetensors');
    const other = await DiffusionEngine.create({ modelNameOrPath: baseDir, dtype: 'f32', gpuLimits: 'default', embeddings: [{ source: file }] });
    try {
      const c = fx.cases[0]!;
      const out = await other.generate({ prompt: c.prompt, guidanceScale: 1, numInferenceSteps: 1, seed: 1, returnIntermediates: true });
      const r = compareTensors(c.promptEmbeds, out.intermediates!.promptEmbeds, io.get(c.promptEmbeds)!.data, fx.tolerance);
      expect(r.pass, formatComparison(r)).toBe(true);
    } finally {
      await other.close();
    }
  }, 60_000);

  it('works with float16 weights and activations too (the added rows stay f32 beside an f16 table)', async () => {
    const half = await DiffusionEngine.create({ modelNameOrPath: baseDir, dtype: 'f16', gpuLimits: 'default', embeddings: [{ source: a1111, token: fx.token }] });
    try {
      const c = fx.cases.find((x) => x.ids.some((id) => id >= fx.vocabSizeBefore))!;
      const out = await half.generate({ prompt: c.prompt, guidanceScale: 1, numInferenceSteps: 1, seed: 1, returnIntermediates: true });
      // f16 storage rounds every intermediate to 11 bits: the bound components.ts holds f16 activations to.
      const r = compareTensors(`${c.promptEmbeds} (f16)`, out.intermediates!.promptEmbeds, io.get(c.promptEmbeds)!.data, F16_ACTIVATIONS_TOLERANCE);
      console.log(formatComparison(r));
      expect(r.pass, formatComparison(r)).toBe(true);
    } finally {
      await half.close();
    }
  }, 60_000);

  it('refuses a pickle at load, and a one-encoder file on SDXL, with typed errors', async () => {
    const pickle = DiffusionEngine.create({ modelNameOrPath: baseDir, dtype: 'f32', gpuLimits: 'default', embeddings: [{ source: join(dir, 'my-style.pt') }] });
    await expect(pickle).rejects.toBeInstanceOf(EmbeddingPickleError);
    const sdxl = DiffusionEngine.create({ modelNameOrPath: fixturePath('pipeline-sdxl-tiny'), dtype: 'f32', gpuLimits: 'default', embeddings: [{ source: a1111 }] });
    await expect(sdxl).rejects.toBeInstanceOf(EmbeddingFileError);
    await expect(sdxl).rejects.toThrow(/SDXL/);
  }, 60_000);
});
