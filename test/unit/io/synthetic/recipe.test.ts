import { describe, expect, it } from 'vitest';
import { fnv1a32, lowbias32, recipeRule, recipeScale, RecipeTensor, type RecipeTensorSpec } from '../../../../src/io/synthetic/recipe.js';

/** One test vector of the fixtures' SYNTHETIC.md, verbatim. */
interface Vector {
  spec: RecipeTensorSpec;
  seed: number;
  fnv: number;
  seedK: number;
  rule: string;
  scaleBits?: number;
  h: number[];
  bits: number[];
  values: number[];
  lastBits: number;
  sum: number;
}

const VECTORS: Vector[] = [
  {
    spec: { name: 'down_blocks.0.resnets.0.conv1.weight', shape: [320, 320, 3, 3], dtype: 'F32' },
    seed: 1234567,
    fnv: 0x609f9173,
    seedK: 0x608d47f4,
    rule: 'scaled',
    scaleBits: 0x3d0432a5,
    h: [0xeae95621, 0xa178e5b9, 0x14a100e3, 0x4331e9f2],
    bits: [0x3cdcd5db, 0x3c0a47aa, 0xbcddc8e7, 0xbc7b325a, 0x3a5e4ea6, 0xbb92bea6, 0xbcc1d4db, 0xbcf10f41],
    values: [
      0.026957442983984947, 0.008439937606453896, -0.027073336765170097, -0.015331828966736794, 0.0008480347460135818, -0.0044782934710383415,
      -0.023661067709326744, -0.029426218941807747,
    ],
    lastBits: 0xbc9e700b,
    sum: 11.024384738475149,
  },
  {
    spec: { name: 'text_model.final_layer_norm.weight', shape: [768], dtype: 'F32' },
    seed: 1234567,
    fnv: 0x5aae87e3,
    seedK: 0x5abc5164,
    rule: 'onePlus',
    h: [0xbcdfe7c6, 0x8ebbf081, 0x2b524c18, 0xc5984e52],
    bits: [0x3f879bfd, 0x3f81d77e, 0x3f6ad493, 0x3f88b30a, 0x3f7b7072, 0x3f707f9d, 0x3f7d2044, 0x3f89f8e6],
    values: [1.0594478845596313, 1.0143887996673584, 0.917306125164032, 1.0679638385772705, 0.9821845293045044, 0.9394472241401672, 0.9887735843658447, 1.0779082775115967],
    lastBits: 0x3f6a13ca,
    sum: 766.6628703474998,
  },
  {
    spec: { name: 'decoder.mid_block.attentions.0.to_q.bias', shape: [512], dtype: 'F32' },
    seed: 1234567,
    fnv: 0x8cb45526,
    seedK: 0x8ca683a1,
    rule: 'bias',
    h: [0x0f1dbdf8, 0x956bc14e, 0xc3d5a3f0, 0x351fc9f3],
    bits: [0xbde1c486, 0x3cab5e08, 0x3d87ab46, 0xbd95c06e, 0x3d763a00, 0xbc9c2038, 0xbd12aa80, 0x3db837a0],
    values: [
      -0.11023811995983124, 0.020918861031532288, 0.06624464690685272, -0.07312093675136566, 0.06011390686035156, -0.019058331847190857, -0.035807132720947266,
      0.0899498462677002,
    ],
    lastBits: 0xbd876e5c,
    sum: 1.635621041059494,
  },
  {
    spec: { name: 'text_model.embeddings.token_embedding.weight', shape: [49408, 1024], dtype: 'F32' },
    seed: 0xdeadbeef,
    fnv: 0x0c0928e1,
    seedK: 0xd2a4960e,
    rule: 'scaled',
    scaleBits: 0x3d5db3d7,
    h: [0xbe1e6426, 0x61619c29, 0x0ed38717, 0x95b75859],
    bits: [0x3cd72f7f, 0xbc5421f6, 0xbd4405cb, 0x3c167443, 0x3c327a1f, 0xbd257f3e, 0xbc8dba61, 0xbd475b7c],
    values: [
      0.0262677650898695, -0.012947550043463707, -0.04785708710551262, 0.00918299239128828, 0.010893373750150204, -0.0404045507311821, -0.017300786450505257,
      -0.04867123067378998,
    ],
    lastBits: 0x3c775e89,
    sum: 120.16735817137406,
  },
];

/** The float32 bit pattern of a float32 value. */
function bitsOf(value: number): number {
  return new Uint32Array(new Float32Array([value]).buffer)[0]!;
}

/** Sequential float64 sum of every element, generated in chunks of `chunk` elements. */
function chunkedSum(tensor: RecipeTensor, chunk: number): { sum: number; last: number } {
  const buf = new Float32Array(chunk);
  let sum = 0;
  let last = 0;
  for (let start = 0; start < tensor.count; start += chunk) {
    const part = buf.subarray(0, Math.min(chunk, tensor.count - start));
    tensor.fill(start, part);
    for (let j = 0; j < part.length; j++) sum += part[j]!;
    last = part[part.length - 1]!;
  }
  return { sum, last };
}

