/** Pass bounds of a comparison: `max|a-b| <= maxAbs` and `||a-b||₂/||b||₂ <= maxRelL2`. */
export interface CompareTolerance {
  maxAbs: number;
  maxRelL2: number;
}

/** Outcome of comparing one tensor with its expected values. */
export interface CompareResult {
  name: string;
  maxAbs: number;
  relL2: number;
  tolerance: CompareTolerance;
  pass: boolean;
}

type Numbers = ArrayLike<number>;

/**
 * Compares `actual` with `expected` as the fixtures define it: both the largest absolute
 * difference and the relative L2 error (accumulated in float64) must be within bounds.
 * A NaN or infinite value in `actual` fails. Length mismatch throws `RangeError`.
 */
export function compareTensors(name: string, actual: Numbers, expected: Numbers, tolerance: CompareTolerance): CompareResult {
  if (actual.length !== expected.length) {
    throw new RangeError(`${name}: ${actual.length} values to compare with ${expected.length} expected`);
  }
  let maxAbs = 0;
  let diffSq = 0;
  let refSq = 0;
  let sawNaN = false;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    const d = Math.abs(a - b);
    // `d > maxAbs` is false for NaN, so NaN is tracked apart lest it pass unnoticed.
    if (Number.isNaN(d)) sawNaN = true;
    else if (d > maxAbs) maxAbs = d;
    diffSq += d * d;
    refSq += b * b;
  }
  if (sawNaN) maxAbs = Number.NaN;
  const relL2 = refSq > 0 ? Math.sqrt(diffSq / refSq) : diffSq === 0 ? 0 : Number.POSITIVE_INFINITY;
  const pass = maxAbs <= tolerance.maxAbs && relL2 <= tolerance.maxRelL2;
  return { name, maxAbs, relL2, tolerance, pass };
}

/** One line per result: `name: max_abs=… rel_l2=… (tol …, …) PASS|FAIL`. */
export function formatComparison(result: CompareResult): string {
  const { name, maxAbs, relL2, tolerance, pass } = result;
  return `${name}: max_abs=${fmt(maxAbs)} rel_l2=${fmt(relL2)} (tol ${fmt(tolerance.maxAbs)}, ${fmt(tolerance.maxRelL2)}) ${pass ? 'PASS' : 'FAIL'}`;
}

/** Formats several results, one per line. */
export function formatComparisons(results: Iterable<CompareResult>): string {
  return [...results].map(formatComparison).join('\n');
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toExponential(3) : String(x);
}
