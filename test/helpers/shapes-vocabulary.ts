/**
 * What the bundled `models/tiny-shapes` model was trained to draw: the 8 colours (their exact
 * sRGB values) and the 3 shape kinds of `tools/train-tiny/shapes.py`. The checker reads images
 * against these, so they must stay equal to the training data's.
 */

/** The colour names of the tiny-shapes data, in the training script's index order. */
export const SHAPES_COLOR_NAMES = ['red', 'green', 'blue', 'yellow', 'orange', 'purple', 'white', 'black'] as const;

/** One of the 8 tiny-shapes colours. */
export type ShapesColor = (typeof SHAPES_COLOR_NAMES)[number];

/** The 8 colours as 8-bit sRGB. */
export const SHAPES_PALETTE: Readonly<Record<ShapesColor, readonly [number, number, number]>> = {
  red: [230, 25, 25],
  green: [30, 170, 40],
  blue: [30, 60, 230],
  yellow: [250, 225, 30],
  orange: [250, 135, 0],
  purple: [140, 40, 190],
  white: [250, 250, 250],
  black: [15, 15, 15],
};

/** The shape kinds, in the training script's index order. */
export const SHAPE_KINDS = ['circle', 'square', 'triangle'] as const;

/** One of the 3 tiny-shapes kinds. */
export type ShapeKind = (typeof SHAPE_KINDS)[number];
