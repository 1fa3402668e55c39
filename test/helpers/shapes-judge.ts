import type { DiffusionImage } from '../../src/api/image.js';
import { SHAPES_COLOR_NAMES, SHAPES_PALETTE, type ShapeKind, type ShapesColor } from './shapes-vocabulary.js';

/** What the analytic checker reads off one tiny-shapes image. */
export interface ShapesVerdict {
  /** The shape's colour; null when fewer than 4 pixels stand apart from the background. */
  color: ShapesColor | null;
  background: ShapesColor;
  /** The shape's kind; null when no shape was found. */
  shape: ShapeKind | null;
  /** How much of its bounding box the shape covers (circle π/4, square 1, triangle 1/2); 0 without a shape. */
  fill: number;
}

// The checker mirrors tools/train-tiny/shapes.py `judge`, which works on images in [-1, 1]; doing
// the same here keeps its thresholds meaning the same thing on both sides.
const toUnit = (byte: number): number => byte / 127.5 - 1;
const PALETTE = SHAPES_COLOR_NAMES.map((name) => SHAPES_PALETTE[name].map(toUnit));

/** A pixel belongs to the shape when it is this far (Euclidean, in [-1, 1] units) from the background colour. */
const SHAPE_DISTANCE = 0.5;
/** Fewer shape pixels than this is no shape at all (noise, or a shape the model left out). */
const MIN_SHAPE_PIXELS = 4;
/** Fill ratios between the ideal ones (square 1, circle 0.785, triangle 0.5) that split the kinds. */
const SQUARE_MIN_FILL = 0.89;
const CIRCLE_MIN_FILL = 0.64;

/**
 * Judges a tiny-shapes image (an RGBA image, as `DiffusionEngine` returns them) the way the
 * training script's checker does: the background colour from the median of the border pixels,
 * the shape colour from the median of the pixels far from the background, the kind from how much
 * of its bounding box the shape fills. Colours are the nearest of the 8 training colours.
 */
export function judgeShapesImage(image: DiffusionImage): ShapesVerdict {
  const { width, height, data } = image;
  if (data.length !== width * height * 4) throw new RangeError(`judgeShapesImage: ${data.length} bytes are not a ${width}x${height} RGBA image.`);
  const at = (x: number, y: number, c: number): number => toUnit(data[(y * width + x) * 4 + c]!);

  // The four border lines in the order the Python checker concatenates them (corners twice):
  // with an even count the median is the lower middle value, as torch's is.
  const borderRgb = [0, 1, 2].map((c) => {
    const values: number[] = [];
    for (let x = 0; x < width; x++) values.push(at(x, 0, c));
    for (let x = 0; x < width; x++) values.push(at(x, height - 1, c));
    for (let y = 0; y < height; y++) values.push(at(0, y, c));
    for (let y = 0; y < height; y++) values.push(at(width - 1, y, c));
    return lowerMedian(values);
  });
  const background = nearestColor(borderRgb);
  const bg = PALETTE[SHAPES_COLOR_NAMES.indexOf(background)]!;

  const shapeValues: [number[], number[], number[]] = [[], [], []];
  let minX = width;
  let maxX = -1;
  let minY = height;
  let maxY = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const rgb = [at(x, y, 0), at(x, y, 1), at(x, y, 2)];
      if (Math.hypot(rgb[0]! - bg[0]!, rgb[1]! - bg[1]!, rgb[2]! - bg[2]!) <= SHAPE_DISTANCE) continue;
      rgb.forEach((v, c) => shapeValues[c as 0 | 1 | 2].push(v));
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
    }
  }
  const count = shapeValues[0].length;
  if (count < MIN_SHAPE_PIXELS) return { color: null, background, shape: null, fill: 0 };
  const color = nearestColor(shapeValues.map(lowerMedian));
  const fill = count / ((maxX - minX + 1) * (maxY - minY + 1));
  const shape: ShapeKind = fill > SQUARE_MIN_FILL ? 'square' : fill > CIRCLE_MIN_FILL ? 'circle' : 'triangle';
  return { color, background, shape, fill };
}

/** torch.median's choice: the lower of the two middle values when the count is even. */
function lowerMedian(values: number[]): number {
  values.sort((a, b) => a - b);
  return values[(values.length - 1) >> 1]!;
}

/** The training colour closest to `rgb` (in [-1, 1] units); the first one on a tie, as argmin. */
function nearestColor(rgb: readonly number[]): ShapesColor {
  let best = 0;
  let bestDistance = Infinity;
  PALETTE.forEach((p, i) => {
    const d = (p[0]! - rgb[0]!) ** 2 + (p[1]! - rgb[1]!) ** 2 + (p[2]! - rgb[2]!) ** 2;
    if (d < bestDistance) {
      bestDistance = d;
      best = i;
    }
  });
  return SHAPES_COLOR_NAMES[best]!;
}
