import { describe, expect, it } from 'vitest';
import { DiffusersRepo } from '../../../../src/io/diffusers-repo.js';
import { readSafetensors } from '../../../../src/io/safetensors.js';
import { SingleFileSource } from '../../../../src/io/single-file/single-file-source.js';
import { LocalFolderSource } from '../../../../src/io/sources/local-folder-source.js';
import { decodeHalf, encodeHalf } from '../../../../src/webgpu/half.js';
import { sameBits, singleFileFixtures } from '../../../helpers/single-file-fixtures.js';

/** float32 → nearest float16 → float32, as `--half` checkpoints store weights. */
function roundToF16(values: Float32Array): Float32Array {
  return decodeHalf(encodeHalf(values));
}

// Every single_file fixture, found by kind.
const fixtures = await singleFileFixtures();

describe('SingleFileSource: an original-layout checkpoint seen as a diffusers repo', () => {
  it('finds the single_file fixtures', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  it.each(fixtures.map((fx) => ({ name: fx.file, fx })))('$name: every component equals the base repo (rounded like the checkpoint), key for key', async ({ fx }) => {
    const base = new LocalFolderSource(fx.configFromDir);
    const source = await SingleFileSource.open({ source: fx.source, path: fx.checkpoint }, { configFrom: base });
    expect(source.architecture).toBe('sd1');
    const converted = await DiffusersRepo.open(source);
    const reference = await DiffusersRepo.open(base);
    let count = 0;
    for (const component of ['text_encoder', 'unet', 'vae']) {
      const got = (await converted.loadWeights(component)).tensors;
      const want = (await reference.loadWeights(component)).tensors;
      const wantKeys = [...want.keys()].filter((k) => !k.endsWith('position_ids')).sort();
      expect([...got.keys()].sort()).toEqual(wantKeys);
      for (const key of wantKeys) {
        const g = got.get(key)!;
        const w = want.get(key)!;
        expect(g.shape, key).toEqual(w.shape);
        const expected = fx.checkpointDtype === 'F16' ? roundToF16(w.data as Float32Array) : w.data;
        expect(sameBits(g.data, expected), key).toBe(true);
        count++;
      }
    }
    expect(count).toBe(fx.numTensors - 1);
  });
});
