import type { TensorLike, TensorOps } from '../../src/webgpu/kernels/ops.js';
import { DiffusersRepo } from '../../src/io/diffusers-repo.js';
import { FixtureError } from '../../src/io/errors.js';
import type { CLIPTextModel } from '../../src/models/clip/clip-text-model.js';
import { streamStateDictToDevice } from '../../src/models/device-state-dict.js';
import { COMPONENTS } from '../../src/models/registry.js';
import type { CLIPTokenizer } from '../../src/models/tokenizer/clip-tokenizer.js';
import { loadCLIPTokenizer } from '../../src/models/tokenizer/load.js';
import { parsePromptAttention, PROMPT_BREAK, PromptWeightSyntaxError, type PromptPiece, type WeightedText } from '../../src/pipelines/prompt-weighting/parse-attention.js';
import { encodeWeightedPrompts } from '../../src/pipelines/prompt-weighting/weighted-prompts.js';
import type { WeightedTokens } from '../../src/pipelines/prompt-weighting/weighted-tokens.js';
import { compareTensors, type CompareResult, type CompareTolerance } from './compare.js';
import type { FixtureTensor } from './fixture/fixture.js';
import type { PromptWeightingCase, PromptWeightingFixture, WeightedPromptExpectation } from './fixture/prompt-weighting.js';

/** Exact checks: `maxAbs` counts what differs. */
const EXACT = { maxAbs: 0, maxRelL2: 0 };

/**
 * Runs a `prompt_weighting` fixture on `ops` through the pipeline's own code
 * (`parsePromptAttention`, `encodeWeightedPrompts`) with the base pipeline's tokenizer and text
 * encoder: the parse cases (a `null` parse must be `PromptWeightSyntaxError`), and per case,
 * for the prompt and the negative prompt encoded in one batch as the pipeline encodes them, the
 * parsed pieces, token ids and weights, the window count and windows, the position weights, the
 * unweighted and weighted embeddings and the restoring factor. Ids and texts exactly, weights
 * to `weights_max_abs`, embeddings (and the factor, derived from them) to the tolerance.
 */
export async function runPromptWeightingFixture<T extends TensorLike>(fx: PromptWeightingFixture, ops: TensorOps<T>): Promise<CompareResult[]> {
  const io = await fx.readIo();
  const tensor = (name: string): FixtureTensor => {
    const t = io.get(name);
    if (!t) throw new FixtureError(fx.file, 'inputs', `"${name}" is not in io.safetensors`);
    return t;
  };
  const results = fx.parseCases.map((c, i) => parseCase(`parse_cases[${i}]`, c.text, c.parsed, fx.tolerance.weightsMaxAbs));
  const tokenizer = await loadCLIPTokenizer(fx.baseSource, 'tokenizer');
  const model = await loadTextEncoder(fx, ops);
  try {
    for (const [i, c] of fx.cases.entries()) results.push(...(await runCase(fx, `cases[${i}]`, c, { ops, tokenizer, model, tensor })));
  } finally {
    model.release();
  }
  return results;
}

async function loadTextEncoder<T extends TensorLike>(fx: PromptWeightingFixture, ops: TensorOps<T>): Promise<CLIPTextModel<T>> {
  const repo = await DiffusersRepo.open(fx.baseSource);
  const config = COMPONENTS.text_encoder.parseConfig(await repo.readConfig('text_encoder'), `${fx.baseSource.id}/text_encoder/config.json`);
  const { path, file } = await repo.openWeights('text_encoder');
  const dict = await streamStateDictToDevice(ops, file, { file: `${fx.baseSource.id}/${path}`, dtype: 'f32' });
  try {
    return COMPONENTS.text_encoder.load(ops, config, dict, { dtype: 'f32' });
  } finally {
    // Uploads the model did not take (the ignored `position_ids`), or all when building failed.
    dict.releaseUntaken();
  }
}

/** A parse: the pieces' texts exactly, their weights to `weightsMaxAbs`; `null` expects the typed error. */
function parseCase(label: string, text: string, expected: WeightedText[] | null, weightsMaxAbs: number): CompareResult {
  let got: WeightedText[] | null;
  try {
    got = parsePromptAttention(text);
  } catch (err) {
    if (!(err instanceof PromptWeightSyntaxError)) throw err;
    got = null;
  }
  if (expected === null || got === null) return exact(`${label} parsed (${expected === null ? 'PromptWeightSyntaxError' : 'pieces'})`, expected === got ? 0 : 1);
  return parsedResult(label, got, expected, weightsMaxAbs);
}

/** Pieces compared as texts (exactly) and weights; a `BREAK` piece, which the reference never makes, matches nothing. */
function parsedResult(label: string, got: readonly PromptPiece[], expected: readonly WeightedText[], weightsMaxAbs: number): CompareResult {
  const texts = mismatches(
    got.map((p) => (p === PROMPT_BREAK ? null : p[0])),
    expected.map((p) => p[0]),
  );
  if (texts > 0) return exact(`${label} parsed texts`, texts);
  return weightsResult(`${label} parsed`, got.map((p) => (p === PROMPT_BREAK ? Number.NaN : p[1])), expected.map((p) => p[1]), weightsMaxAbs);
}

