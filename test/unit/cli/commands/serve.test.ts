import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../../../src/cli/args.js';
import { serveCommand, serveOptionsFrom } from '../../../../src/cli/commands/serve.js';
import { runCli } from '../../../../src/cli/main.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const options = (...argv: string[]) => serveOptionsFrom(parseArgs(serveCommand, argv));

describe('omni-diffusion serve arguments', () => {
  it('listens on 127.0.0.1:8000 with the bundled model on webgpu by default', () => {
    expect(options()).toEqual({
      engine: { executor: 'webgpu', model: null, url: null, dtype: 'auto', variant: null },
      port: 8000,
      host: '127.0.0.1',
      maxBodyBytes: 1024 * 1024,
      maxQueuedRequests: 32,
    });
  });

  it('takes port, host, limits and the engine options', () => {
    const o = options('--port', '0', '--host', '0.0.0.0', '--max-body-bytes', '4096', '--max-queue', '2', '--executor', 'http', '--url', 'http://10.0.0.2:8000');
    expect(o).toMatchObject({ port: 0, host: '0.0.0.0', maxBodyBytes: 4096, maxQueuedRequests: 2, engine: { executor: 'http', url: 'http://10.0.0.2:8000' } });
  });

  it.each([
    [['--port', '70000'], 'option --port must be between 0 and 65535'],
    [['--port', 'http'], 'option --port expects a number'],
    [['--port', '80.5'], 'option --port expects an integer'],
    [['--max-body-bytes', '10'], 'option --max-body-bytes must be at least 1024'],
    [['--executor', 'http'], 'option --executor http needs --url'],
    [['stabilityai/sd-turbo'], 'takes no positional arguments'],
    [['--model'], 'option --model needs a value'],
  ])('rejects %j with exit code 2, naming the option, and the usage', async (argv, message) => {
    const { code, err } = await run(['serve', ...argv]);
    expect(err).toContain(message);
    expect(err).toContain('Usage: omni-diffusion serve');
    expect(code).toBe(2);
  });

  it('fails with exit code 1 naming a missing model folder, before listening', async () => {
    const { code, err, out } = await run(['serve', '--port', '0', '--model', './no/such/model']);
    expect(code).toBe(1);
    expect(err).toMatch(/Model folder \S+no\/such\/model does not exist/);
    expect(out).not.toContain('Listening');
  });
});
