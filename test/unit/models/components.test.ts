import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findFixtures, loadFixture } from '../../../tools/verify/fixture/fixture.js';
import { formatComparison } from '../../../tools/verify/compare.js';
import { COMPONENT_KINDS, runComponentFixture } from '../../../tools/verify/components.js';
import { CpuOps } from '../../helpers/cpu-ops.js';
import { fixturesDir } from '../../helpers/fixtures.js';

// Every fixture, dispatched on its `kind`: component kinds run here, the others (tokenizer,
// scheduler, pipeline) belong to other suites.
const components = (
  await Promise.all(
    (await findFixtures(fixturesDir())).map(async (path) => {
      const fx = await loadFixture(path);
      if (!(COMPONENT_KINDS as readonly string[]).includes(fx.kind)) return [];
      return [{ name: basename(path), path, kind: fx.kind }];
    }),
  )
).flat();

describe('component fixtures on the float64 CPU reference', () => {
  it('finds component fixtures to run', () => {
    expect(components.length).toBeGreaterThan(0);
  });

  it.each(components)('$name ($kind) matches every expected output within tolerance', async ({ name, path }) => {
    const results = await runComponentFixture(path, new CpuOps());
    console.log(`${name}\n${results.map((r) => `  ${formatComparison(r)}`).join('\n')}`);
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) expect(r.pass, formatComparison(r)).toBe(true);
  }, 120_000);
});
