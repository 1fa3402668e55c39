import { describe, expect, it } from 'vitest';
import { runCli } from '../../../../src/cli/main.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('omni-diffusion verify (moved to the dev tool)', () => {
  it('fails with exit 1 and says to run npm run verify from a checkout', async () => {
    for (const argv of [['verify', 'some/fixture'], ['verify', 'some/fixture', '--fp16'], ['verify']]) {
      const { code, out, err } = await run(argv);
      expect(code).toBe(1);
      expect(out).toBe('');
      expect(err).toMatch(/npm run verify -- <fixture-dir \| scheduler-case\.json>/);
      expect(err).toMatch(/checkout/);
    }
  });

  it('is still listed in the help, pointing at the dev tool', async () => {
    const { out } = await run(['--help']);
    expect(out).toMatch(/verify\s+Moved: run `npm run verify/);
  });
});
