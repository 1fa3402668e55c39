import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/main.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

describe('omni-diffusion CLI', () => {
  it('prints help with exit code 0 for --help, and 2 with no command', async () => {
    expect(await run(['--help'])).toMatchObject({ code: 0, out: expect.stringContaining('Usage: omni-diffusion <command>') });
    expect((await run([])).code).toBe(2);
  });

  it('prints the package version', async () => {
    const { code, out } = await run(['--version']);
    expect(code).toBe(0);
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('rejects an unknown command with exit code 2 and a hint', async () => {
    const { code, err } = await run(['paint']);
    expect(code).toBe(2);
    expect(err).toContain('unknown command "paint"');
    expect(err).toContain('--help');
  });
});