interface CaseContext<T extends TensorLike> {
  ops: TensorOps<T>;
  tokenizer: CLIPTokenizer;
  model: CLIPTextModel<T>;
  tensor: (name: string) => FixtureTensor;
}

/** One case: the negative prompt (if any) and the prompt as one batch, negative first, as under guidance. */
async function runCase<T extends TensorLike>(fx: PromptWeightingFixture, label: string, c: PromptWeightingCase, ctx: CaseContext<T>): Promise<CompareResult[]> {
  const { ops, model, tokenizer } = ctx;
  const sides: WeightedPromptExpectation[] = c.negative ? [c.negative, c] : [c];
  let unweighted: Float32Array | null = null;
  const encoded = await encodeWeightedPrompts(
    tokenizer,
    sides.map((s) => s.prompt),
    {
      encodeText: async (ids, n) => {
        const out = model.forward(ids, [n, ids.length / n]);
        ops.release(out.poolerOutput);
        if (out.textEmbeds) ops.release(out.textEmbeds);
        unweighted = await ops.read(out.lastHiddenState);
        return out.lastHiddenState;
      },
      read: (x) => ops.read(x),
      upload: (data, shape) => ops.upload(data, shape),
      release: (x) => ops.release(x),
    },
    // The reference has no BREAK: the fixture's prompts are read as lpw_stable_diffusion reads them.
    { maxWindows: fx.maxEmbeddingsMultiples, breaks: false },
  );
  const embeds = await ops.read(encoded.embeds);
  ops.release(encoded.embeds);
  const { batch } = encoded;
  const rows = sides.length;
  const rowOf = <A extends Float32Array | Int32Array>(x: A, r: number): A => x.subarray((r * x.length) / rows, ((r + 1) * x.length) / rows) as A;
  const p = rows - 1;
  const results: CompareResult[] = [exact(`${label} num_chunks`, batch.windows === c.numChunks ? 0 : 1)];
  sides.forEach((side, r) => {
    const name = r === p ? label : `${label} negative`;
    results.push(...tokenResults(name, batch.rows[r]!, side, fx.tolerance.weightsMaxAbs));
    results.push(exact(`${name} ${side.chunkInputIds}`, mismatches(rowOf(batch.inputIds, r), Array.from(ctx.tensor(side.chunkInputIds).data))));
    results.push(compareTensors(`${name} ${side.embeds}`, rowOf(embeds, r), ctx.tensor(side.embeds).data, fx.tolerance));
  });
  results.push(weightsResult(`${label} ${c.positionWeights}`, rowOf(batch.weights, p), ctx.tensor(c.positionWeights).data, fx.tolerance.weightsMaxAbs));
  results.push(compareTensors(`${label} ${c.unweightedEmbeds}`, rowOf(unweighted!, p), ctx.tensor(c.unweightedEmbeds).data, fx.tolerance));
  results.push(compareTensors(`${label} restoring_factor`, [encoded.restoringFactors[p]!], [c.restoringFactor], { maxAbs: fx.tolerance.maxAbs, maxRelL2: fx.tolerance.maxRelL2 }));
  return results;
}

/** A row's parsed pieces, token ids (exactly) and token weights. */
function tokenResults(label: string, got: WeightedTokens, expected: WeightedPromptExpectation, weightsMaxAbs: number): CompareResult[] {
  return [
    parsedResult(label, got.parsed, expected.parsed, weightsMaxAbs),
    exact(`${label} token_ids`, mismatches(got.ids, expected.tokenIds)),
    weightsResult(`${label} token_weights`, got.weights, expected.tokenWeights, weightsMaxAbs),
  ];
}

/** Weights to `maxAbs` (relative L2 unchecked: it only restates it); a length difference fails. */
function weightsResult(name: string, got: ArrayLike<number>, expected: ArrayLike<number>, maxAbs: number): CompareResult {
  const tolerance: CompareTolerance = { maxAbs, maxRelL2: Number.POSITIVE_INFINITY };
  if (got.length !== expected.length) return { name: `${name} (${got.length} values, ${expected.length} expected)`, maxAbs: Number.POSITIVE_INFINITY, relL2: Number.POSITIVE_INFINITY, tolerance, pass: false };
  return compareTensors(name, got, expected, tolerance);
}

function exact(name: string, wrong: number): CompareResult {
  return { name, maxAbs: wrong, relL2: wrong, tolerance: EXACT, pass: wrong === 0 };
}

/** How many entries differ (a length difference counts as differences). */
function mismatches<V>(actual: ArrayLike<V>, expected: ArrayLike<V>): number {
  let n = Math.abs(actual.length - expected.length);
  for (let i = 0; i < Math.min(actual.length, expected.length); i++) if (actual[i] !== expected[i]) n++;
  return n;
}
