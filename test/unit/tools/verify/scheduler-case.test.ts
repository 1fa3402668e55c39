import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSchedulerCase, type SchedulerCaseResult } from '../../../../tools/verify/scheduler-case.js';
import { loadFixture, type SchedulerFixture } from '../../../../tools/verify/fixture/fixture.js';
import { fixturesDir } from '../../../helpers/fixtures.js';

const dir = join(fixturesDir(), 'schedulers');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const worst = new Map<string, { max_abs: number; rel_l2: number; file: string }>();

describe('scheduler golden cases on the host backend', () => {
  it('finds scheduler cases', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(`${file} matches diffusers step for step`, async () => {
      const fx = (await loadFixture(join(dir, file))) as SchedulerFixture;
      const result: SchedulerCaseResult = await runSchedulerCase(fx);
      const prev = worst.get(result.scheduler);
      if (!prev || result.worst.rel_l2 > prev.rel_l2) worst.set(result.scheduler, { ...result.worst, file });
      const failed = result.checks.filter((c) => !c.pass);
      expect(failed).toEqual([]);
    });
  }

  afterAll(() => {
    for (const [name, w] of worst) console.log(`worst ${name}: max_abs ${w.max_abs.toExponential(2)}, rel_l2 ${w.rel_l2.toExponential(2)} (${w.file})`);
  });
});
