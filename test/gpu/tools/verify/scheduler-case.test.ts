import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gpuLatentBackend } from '../../../../src/webgpu/kernels/scheduler-step.js';
import { runSchedulerCase } from '../../../../tools/verify/scheduler-case.js';
import { loadFixture, type SchedulerFixture } from '../../../../tools/verify/fixture/fixture.js';
import { fixturesDir } from '../../../helpers/fixtures.js';
import { gpuRuntime } from '../../helpers/device.js';

const dir = join(fixturesDir(), 'schedulers');
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
const worst = new Map<string, { max_abs: number; rel_l2: number; file: string }>();

describe('scheduler golden cases through the WGSL step kernels', () => {
  it('finds scheduler cases', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  for (const file of files) {
    it(`${file} matches diffusers step for step on the GPU`, async () => {
      const rt = await gpuRuntime();
      const fx = (await loadFixture(join(dir, file))) as SchedulerFixture;
      const live = rt.pool.stats.liveBytes;
      const result = await runSchedulerCase(fx, gpuLatentBackend(rt));
      await rt.sync();
      const prev = worst.get(result.scheduler);
      if (!prev || result.worst.rel_l2 > prev.rel_l2) worst.set(result.scheduler, { ...result.worst, file });
      expect(result.checks.filter((c) => !c.pass)).toEqual([]);
      // Every step's intermediates and the multistep state were handed back.
      expect(rt.pool.stats.liveBytes).toBe(live);
    });
  }

  afterAll(() => {
    for (const [name, w] of worst) console.log(`worst ${name} (GPU): max_abs ${w.max_abs.toExponential(2)}, rel_l2 ${w.rel_l2.toExponential(2)} (${w.file})`);
  });
});
