import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../../src/cli/args.js';
import { generateCommand, generateOptionsFrom } from '../../../src/cli/commands/generate.js';
import { serveCommand, serveOptionsFrom } from '../../../src/cli/commands/serve.js';
import { engineConfigOf } from '../../../src/cli/engine-options.js';
import { runCli } from '../../../src/cli/main.js';

const generate = (...argv: string[]) => generateOptionsFrom(parseArgs(generateCommand, argv));
const scratch = mkdtempSync(join(tmpdir(), 'omni-vae-option-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('--vae (generate and serve)', () => {
  it('passes a Hub id to the engine config as the field vae, and leaves it out when not given', async () => {
    const config = await engineConfigOf(generate('x', '--model', 'stabilityai/stable-diffusion-xl-base-1.0', '--vae', 'madebyollin/sdxl-vae-fp16-fix').engine);
    expect(config).toMatchObject({ executorClass: 'webgpu', modelNameOrPath: 'stabilityai/stable-diffusion-xl-base-1.0', vae: 'madebyollin/sdxl-vae-fp16-fix' });
    expect(await engineConfigOf(generate('x', '--model', 'org/model').engine)).not.toHaveProperty('vae');
  });

  it('is an option of serve too', async () => {
    const options = serveOptionsFrom(parseArgs(serveCommand, ['--model', 'org/model', '--vae', 'org/vae']), {});
    expect(options.engine.vae).toBe('org/vae');
    expect((await engineConfigOf(options.engine)).vae).toBe('org/vae');
  });

  it('resolves a local VAE folder to an absolute path, and refuses a missing one naming --vae before any load', async () => {
    const config = await engineConfigOf(generate('x', '--model', 'org/model', '--vae', scratch).engine);
    expect(config.vae).toBe(scratch);
    const missing = join(scratch, 'no-such-vae');
    await expect(engineConfigOf(generate('x', '--model', 'org/model', '--vae', missing).engine)).rejects.toThrow(`VAE folder ${missing} does not exist (--vae ${missing})`);
  });

  it('is refused with executors that do not load it (exit code 2, naming the option)', async () => {
    for (const executor of [['--executor', 'http', '--url', 'http://127.0.0.1:8000'], ['--executor', 'onnx']]) {
      let err = '';
      const code = await runCli(['generate', 'x', ...executor, '--vae', 'org/vae'], { out: () => undefined, err: (s) => (err += s) });
      expect(code).toBe(2);
      expect(err).toContain(`option --vae works with --executor webgpu, not ${executor[1]}`);
    }
  });

  it('is listed in the help of both commands', async () => {
    for (const command of ['generate', 'serve']) {
      let out = '';
      await runCli([command, '--help'], { out: (s) => (out += s), err: (s) => (out += s) });
      expect(out).toMatch(/--vae\b.*madebyollin\/sdxl-vae-fp16-fix/);
    }
  });
});
