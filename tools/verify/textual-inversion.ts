import type { TensorLike, TensorOps } from '../../src/webgpu/kernels/ops.js';
import { DiffusersRepo } from '../../src/io/diffusers-repo.js';
import { FixtureError } from '../../src/io/errors.js';
import { AddedTokenEmbeddings } from '../../src/models/clip/added-token-embeddings.js';
import type { CLIPTextModel } from '../../src/models/clip/clip-text-model.js';
import { streamStateDictToDevice } from '../../src/models/device-state-dict.js';
import { COMPONENTS } from '../../src/models/registry.js';
import { addTextualInversionTokens } from '../../src/models/textual-inversion/add-tokens.js';
import { maybeConvertPrompt } from '../../src/models/textual-inversion/convert-prompt.js';
import { readEmbeddingFile } from '../../src/models/textual-inversion/embedding-file.js';
import type { CLIPTokenizer } from '../../src/models/tokenizer/clip-tokenizer.js';
import { loadCLIPTokenizer } from '../../src/models/tokenizer/load.js';
import { compareTensors, type CompareResult } from './compare.js';
import type { FixtureTensor } from './fixture/fixture.js';
import type { TextualInversionFixture } from './fixture/textual-inversion.js';

/** Exact checks: `maxAbs` counts what differs. */
const EXACT = { maxAbs: 0, maxRelL2: 0 };

/**
 * Runs a `textual_inversion` fixture on `ops`: loads the base pipeline's tokenizer and text
 * encoder, then each embedding file in turn (the A1111 one under the fixture's `token`, the
 * diffusers one under the token its key names), and checks, exactly, the token and number of
 * vectors the file gives, the ids the added tokens get, the stored vectors, and per case the
 * converted prompt, the ids (with and without the embedding) and the padded `input_ids`; and
 * `prompt_embeds` within the fixture's tolerance. Result names start with the file's format.
 */
export async function runTextualInversionFixture<T extends TensorLike>(fx: TextualInversionFixture, ops: TensorOps<T>): Promise<CompareResult[]> {
  const io = await fx.readIo();
  const tensor = (name: string): FixtureTensor => {
    const t = io.get(name);
    if (!t) throw new FixtureError(fx.file, 'inputs', `"${name}" is not in io.safetensors`);
    return t;
  };
  const repo = await DiffusersRepo.open(fx.baseSource);
  const baseTokenizer = await loadCLIPTokenizer(fx.baseSource, 'tokenizer');
  const config = COMPONENTS.text_encoder.parseConfig(await repo.readConfig('text_encoder'), `${fx.baseSource.id}/text_encoder/config.json`);
  const { path, file } = await repo.openWeights('text_encoder');
  const dict = await streamStateDictToDevice(ops, file, { file: `${fx.baseSource.id}/${path}`, dtype: 'f32' });
  const model = ((): CLIPTextModel<T> => {
    try {
      return COMPONENTS.text_encoder.load(ops, config, dict, { dtype: 'f32' });
    } finally {
      // Uploads the model did not take (the ignored `position_ids`), or all when building failed.
      dict.releaseUntaken();
    }
  })();
  const results: CompareResult[] = [];
  try {
    for (const [format, name] of Object.entries(fx.embeddingFiles)) {
      const bytes = await fx.source.fetchFile(name);
      // A diffusers file names its token (its key); the others hold none (it would be the file name).
      const embedding = await readEmbeddingFile(bytes, { file: `${fx.source.id}/${name}`, hiddenSize: config.hiddenSize, ...(format === 'diffusers' ? {} : { token: fx.token }) });
      results.push(exact(`${format}: token ${JSON.stringify(embedding.token)}`, embedding.token === fx.token ? 0 : 1));
      results.push(exact(`${format}: num_vectors ${embedding.numVectors}`, Math.abs(embedding.numVectors - fx.numVectors)));
      results.push(compareTensors(`${format}: embedding_vectors`, embedding.vectors, tensor('embedding_vectors').data, EXACT));
      const loaded = addTextualInversionTokens(baseTokenizer, [embedding], config.hiddenSize);
      const ids = Object.fromEntries(loaded.tokenizer.addedTokens.entries());
      const idMismatches = Object.keys({ ...ids, ...fx.addedTokens }).filter((t) => ids[t] !== fx.addedTokens[t]).length;
      results.push(exact(`${format}: added_tokens`, idMismatches + (loaded.firstId === fx.vocabSizeBefore ? 0 : 1)));
      const added = AddedTokenEmbeddings.upload(ops, loaded.firstId, loaded.vectors, loaded.hiddenSize);
      try {
        for (const [i, c] of fx.cases.entries()) {
          results.push(...(await runCase(fx, `${format}: cases[${i}]`, c, { ops, baseTokenizer, tokenizer: loaded.tokenizer, model, added, tensor })));
        }
      } finally {
        added.release();
      }
    }
  } finally {
    model.release();
  }
  return results;
}

interface CaseContext<T extends TensorLike> {
  ops: TensorOps<T>;
  baseTokenizer: CLIPTokenizer;
  tokenizer: CLIPTokenizer;
  model: CLIPTextModel<T>;
  added: AddedTokenEmbeddings<T>;
  tensor: (name: string) => FixtureTensor;
}

/** One prompt: its conversion, its ids three ways, and its embeddings. */
async function runCase<T extends TensorLike>(
  fx: TextualInversionFixture,
  label: string,
  c: TextualInversionFixture['cases'][number],
  ctx: CaseContext<T>,
): Promise<CompareResult[]> {
  const converted = maybeConvertPrompt(c.prompt, ctx.tokenizer);
  const withSpecials = (t: CLIPTokenizer, text: string): number[] => [t.bosTokenId, ...t.encode(text), t.eosTokenId];
  const expectedRow = ctx.tensor(c.inputIds);
  const row = ctx.tokenizer.call([converted]);
  if (expectedRow.data.length !== row.length) throw new FixtureError(fx.file, `cases.${c.inputIds}`, `holds ${expectedRow.data.length} ids; the tokenizer makes rows of ${row.length}`);
  const expectedEmbeds = ctx.tensor(c.promptEmbeds);
  const out = ctx.model.forward(row, [1, row.length], { addedTokens: ctx.added });
  ctx.ops.release(out.poolerOutput);
  const embeds = await ctx.ops.read(out.lastHiddenState);
  ctx.ops.release(out.lastHiddenState);
  return [
    exact(`${label} converted_prompt`, converted === c.convertedPrompt ? 0 : 1),
    exact(`${label} ids`, mismatches(withSpecials(ctx.tokenizer, converted), c.ids)),
    exact(`${label} ids_without_embedding`, mismatches(withSpecials(ctx.baseTokenizer, c.prompt), c.idsWithoutEmbedding)),
    exact(`${label} ${c.inputIds}`, mismatches(row, Array.from(expectedRow.data))),
    compareTensors(`${label} ${c.promptEmbeds}`, embeds, expectedEmbeds.data, fx.tolerance),
  ];
}

function exact(name: string, wrong: number): CompareResult {
  return { name, maxAbs: wrong, relL2: wrong, tolerance: EXACT, pass: wrong === 0 };
}

/** How many ids differ (a length difference counts as differences). */
function mismatches(actual: ArrayLike<number>, expected: readonly number[]): number {
  let n = Math.abs(actual.length - expected.length);
  for (let i = 0; i < Math.min(actual.length, expected.length); i++) if (actual[i] !== expected[i]) n++;
  return n;
}