describe('omni-synthetic-v1, against the SYNTHETIC.md test vectors', () => {
  it.each(VECTORS)('$spec.name: FNV-1a, seed_k, rule, scale and the hashes of elements 0..3', (v) => {
    expect(fnv1a32(v.spec.name)).toBe(v.fnv);
    const tensor = new RecipeTensor(v.spec, v.seed);
    expect(tensor.seedK).toBe(v.seedK);
    expect(recipeRule(v.spec)).toBe(v.rule);
    if (v.scaleBits !== undefined) expect(bitsOf(recipeScale(v.spec.shape))).toBe(v.scaleBits);
    expect(v.h.map((_, i) => lowbias32((v.seedK ^ Math.imul(i, 0x9e3779b9)) >>> 0))).toEqual(v.h);
    // The uniform is (h >> 8)·2^-23 − 1.
    expect([0, 1, 2, 3].map((i) => tensor.uniform(i))).toEqual(v.h.map((h) => (h >>> 8) * 2 ** -23 - 1));
  });

  it.each(VECTORS)('$spec.name: the bits and values of elements 0..7 and the last element', (v) => {
    const tensor = new RecipeTensor(v.spec, v.seed);
    const head = new Float32Array(8);
    tensor.fill(0, head);
    expect([...new Uint32Array(head.buffer)]).toEqual(v.bits);
    expect([...head]).toEqual(v.values);
    const last = new Float32Array(1);
    tensor.fill(tensor.count - 1, last);
    expect(bitsOf(last[0]!)).toBe(v.lastBits);
  });

  it.each(VECTORS)('$spec.name: the float64 sum of every element, generated in chunks', (v) => {
    const tensor = new RecipeTensor(v.spec, v.seed);
    const started = performance.now();
    // An odd chunk size, so that chunks start at every phase of the index.
    const { sum, last } = chunkedSum(tensor, 1_000_003);
    expect(Math.abs(sum - v.sum) / Math.abs(v.sum)).toBeLessThanOrEqual(1e-12);
    expect(bitsOf(last)).toBe(v.lastBits);
    // 50.6 M elements of the token embedding must take seconds, not minutes.
    expect(performance.now() - started).toBeLessThan(15_000);
  });

  it('gives every element the same value whatever range it is generated in', () => {
    const tensor = new RecipeTensor(VECTORS[0]!.spec, VECTORS[0]!.seed);
    const whole = new Float32Array(5000);
    tensor.fill(1000, whole);
    for (const [start, n] of [
      [1000, 1],
      [1001, 17],
      [3333, 2667],
    ] as const) {
      const part = new Float32Array(n);
      tensor.fill(start, part);
      expect(part).toEqual(whole.subarray(start - 1000, start - 1000 + n));
    }
  });

  it('makes I64 buffers their flat indices, as little-endian int64 words', () => {
    const tensor = new RecipeTensor({ name: 'text_model.embeddings.position_ids', shape: [1, 77], dtype: 'I64' }, 5);
    expect(tensor.rule).toBe('index');
    expect(tensor.byteLength).toBe(77 * 8);
    const words = new Uint32Array(6);
    tensor.fillIndices(74, words);
    expect([...words]).toEqual([74, 0, 75, 0, 76, 0]);
    expect([...new BigInt64Array(words.buffer)]).toEqual([74n, 75n, 76n]);
  });

  it('picks the rule from the dtype, the key suffix and the rank alone', () => {
    const rule = (name: string, shape: number[], dtype: 'F32' | 'I64' = 'F32') => recipeRule({ name, shape, dtype });
    expect(rule('a.weight', [4, 4])).toBe('scaled');
    expect(rule('a.weight', [4])).toBe('onePlus');
    expect(rule('a.weight', [])).toBe('onePlus');
    expect(rule('a.bias', [4])).toBe('bias');
    expect(rule('a.weight', [4], 'I64')).toBe('index');
    expect(rule('alphas_cumprod', [4])).toBe('plain');
    expect(rule('a.weights', [4])).toBe('plain');
    // "Ends with" is a suffix test on the whole key, not on its last dotted part.
    expect(rule('a.lora_weight', [4, 4])).toBe('scaled');
    const plain = new RecipeTensor({ name: 'betas', shape: [3], dtype: 'F32' }, 9);
    const out = new Float32Array(3);
    plain.fill(0, out);
    expect([...out]).toEqual([0, 1, 2].map((i) => plain.uniform(i)));
  });

  it('refuses ranges outside the tensor and the wrong fill for the dtype', () => {
    const tensor = new RecipeTensor({ name: 'x.bias', shape: [4], dtype: 'F32' }, 1);
    expect(() => tensor.fill(3, new Float32Array(2))).toThrow(RangeError);
    expect(() => tensor.fill(-1, new Float32Array(1))).toThrow(RangeError);
    expect(() => tensor.fillIndices(0, new Uint32Array(2))).toThrow(/fill it with fill/);
    const ids = new RecipeTensor({ name: 'ids', shape: [4], dtype: 'I64' }, 1);
    expect(() => ids.fill(0, new Float32Array(1))).toThrow(/fillIndices/);
    expect(() => ids.fillIndices(0, new Uint32Array(3))).toThrow(RangeError);
  });
});
