import { describe, expect, it } from 'vitest';
import type { TextualInversionFixture } from '../../../../tools/verify/fixture/textual-inversion.js';
import { formatComparison } from '../../../../tools/verify/compare.js';
import { runTextualInversionFixture } from '../../../../tools/verify/textual-inversion.js';
import { CpuOps } from '../../../helpers/cpu-ops.js';
import { fixturesOfKind } from '../../../helpers/fixture-kind.js';

// Every textual_inversion fixture, top level and under community/, found by `kind` (read first,
// so that fixtures of kinds other suites own are left to them).
const fixtures = await fixturesOfKind('textual_inversion');

describe('textual_inversion fixtures on the float64 CPU reference', () => {
  it('finds textual_inversion fixtures to run', () => {
    expect(fixtures.length).toBeGreaterThan(0);
  });

  it.each(fixtures)('$name: tokens, ids exactly, prompt_embeds within tolerance, for every embedding file', async ({ name, fx }) => {
    const results = await runTextualInversionFixture(fx, new CpuOps());
    console.log(`${name}\n${results.map((r) => `  ${formatComparison(r)}`).join('\n')}`);
    const files = Object.keys(fx.embeddingFiles);
    expect(files.length).toBeGreaterThan(0);
    // Every case's embeddings are compared, for every file: nothing is skipped.
    for (const format of files) {
      for (const c of fx.cases) expect(results.map((r) => r.name)).toContain(`${format}: cases[${fx.cases.indexOf(c)}] ${c.promptEmbeds}`);
    }
    expect(results.filter((r) => !r.pass).map(formatComparison)).toEqual([]);
  }, 120_000);

  it('fails when an expected embedding is off, rather than passing everything', async () => {
    const { fx } = fixtures[0]!;
    const real = await fx.readIo();
    const name = fx.cases[0]!.promptEmbeds;
    const shifted = new Map(real);
    const t = real.get(name)!;
    shifted.set(name, { shape: t.shape, data: Float32Array.from(t.data, (v) => v + 0.01) });
    const broken: TextualInversionFixture = { ...fx, readIo: () => Promise.resolve(shifted) };
    const results = await runTextualInversionFixture(broken, new CpuOps());
    expect(results.filter((r) => !r.pass).map((r) => r.name)).toEqual(Object.keys(fx.embeddingFiles).map((f) => `${f}: cases[0] ${name}`));
  }, 120_000);
});
