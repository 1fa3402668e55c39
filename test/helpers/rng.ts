/**
 * Seeded test data: mulberry32 integers and Box–Muller normals. Only for generating test
 * inputs; the product's own noise RNG lives in src/.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` values uniform in [lo, hi), rounded to float32 so GPU and CPU see identical inputs. */
export function randomUniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * next();
  return out;
}

/** `n` standard-normal values (times `std`), rounded to float32. */
export function randomNormal(n: number, seed: number, std = 1): Float32Array {
  const next = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = Math.max(next(), 1e-12);
    const u2 = next();
    const r = Math.sqrt(-2 * Math.log(u1)) * std;
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** Largest absolute difference and relative L2 error of `a` against the reference `b`, in float64. */
export function errorStats(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbs: number; relL2: number } {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let maxAbs = 0;
  let diff2 = 0;
  let ref2 = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? Infinity : d;
    diff2 += d * d;
    ref2 += b[i]! * b[i]!;
  }
  return { maxAbs, relL2: Math.sqrt(diff2) / Math.max(Math.sqrt(ref2), 1e-30) };
}
