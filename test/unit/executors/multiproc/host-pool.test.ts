import { describe, expect, it } from 'vitest';
import { HostPool } from '../../../../src/executors/multiproc/host-pool.js';

/** A job the test finishes by hand, recording which member it got. */
function manualJob(log: string[], name: string): { job: (member: string) => Promise<string>; finish: () => void } {
  let finish = (): void => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    job: async (member) => {
      log.push(`${name}@${member}`);
      await done;
      return name;
    },
    finish: () => finish(),
  };
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('HostPool', () => {
  it('runs as many jobs at once as it has members, and hands freed members to waiting jobs first come, first served', async () => {
    const log: string[] = [];
    const pool = new HostPool(['h0', 'h1']);
    const jobs = ['a', 'b', 'c', 'd'].map((n) => manualJob(log, n));
    const results = jobs.map((j) => pool.use(j.job));
    await tick();
    expect(log).toEqual(['a@h0', 'b@h1']);
    jobs[1]!.finish();
    await tick();
    expect(log).toEqual(['a@h0', 'b@h1', 'c@h1']);
    jobs[0]!.finish();
    await tick();
    expect(log).toEqual(['a@h0', 'b@h1', 'c@h1', 'd@h0']);
    jobs[2]!.finish();
    jobs[3]!.finish();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('gives a member back when its job throws', async () => {
    const pool = new HostPool(['only']);
    await expect(pool.use(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(pool.use(async (m) => m)).resolves.toBe('only');
  });

  it('refuses an empty pool', () => {
    expect(() => new HostPool([])).toThrow(RangeError);
  });
});
