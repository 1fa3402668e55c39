import { describe, expect, it } from 'vitest';
import { formatComparison } from '../../../../tools/verify/compare.js';
import { runLoraFixture } from '../../../../tools/verify/lora.js';
import { fixturesOfKind } from '../../../helpers/fixture-kind.js';

// Every `lora` fixture, found by kind: other ranks, alphas, scales and text-encoder-only LoRAs
// in the same format run the same way.
const loras = await fixturesOfKind('lora');

describe('every lora fixture: its files read, fused on the host, and applied through DiffusionEngine (Dawn)', () => {
  it('finds a lora fixture', () => {
    expect(loras.length).toBeGreaterThan(0);
  });

  it.each(loras)('$name: each LoRA file gives the fused weights and every stored output within tolerance', async ({ name, fx }) => {
    const results = await runLoraFixture(fx);
    console.log(results.map((r) => `${name} ${formatComparison(r)}`).join('\n'));
    for (const form of Object.keys(fx.loraFiles)) {
      expect(results.map((r) => r.name)).toEqual(expect.arrayContaining(fx.run.outputs.map((o) => `${form}: ${o}`)));
    }
    expect(results.filter((r) => !r.pass).map(formatComparison)).toEqual([]);
  }, 300_000);
});
