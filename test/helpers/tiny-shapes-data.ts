import type { DiffusionImage } from '../../src/api/image.js';
import { SHAPE_KINDS, SHAPES_COLOR_NAMES, SHAPES_PALETTE, type ShapeKind, type ShapesColor } from './shapes-vocabulary.js';

/**
 * A TypeScript port of tools/train-tiny/shapes.py's procedural data (same palette, shapes,
 * sizes, placement and caption grammar), to make ground-truth images for the checker's tests.
 * Its random numbers come from the caller, so it does not reproduce torch's stream.
 */

/** The caption's size word; null leaves it out (any size). */
export type SizeWord = 'small' | 'large' | null;

/** Side of the shape's bounding box in pixels, [min, max), by size word. */
const SIDE_RANGE = { any: [9, 26], small: [9, 13], large: [19, 26] } as const;

const IMAGE = 32;
const SUPERSAMPLE = 4;

/** The caption phrasings, in the training script's order. */
const TEMPLATES = [
  (p: CaptionParts) => `${p.a} ${p.size}${p.fg} ${p.shape} on ${p.abg} ${p.bg} background`,
  (p: CaptionParts) => `${p.a} ${p.size}${p.fg} ${p.shape} against ${p.abg} ${p.bg} background`,
  (p: CaptionParts) => `${p.size}${p.fg} ${p.shape}, ${p.bg} background`,
] as const;

/** How many caption phrasings there are. */
export const TEMPLATE_COUNT = TEMPLATES.length;

interface CaptionParts {
  a: string;
  size: string;
  fg: string;
  shape: string;
  abg: string;
  bg: string;
}

/** One image of the data set: what the caption says, and where the shape lies. */
export interface ShapesSpec {
  color: ShapesColor;
  background: ShapesColor;
  shape: ShapeKind;
  size: SizeWord;
  /** Index of the caption phrasing. */
  template: number;
  /** Bounding-box side and centre, in pixels. */
  side: number;
  cx: number;
  cy: number;
}

/** A spec with the side and position drawn as the training data draws them, from `random` in [0, 1). */
export function placeShape(
  what: { color: ShapesColor; background: ShapesColor; shape: ShapeKind; size: SizeWord; template: number },
  random: () => number,
): ShapesSpec {
  const [lo, hi] = SIDE_RANGE[what.size ?? 'any'];
  const side = lo + (hi - lo) * random();
  // The whole shape plus one pixel of background stays inside the image.
  const margin = side / 2 + 1;
  const cx = margin + (IMAGE - 2 * margin) * random();
  const cy = margin + (IMAGE - 2 * margin) * random();
  return { ...what, side, cx, cy };
}

const article = (word: string): string => ('aeiou'.includes(word[0]!) ? 'an' : 'a');

/** The caption of a spec, word for word as the training script writes it. */
export function shapesCaption(spec: Pick<ShapesSpec, 'color' | 'background' | 'shape' | 'size' | 'template'>): string {
  const size = spec.size ? `${spec.size} ` : '';
  const template = TEMPLATES[spec.template];
  if (!template) throw new RangeError(`no caption template ${spec.template}`);
  return template({ a: article(size || spec.color), size, fg: spec.color, shape: spec.shape, abg: article(spec.background), bg: spec.background });
}

const CAPTION = /^(?:an? )?(?:(small|large) )?([a-z]+) ([a-z]+)(?: on| against|,) (?:an? )?([a-z]+) background$/;

/** What a caption of the training grammar asks for; throws on anything else. */
export function captionTruth(caption: string): { color: ShapesColor; background: ShapesColor; shape: ShapeKind; size: SizeWord } {
  const m = CAPTION.exec(caption);
  const isColor = (w: string | undefined): w is ShapesColor => (SHAPES_COLOR_NAMES as readonly string[]).includes(w ?? '');
  const isShape = (w: string | undefined): w is ShapeKind => (SHAPE_KINDS as readonly string[]).includes(w ?? '');
  if (!m || !isColor(m[2]) || !isColor(m[4]) || !isShape(m[3])) throw new Error(`not a tiny-shapes caption: ${JSON.stringify(caption)}`);
  return { color: m[2], background: m[4], shape: m[3], size: (m[1] as SizeWord | undefined) ?? null };
}

/**
 * The anti-aliased 32x32 image of a spec, as the model would return it: coverage from 4x4
 * supersampling blends the two colours in [-1, 1], then `round((x / 2 + 0.5) * 255)` as the
 * pipeline's output does.
 */
export function renderShapes(spec: ShapesSpec): DiffusionImage {
  const fg = SHAPES_PALETTE[spec.color].map((v) => v / 127.5 - 1);
  const bg = SHAPES_PALETTE[spec.background].map((v) => v / 127.5 - 1);
  const half = spec.side / 2;
  const top = spec.cy - half;
  const inside = (x: number, y: number): boolean => {
    const dx = x - spec.cx;
    const dy = y - spec.cy;
    switch (spec.shape) {
      case 'circle':
        return dx * dx + dy * dy <= half * half;
      case 'square':
        return Math.abs(dx) <= half && Math.abs(dy) <= half;
      case 'triangle':
        return y >= top && y <= spec.cy + half && Math.abs(dx) <= (y - top) / 2;
    }
  };
  const data = new Uint8ClampedArray(IMAGE * IMAGE * 4);
  for (let py = 0; py < IMAGE; py++) {
    for (let px = 0; px < IMAGE; px++) {
      let hits = 0;
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          if (inside(px + (sx + 0.5) / SUPERSAMPLE, py + (sy + 0.5) / SUPERSAMPLE)) hits++;
        }
      }
      const cover = hits / SUPERSAMPLE ** 2;
      const o = (py * IMAGE + px) * 4;
      for (let c = 0; c < 3; c++) data[o + c] = Math.round(((bg[c]! + (fg[c]! - bg[c]!) * cover) / 2 + 0.5) * 255);
      data[o + 3] = 255;
    }
  }
  return { width: IMAGE, height: IMAGE, data };
}
