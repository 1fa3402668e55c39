import { describe, expect, it } from 'vitest';
import { judgeShapesImage } from '../../helpers/shapes-judge.js';
import { SHAPE_KINDS, SHAPES_COLOR_NAMES, SHAPES_PALETTE } from '../../helpers/shapes-vocabulary.js';
import { mulberry32 } from '../../helpers/rng.js';
import { captionTruth, placeShape, renderShapes, shapesCaption, TEMPLATE_COUNT, type ShapesSpec, type SizeWord } from '../../helpers/tiny-shapes-data.js';

/** Issue 7: the checker must be right on ≥ 99% of ground-truth images before it judges a model. */
const GROUND_TRUTH_GOAL = 0.99;
const SIZE_WORDS: SizeWord[] = [null, 'small', 'large'];

/** Every (shape colour, background) pair × every kind × every size word: 8·7·3·3 = 504 images. */
function groundTruthSpecs(): ShapesSpec[] {
  const random = mulberry32(7);
  const specs: ShapesSpec[] = [];
  for (const color of SHAPES_COLOR_NAMES) {
    for (const background of SHAPES_COLOR_NAMES) {
      if (background === color) continue;
      for (const shape of SHAPE_KINDS) {
        for (const size of SIZE_WORDS) specs.push(placeShape({ color, background, shape, size, template: specs.length % TEMPLATE_COUNT }, random));
      }
    }
  }
  return specs;
}

function plain(color: readonly number[], width = 32, height = 32): { width: number; height: number; data: Uint8ClampedArray } {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let p = 0; p < width * height; p++) data.set([...color, 255], p * 4);
  return { width, height, data };
}

describe('tiny-shapes ground truth (TS port of tools/train-tiny/shapes.py)', () => {
  it('writes the training captions and reads them back', () => {
    const base = { color: 'red', background: 'blue', shape: 'circle' } as const;
    expect(shapesCaption({ ...base, size: null, template: 0 })).toBe('a red circle on a blue background');
    expect(shapesCaption({ ...base, color: 'orange', background: 'orange', size: null, template: 1 })).toBe('an orange circle against an orange background');
    expect(shapesCaption({ ...base, color: 'orange', size: 'large', template: 0 })).toBe('a large orange circle on a blue background');
    expect(shapesCaption({ ...base, shape: 'triangle', size: 'small', template: 2 })).toBe('small red triangle, blue background');
    for (const spec of groundTruthSpecs()) {
      expect(captionTruth(shapesCaption(spec))).toEqual({ color: spec.color, background: spec.background, shape: spec.shape, size: spec.size });
    }
    expect(() => captionTruth('a red hexagon on a blue background')).toThrow(/not a tiny-shapes caption/);
    expect(() => captionTruth('a cat')).toThrow(/not a tiny-shapes caption/);
  });

  it('keeps the shape inside the image with a pixel of background around it', () => {
    for (const spec of groundTruthSpecs()) {
      const [lo, hi] = spec.size === 'small' ? [9, 13] : spec.size === 'large' ? [19, 26] : [9, 26];
      expect(spec.side).toBeGreaterThanOrEqual(lo);
      expect(spec.side).toBeLessThan(hi);
      for (const c of [spec.cx, spec.cy]) {
        expect(c - spec.side / 2).toBeGreaterThanOrEqual(1);
        expect(c + spec.side / 2).toBeLessThanOrEqual(31);
      }
    }
  });
});

describe('judgeShapesImage', () => {
  it(`is right on ≥ ${GROUND_TRUTH_GOAL * 100}% of 504 ground-truth images, colours and shape`, () => {
    const specs = groundTruthSpecs();
    let colorsRight = 0;
    let shapeRight = 0;
    const misses: string[] = [];
    for (const spec of specs) {
      const v = judgeShapesImage(renderShapes(spec));
      const colorsOk = v.color === spec.color && v.background === spec.background;
      const shapeOk = v.shape === spec.shape;
      colorsRight += Number(colorsOk);
      shapeRight += Number(shapeOk);
      if (!colorsOk || !shapeOk) misses.push(`  ${shapesCaption(spec)} (side ${spec.side.toFixed(1)}): read ${v.color} ${v.shape} on ${v.background}, fill ${v.fill.toFixed(3)}`);
    }
    const pct = (k: number): string => `${((100 * k) / specs.length).toFixed(1)}%`;
    console.log(`shapes checker on ${specs.length} ground-truth images: both colours right ${pct(colorsRight)}, shape right ${pct(shapeRight)}${misses.length ? `\n${misses.join('\n')}` : ''}`);
    expect(specs.length).toBeGreaterThanOrEqual(300);
    expect(colorsRight / specs.length).toBeGreaterThanOrEqual(GROUND_TRUTH_GOAL);
    expect(shapeRight / specs.length).toBeGreaterThanOrEqual(GROUND_TRUTH_GOAL);
  });

  it('reads the background off the border even when the shape touches it', () => {
    const img = plain(SHAPES_PALETTE.green);
    // A white bar across the top row: 32 of the 128 border values, not enough to move the median.
    for (let x = 0; x < 32; x++) for (let y = 0; y < 6; y++) img.data.set([...SHAPES_PALETTE.white, 255], (y * 32 + x) * 4);
    expect(judgeShapesImage(img)).toEqual({ color: 'white', background: 'green', shape: 'square', fill: 1 });
  });

  it('snaps colours off the palette to the nearest training colour', () => {
    const image = renderShapes({ color: 'orange', background: 'purple', shape: 'circle', size: null, template: 0, side: 20, cx: 16, cy: 16 });
    // ±30 levels of deterministic noise on every channel: a model never hits the palette exactly.
    const random = mulberry32(3);
    for (let i = 0; i < image.data.length; i++) if (i % 4 !== 3) image.data[i] = image.data[i]! + Math.round((random() - 0.5) * 60);
    expect(judgeShapesImage(image)).toMatchObject({ color: 'orange', background: 'purple', shape: 'circle' });
    expect(judgeShapesImage(plain([40, 0, 0])).background).toBe('black');
  });

  it('finds no shape in a plain image, or in fewer than 4 stray pixels', () => {
    expect(judgeShapesImage(plain(SHAPES_PALETTE.blue))).toEqual({ color: null, background: 'blue', shape: null, fill: 0 });
    const speckled = plain(SHAPES_PALETTE.blue);
    for (const p of [100, 300, 700]) speckled.data.set([...SHAPES_PALETTE.yellow, 255], p * 4);
    expect(judgeShapesImage(speckled)).toMatchObject({ color: null, shape: null });
  });

  it('works on any image size and rejects data that is not RGBA of that size', () => {
    expect(judgeShapesImage(plain(SHAPES_PALETTE.purple, 8, 16)).background).toBe('purple');
    expect(() => judgeShapesImage({ width: 32, height: 32, data: new Uint8ClampedArray(32 * 32 * 3) })).toThrow(RangeError);
  });
});
