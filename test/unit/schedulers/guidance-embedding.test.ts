import { describe, expect, it } from 'vitest';
import { guidanceScaleEmbedding } from '../../../src/schedulers/guidance-embedding.js';

describe('guidanceScaleEmbedding', () => {
  it('is [sin(1000·w·f_j), cos(1000·w·f_j)] with f_j = 10000^(-j/(h-1)), per batch row', () => {
    const dim = 32;
    const ws = [0, 0.5, 7.5];
    const emb = guidanceScaleEmbedding(ws, dim);
    expect(emb.length).toBe(ws.length * dim);
    const h = dim / 2;
    ws.forEach((w, r) => {
      for (let j = 0; j < h; j++) {
        const angle = 1000 * w * Math.exp((-j * Math.log(10000)) / (h - 1));
        // Torch rounds the angle to float32: allow its error (≈ angle·2⁻²³ a few times over).
        const tol = 1e-6 + 4 * angle * 2 ** -23;
        expect(Math.abs(emb[r * dim + j]! - Math.sin(angle))).toBeLessThanOrEqual(tol);
        expect(Math.abs(emb[r * dim + h + j]! - Math.cos(angle))).toBeLessThanOrEqual(tol);
      }
    });
  });

  it('pads an odd dimension with one zero', () => {
    const emb = guidanceScaleEmbedding(3, 9);
    expect(emb.length).toBe(9);
    expect(emb[8]).toBe(0);
    expect(emb[0]).toBeCloseTo(Math.sin(3000), 3);
  });

  it('rejects dimensions too small for the frequency ladder', () => {
    expect(() => guidanceScaleEmbedding(1, 3)).toThrow(RangeError);
  });
});
