import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiffusionEngine, type DiffusionImage } from '../../../src/index.js';
import { judgeShapesImage, type ShapesVerdict } from '../../helpers/shapes-judge.js';
import { SHAPE_KINDS, SHAPES_COLOR_NAMES } from '../../helpers/shapes-vocabulary.js';
import { contactSheetPng } from '../../helpers/contact-sheet.js';
import { repoRoot } from '../../helpers/fixtures.js';
import { captionTruth } from '../../helpers/tiny-shapes-data.js';

/** Issue 7's goals for the bundled model. */
const BOTH_COLOURS_GOAL = 0.9;
const SHAPE_GOAL = 0.8;
/**
 * What the shipped weights measured on lavapipe (colours 100%, shape 87.5%), less two cases of
 * slack for adapter-dependent rounding, and never below the goal: a drop below this is a
 * regression in the pipeline or kernels, not in the model.
 */
const COLOURS_FLOOR = Math.max(BOTH_COLOURS_GOAL, 0.95);
const SHAPE_FLOOR = Math.max(SHAPE_GOAL, 0.825);

const MODEL_DIR = resolve(repoRoot, 'models/tiny-shapes');

/**
 * The sampling settings the model ships as its defaults (`_omni_diffusion_defaults` in
 * model_index.json, chosen by tools/train-tiny/export.py on its own validation captions). Passed
 * explicitly: the goal is stated at these settings, whatever defaults the engine infers.
 */
const { num_inference_steps: STEPS, guidance_scale: GUIDANCE } = (
  JSON.parse(readFileSync(resolve(MODEL_DIR, 'model_index.json'), 'utf8')) as { _omni_diffusion_defaults: { num_inference_steps: number; guidance_scale: number } }
)._omni_diffusion_defaults;
const OUT_DIR = resolve(repoRoot, 'test-results/quality-tiny-shapes');

/**
 * The dtypes the model is judged at (issue 20): the default weights (f16 with shader-f16), and
 * both quantized dtypes. int8 must keep the floors; int4 is reported, and held within 5 points
 * of int8 on both measures.
 */
const DTYPES = ['auto', 'int8', 'int4'] as const;
const INT4_MAX_DROP = 0.05;
/** Each dtype's rates, for the int4-against-int8 check after both suites ran. */
const rates = new Map<string, { colours: number; shape: number }>();

/**
 * 40 fixed caption/seed pairs: every colour 5 times as the shape and 5 times as the background,
 * each kind 13-14 times, no size word / small / large and the three phrasings evenly mixed.
 */
const CASES: ReadonlyArray<readonly [caption: string, seed: number]> = [
  ['a red circle on a green background', 1000],
  ['a green square against a blue background', 1001],
  ['blue triangle, yellow background', 1002],
  ['a small yellow circle on an orange background', 1003],
  ['a small orange square against a purple background', 1004],
  ['small purple triangle, white background', 1005],
  ['a large white circle on a black background', 1006],
  ['a large black square against a red background', 1007],
  ['large red triangle, blue background', 1008],
  ['a green circle against a yellow background', 1009],
  ['blue square, orange background', 1010],
  ['a yellow triangle on a purple background', 1011],
  ['a small orange circle against a white background', 1012],
  ['small purple square, black background', 1013],
  ['a small white triangle on a red background', 1014],
  ['a large black circle against a green background', 1015],
  ['large red square, yellow background', 1016],
  ['a large green triangle on an orange background', 1017],
  ['blue circle, purple background', 1018],
  ['a yellow square on a white background', 1019],
  ['an orange triangle against a black background', 1020],
  ['small purple circle, red background', 1021],
  ['a small white square on a green background', 1022],
  ['a small black triangle against a blue background', 1023],
  ['large red circle, orange background', 1024],
  ['a large green square on a purple background', 1025],
  ['a large blue triangle against a white background', 1026],
  ['a yellow circle on a black background', 1027],
  ['an orange square against a red background', 1028],
  ['purple triangle, green background', 1029],
  ['a small white circle on a blue background', 1030],
  ['a small black square against a yellow background', 1031],
  ['small red triangle, purple background', 1032],
  ['a large green circle on a white background', 1033],
  ['a large blue square against a black background', 1034],
  ['large yellow triangle, red background', 1035],
  ['an orange circle against a green background', 1036],
  ['purple square, blue background', 1037],
  ['a white triangle on a yellow background', 1038],
  ['a small black circle against an orange background', 1039],
];

interface Judged {
  caption: string;
  seed: number;
  image: DiffusionImage;
  verdict: ShapesVerdict;
  colorsOk: boolean;
  shapeOk: boolean;
}

const percent = (k: number, n: number): string => `${((100 * k) / n).toFixed(1)}%`;

