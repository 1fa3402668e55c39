/**
 * A seeded random number generator whose output is identical, bit for bit, on every JavaScript
 * engine and platform.
 *
 * - Integers: xoshiro128** (Blackman & Vigna), 32-bit words, seeded through splitmix32 from
 *   the seed's low and high 32 bits. Only `Math.imul`, shifts and 32-bit adds, all exact.
 * - Uniform doubles: 53 bits from two words.
 * - Normals: Marsaglia's polar form of Box–Muller, which needs a logarithm and a square root but
 *   no sine or cosine. `Math.sqrt` is correctly rounded by the spec; `Math.log` is not (engines
 *   may differ in the last bit), so the logarithm is our own: exponent split exactly through the
 *   float64 bits, then the atanh series on a mantissa in [√½, √2), using only + − × ÷.
 *
 * It does not reproduce torch's, numpy's or any other library's random stream: the same seed in
 * diffusers gives different noise. Pipelines that must match diffusers pass the noise explicitly.
 */
export class Rng {
  readonly #s = new Uint32Array(4);
  #spare: number | null = null;

  /** `seed`: an integer in [0, 2^53). */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`Rng seed must be an integer in [0, 2^53), got ${seed}.`);
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32), 0x9e3779b9);
    for (let i = 0; i < 4; i++) {
      // splitmix32: spreads one word of seed over four, so that nearby seeds give unrelated streams.
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.#s[i] = z ^ (z >>> 16);
    }
    if ((this.#s[0]! | this.#s[1]! | this.#s[2]! | this.#s[3]!) === 0) this.#s[0] = 1;
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  nextFloat64(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal value. */
  nextNormal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    for (;;) {
      const u = 2 * this.nextFloat64() - 1;
      const v = 2 * this.nextFloat64() - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const factor = Math.sqrt((-2 * deterministicLog(s)) / s);
      this.#spare = v * factor;
      return u * factor;
    }
  }

  /** `n` standard normal values, rounded to float32 (like `randn_tensor`). */
  randn(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.nextNormal();
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const view = new DataView(new ArrayBuffer(8));

/**
 * Natural logarithm of a positive finite double from IEEE-exact operations only (error below
 * 2 ulp, the same on every engine). Denormals are scaled up first.
 */
export function deterministicLog(x: number): number {
  let scale = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 2 ** 54;
    scale = -54;
  }
  view.setFloat64(0, x);
  const hiWord = view.getUint32(0);
  let exponent = ((hiWord >>> 20) & 0x7ff) - 1023 + scale;
  // Mantissa in [1, 2) with the exponent bits replaced; fold into [√½, √2) so the series converges fast.
  view.setUint32(0, (hiWord & 0x800fffff) | 0x3ff00000);
  let m = view.getFloat64(0);
  if (m > Math.SQRT2) {
    m /= 2;
    exponent += 1;
  }
  const z = (m - 1) / (m + 1);
  const z2 = z * z;
  // 2·atanh(z) = 2(z + z³/3 + z⁵/5 + …); |z| < 0.172, so 13 terms reach below 1e-19.
  let sum = 0;
  for (let k = 25; k >= 3; k -= 2) sum = (sum + 1 / k) * z2;
  const lnM = 2 * z + 2 * z * sum;
  return exponent * LN2_HI + (exponent * LN2_LO + lnM);
}
