import { describe, expect, it } from 'vitest';
import type { PromptWeightingFixture } from '../../../../tools/verify/fixture/prompt-weighting.js';
import { formatComparison } from '../../../../tools/verify/compare.js';
import { runPromptWeightingFixture } from '../../../../tools/verify/prompt-weighting.js';
import { CpuOps } from '../../../helpers/cpu-ops.js';
import { fixturesOfKind } from '../../../helpers/fixture-kind.js';

// Every prompt_weighting fixture, top level and under community/, found by `kind` (read first,
// so that fixtures of kinds other suites own are left to them).
const fixtures = await fixturesOfKind('prompt_weighting');

/** The names every case must produce: nothing is skipped. */
function expectedNames(fx: PromptWeightingFixture): string[] {
  return fx.cases.flatMap((c, i) => [
    `cases[${i}] ${c.embeds}`,
    `cases[${i}] ${c.unweightedEmbeds}`,
    `cases[${i}] ${c.chunkInputIds}`,
    `cases[${i}] ${c.positionWeights}`,
    `cases[${i}] restoring_factor`,
    ...(c.negative ? [`cases[${i}] negative ${c.negative.embeds}`, `cases[${i}] negative ${c.negative.chunkInputIds}`] : []),
  ]);
}

describe('prompt_weighting fixtures on the float64 CPU reference', () => {
  it('finds prompt_weighting fixtures to run', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  it.each(fixtures)('$name: parsing, ids, windows and weights exactly or to weights_max_abs, embeddings within tolerance', async ({ name, fx }) => {
    const results = await runPromptWeightingFixture(fx, new CpuOps());
    console.log(`${name}\n${results.map((r) => `  ${formatComparison(r)}`).join('\n')}`);
    const names = results.map((r) => r.name);
    for (const n of expectedNames(fx)) expect(names).toContain(n);
    expect(names.filter((n) => n.startsWith('parse_cases[')).length).toBe(fx.parseCases.length);
    expect(results.filter((r) => !r.pass).map(formatComparison)).toEqual([]);
  }, 120_000);

  it('fails where an expected embedding, window or weight is off, rather than passing everything', async () => {
    const { fx } = fixtures[0]!;
    const real = await fx.readIo();
    const c = fx.cases.find((x) => x.restoringFactor !== 1)!;
    const shifted = new Map(real);
    const shift = (name: string, by: number): void => {
      const t = real.get(name)!;
      shifted.set(name, { shape: t.shape, data: t.data instanceof Int32Array ? Int32Array.from(t.data, (v, i) => (i === 3 ? v + by : v)) : Float32Array.from(t.data, (v) => v + by) });
    };
    shift(c.embeds, 0.01);
    shift(c.chunkInputIds, 1);
    shift(c.positionWeights, 1e-4);
    const broken: PromptWeightingFixture = { ...fx, readIo: () => Promise.resolve(shifted), cases: [c] };
    const failed = (await runPromptWeightingFixture(broken, new CpuOps())).filter((r) => !r.pass).map((r) => r.name);
    expect(failed).toEqual([`cases[0] ${c.chunkInputIds}`, `cases[0] ${c.embeds}`, `cases[0] ${c.positionWeights}`]);
  }, 120_000);
});
