import { describe, expect, it } from 'vitest';
import { fitWarning } from '../../../demo/fit-warning.js';
import { MODELS, type DemoModel } from '../../../demo/models.js';

const model: DemoModel = {
  id: 'big',
  label: 'Big model',
  source: 'org/big',
  description: '',
  downloadBytes: 6.9e9,
  bundled: false,
  needs: { peakBytes: 6e9, limits: { maxStorageBufferBindingSize: 2 ** 27 } },
  smaller: 'Big model int8',
  defaults: { steps: 1, guidance: 0, width: 512, height: 512 },
  examples: [],
};
const defaults = { maxBufferSize: 2 ** 28, maxStorageBufferBindingSize: 2 ** 27 };

describe('fitWarning (the demo picker, before a download)', () => {
  it('says nothing when the limits and the reported memory hold the plan', () => {
    expect(fitWarning(model, { limits: defaults, deviceMemoryGB: 8 })).toBeNull();
    // Browsers that do not report memory: only the limits are checked.
    expect(fitWarning(model, { limits: defaults, deviceMemoryGB: null })).toBeNull();
  });

  it('warns when the device reports less memory than the plan needs, naming the sizes and the smaller variant', () => {
    const text = fitWarning(model, { limits: defaults, deviceMemoryGB: 4 });
    expect(text).toContain('needs about 6.0 GB of GPU memory');
    expect(text).toContain('reports 4 GB');
    expect(text).toContain('6.9 GB download');
    expect(text).toContain('try Big model int8');
  });

  it('warns when an adapter limit is below what the plan was made under', () => {
    const text = fitWarning(model, { limits: { ...defaults, maxStorageBufferBindingSize: 2 ** 26 }, deviceMemoryGB: 16 });
    expect(text).toMatch(/maxStorageBufferBindingSize is 67 MB; Big model needs 134 MB/);
  });

  it('never warns for the bundled model or a model without a plan', () => {
    const bundled = MODELS.find((m) => m.bundled)!;
    expect(fitWarning(bundled, { limits: null, deviceMemoryGB: 0.5 })).toBeNull();
    expect(fitWarning({ ...model, needs: undefined }, { limits: null, deviceMemoryGB: 0.5 })).toBeNull();
  });

  it("gives every Hub model with a plan the SDXL-style needs fields, each within WebGPU's default limits", () => {
    for (const m of MODELS.filter((x) => x.needs)) {
      expect(m.needs!.peakBytes).toBeGreaterThan(0);
      expect(fitWarning(m, { limits: defaults, deviceMemoryGB: null })).toBeNull();
    }
  });
});