describe.each(DTYPES)('quality of the bundled tiny-shapes model (issues 7, 20) at dtype %s, judged by the analytic checker', (dtype) => {
  let engine: DiffusionEngine | undefined;
  const outDir = resolve(OUT_DIR, dtype);
  let adapter = '';
  const judged: Judged[] = [];

  beforeAll(async () => {
    engine = await DiffusionEngine.create({ modelNameOrPath: MODEL_DIR, dtype });
    // One step() call: the executor runs the requests back to back without a round trip each.
    const outputs = await engine.step(CASES.map(([prompt, seed]) => ({ prompt, seed, numInferenceSteps: STEPS, guidanceScale: GUIDANCE })));
    outputs.forEach((out, i) => {
      if (out.error) throw new Error(`case ${i} (${CASES[i]![0]}): ${out.error}`);
      const [caption, seed] = CASES[i]!;
      const image = out.images[0]!;
      const want = captionTruth(caption);
      const verdict = judgeShapesImage(image);
      judged.push({ caption, seed, image, verdict, colorsOk: verdict.color === want.color && verdict.background === want.background, shapeOk: verdict.shape === want.shape });
    });
    adapter = String(outputs[0]?.metrics.adapter ?? 'an unknown adapter');
  }, 1_200_000);

  afterAll(async () => {
    await engine?.close();
  });

  it('covers every colour as shape and as background, and every kind', () => {
    const truths = CASES.map(([caption]) => captionTruth(caption));
    expect(new Set(truths.map((t) => t.color))).toEqual(new Set(SHAPES_COLOR_NAMES));
    expect(new Set(truths.map((t) => t.background))).toEqual(new Set(SHAPES_COLOR_NAMES));
    expect(new Set(truths.map((t) => t.shape))).toEqual(new Set(SHAPE_KINDS));
    expect(new Set(CASES.map(([caption, seed]) => `${caption}#${seed}`)).size).toBe(40);
  });

  it('prints the accuracy table and saves a contact sheet', () => {
    expect(judged).toHaveLength(CASES.length);
    const mark = (ok: boolean): string => (ok ? ' ok ' : 'MISS');
    const rows = judged.map(
      (j) => `  ${mark(j.colorsOk)} ${mark(j.shapeOk)}  ${j.caption} (seed ${j.seed}): ${j.verdict.color ?? 'no'} ${j.verdict.shape ?? 'shape'} on ${j.verdict.background}, fill ${j.verdict.fill.toFixed(3)}`,
    );
    const colors = judged.filter((j) => j.colorsOk).length;
    const shapes = judged.filter((j) => j.shapeOk).length;
    const both = judged.filter((j) => j.colorsOk && j.shapeOk).length;
    console.log(
      [
        `tiny-shapes quality at dtype ${dtype}: ${judged.length} images, ${STEPS} steps, guidance ${GUIDANCE}, webgpu on ${adapter}`,
        '  colours shape',
        ...rows,
        `both colours right ${percent(colors, judged.length)} (goal ${BOTH_COLOURS_GOAL * 100}%), shape right ${percent(shapes, judged.length)} (goal ${SHAPE_GOAL * 100}%), all right ${percent(both, judged.length)}`,
      ].join('\n'),
    );
    rates.set(dtype, { colours: colors / judged.length, shape: shapes / judged.length });
    mkdirSync(outDir, { recursive: true });
    // Frames: green all right, yellow colours right but not the shape, red colours wrong.
    const frame = (j: Judged): readonly [number, number, number] => (j.colorsOk ? (j.shapeOk ? [40, 160, 40] : [230, 180, 0]) : [200, 30, 30]);
    const tiles = judged.map((j) => ({ image: j.image, frame: frame(j) }));
    writeFileSync(resolve(outDir, 'contact-sheet.png'), contactSheetPng(tiles, { columns: 8, scale: 4, frame: 6 }));
    writeFileSync(
      resolve(outDir, 'verdicts.json'),
      `${JSON.stringify({ adapter, dtype, steps: STEPS, guidance: GUIDANCE, cases: judged.map(({ image: _image, ...rest }) => rest) }, null, 2)}\n`,
    );
  });

  // int4 has no floors of its own: it is held against int8 below.
  if (dtype !== 'int4') {
    it(`draws both colours right in ≥ ${COLOURS_FLOOR * 100}% of images (goal ${BOTH_COLOURS_GOAL * 100}%)`, () => {
      const rate = judged.filter((j) => j.colorsOk).length / CASES.length;
      console.log(`colour goal ${rate >= BOTH_COLOURS_GOAL ? 'met' : 'NOT met'}: ${percent(rate * CASES.length, CASES.length)}`);
      expect(rate).toBeGreaterThanOrEqual(COLOURS_FLOOR);
    });

    it(`draws the right shape in ≥ ${SHAPE_FLOOR * 100}% of images (goal ${SHAPE_GOAL * 100}%)`, () => {
      const rate = judged.filter((j) => j.shapeOk).length / CASES.length;
      console.log(`shape goal ${rate >= SHAPE_GOAL ? 'met' : 'NOT met'}: ${percent(rate * CASES.length, CASES.length)}`);
      expect(rate).toBeGreaterThanOrEqual(SHAPE_FLOOR);
    });
  }
});

describe('int4 against int8 on the same 40 cases', () => {
  it(`stays within ${INT4_MAX_DROP * 100} points of int8 on both colours and shape`, () => {
    const int8 = rates.get('int8')!;
    const int4 = rates.get('int4')!;
    console.log(`tiny-shapes: int8 colours ${percent(int8.colours * 40, 40)}, shape ${percent(int8.shape * 40, 40)}; int4 colours ${percent(int4.colours * 40, 40)}, shape ${percent(int4.shape * 40, 40)}`);
    expect(int4.colours).toBeGreaterThanOrEqual(int8.colours - INT4_MAX_DROP - 1e-9);
    expect(int4.shape).toBeGreaterThanOrEqual(int8.shape - INT4_MAX_DROP - 1e-9);
  });
});
