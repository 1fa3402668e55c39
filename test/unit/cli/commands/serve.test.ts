import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../../../src/cli/args.js';
import { exposureWarnings, serveCommand, serveOptionsFrom } from '../../../../src/cli/commands/serve.js';
import { runCli } from '../../../../src/cli/main.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const options = (...argv: string[]) => serveOptionsFrom(parseArgs(serveCommand, argv), {});

describe('omni-diffusion serve arguments', () => {
  it('listens on 127.0.0.1:8000 with the bundled model on webgpu, in an engine thread, by default', () => {
    expect(options()).toEqual({
      engine: { executor: 'webgpu', model: null, url: null, dtype: 'auto', variant: null },
      port: 8000,
      host: '127.0.0.1',
      engineThread: true,
      server: {
        maxBodyBytes: 1024 * 1024,
        maxQueuedRequests: 32,
        maxPromptLength: 4096,
        maxConnections: 128,
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 30_000,
        keepAliveTimeoutMs: 5_000,
        allowedHosts: [],
      },
    });
  });

  it('takes port, host, limits and the engine options', () => {
    const o = options('--port', '0', '--host', '0.0.0.0', '--max-body-bytes', '4096', '--max-queue', '2', '--executor', 'http', '--url', 'http://10.0.0.2:8000');
    expect(o).toMatchObject({ port: 0, host: '0.0.0.0', server: { maxBodyBytes: 4096, maxQueuedRequests: 2 }, engine: { executor: 'http', url: 'http://10.0.0.2:8000' } });
  });

  it('takes the public-service flags: prompt length, connections, timeouts, allowed hosts', () => {
    const o = options(
      '--max-prompt-length', '500', '--max-connections', '16', '--headers-timeout-ms', '2000', '--request-timeout-ms', '4000',
      '--keep-alive-timeout-ms', '1000', '--allowed-hosts', 'images.example.com, 10.0.0.5,[fd00::1]',
    );
    expect(o.server).toMatchObject({ maxPromptLength: 500, maxConnections: 16, headersTimeoutMs: 2000, requestTimeoutMs: 4000, keepAliveTimeoutMs: 1000, allowedHosts: ['images.example.com', '10.0.0.5', '[fd00::1]'] });
    expect(o.server.apiKey).toBeUndefined();
  });

  it('warns a server reachable from other machines about a missing key and the Host check; loopback gets no warning', () => {
    expect(exposureWarnings(options())).toEqual([]);
    const open = exposureWarnings(options('--host', '0.0.0.0'));
    expect(open).toHaveLength(2);
    expect(open[0]).toMatch(/without an API key.*--api-key or OMNI_DIFFUSION_API_KEY/);
    expect(open[1]).toMatch(/--allowed-hosts/);
    expect(exposureWarnings(options('--host', '0.0.0.0', '--api-key', 'sk-1', '--allowed-hosts', 'images.example.com'))).toEqual([]);
  });

  it('runs the engine in-process with --in-process', () => {
    expect(options('--in-process').engineThread).toBe(false);
  });

  it('takes the API key from --api-key, else from OMNI_DIFFUSION_API_KEY', () => {
    const parse = (argv: string[], env: Record<string, string>) => serveOptionsFrom(parseArgs(serveCommand, argv), env).server.apiKey;
    expect(parse(['--api-key', 'sk-flag'], { OMNI_DIFFUSION_API_KEY: 'sk-env' })).toBe('sk-flag');
    expect(parse([], { OMNI_DIFFUSION_API_KEY: 'sk-env' })).toBe('sk-env');
    expect(() => parse([], { OMNI_DIFFUSION_API_KEY: '' })).toThrow('environment variable OMNI_DIFFUSION_API_KEY must be visible ASCII characters without spaces, and is empty (unset it to serve without a key)');
    expect(() => parse(['--api-key', 'two words'], {})).toThrow('option --api-key must be visible ASCII characters without spaces');
  });

  it.each([
    [['--port', '70000'], 'option --port must be between 0 and 65535'],
    [['--port', 'http'], 'option --port expects a number'],
    [['--port', '80.5'], 'option --port expects an integer'],
    [['--max-body-bytes', '10'], 'option --max-body-bytes must be at least 1024'],
    [['--max-prompt-length', '0'], 'option --max-prompt-length must be at least 1'],
    [['--max-connections', '1.5'], 'option --max-connections expects an integer'],
    [['--headers-timeout-ms', '5'], 'option --headers-timeout-ms must be at least 100'],
    [['--headers-timeout-ms', '20000', '--request-timeout-ms', '10000'], 'option --request-timeout-ms (10000) must be at least --headers-timeout-ms (20000)'],
    [['--allowed-hosts', 'http://evil.example'], 'option --allowed-hosts takes host names or addresses without scheme, port or path'],
    [['--allowed-hosts', 'localhost:8000'], 'got "localhost:8000"'],
    [['--allowed-hosts', ','], 'option --allowed-hosts expects a comma-separated list of host names'],
    [['--api-key', ''], 'option --api-key expects a value'],
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
