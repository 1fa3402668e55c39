import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../../../src/cli/args.js';
import { generateCommand, generateOptionsFrom } from '../../../../src/cli/commands/generate.js';
import { engineConfigOf } from '../../../../src/cli/engine-options.js';
import { runCli } from '../../../../src/cli/main.js';
import { bundledModelPath } from '../../../../src/cli/package-root.js';
import { repoRoot } from '../../../helpers/fixtures.js';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (s) => (out += s), err: (s) => (err += s) });
  return { code, out, err };
}

const options = (...argv: string[]) => generateOptionsFrom(parseArgs(generateCommand, argv));
const scratch = mkdtempSync(join(tmpdir(), 'omni-generate-args-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('omni-diffusion generate arguments', () => {
  it('leaves every sampling field to the model when only a prompt is given, writing out.png with the bundled model on webgpu', async () => {
    const o = options('a red circle on a blue background');
    expect(o.request).toEqual({ prompt: 'a red circle on a blue background' });
    expect(o.out).toBe('out.png');
    expect(o.engine).toEqual({ executor: 'webgpu', model: null, url: null, dtype: 'auto', variant: null });
    expect(o.taesd).toBeNull();
    expect(await engineConfigOf(o.engine)).toEqual({ dtype: 'auto', executorClass: 'webgpu', modelNameOrPath: bundledModelPath() });
  });

  it('maps every option onto the request', () => {
    const o = options(
      'a cat', '-o', 'cats/cat.png', '--negative', 'blurry', '--steps', '4', '--guidance', '0', '--seed', '7', '--scheduler', 'euler-a',
      '--width', '64', '--height', '48', '--n', '3', '--decoder', 'taesd', '--dtype', 'f32', '--eta', '0.5',
      '--prompt-syntax', 'plain',
    );
    expect(o.request).toEqual({
      prompt: 'a cat', negativePrompt: 'blurry', numInferenceSteps: 4, guidanceScale: 0, seed: 7, scheduler: 'euler-a',
      width: 64, height: 48, numOutputsPerPrompt: 3, decoder: 'taesd', eta: 0.5, promptSyntax: 'plain',
    });
    expect(o.out).toBe('cats/cat.png');
    expect(o.taesd).toBe('auto');
    expect(o.engine.dtype).toBe('f32');
  });

  it("maps the SDXL options onto SDXL's request fields (sizes as diffusers' (height, width) pairs)", () => {
    const o = options('a fox', '--prompt-2', 'in the style of a woodcut', '--negative', 'blurry', '--negative-2', 'dark', '--original-size', '1024,768', '--crop-top-left', '16, 0', '--target-size', '512,512');
    expect(o.request).toEqual({
      prompt: 'a fox', negativePrompt: 'blurry', prompt2: 'in the style of a woodcut', negativePrompt2: 'dark',
      originalSize: [1024, 768], cropsCoordsTopLeft: [16, 0], targetSize: [512, 512],
    });
  });

  it.each([
    [['--original-size', '1024'], /--original-size expects two integers of at least 1 as A,B/],
    [['--target-size', '0,512'], /--target-size expects two integers of at least 1/],
    [['--crop-top-left', '-1,0'], /--crop-top-left expects two integers of at least 0/],
    [['--prompt-2', 'x', '--executor', 'http', '--url', 'http://127.0.0.1:1'], /SDXL options .* not available with --executor http/],
  ])('refuses bad SDXL options %j, naming them', (extra, message) => {
    expect(() => options('a fox', ...extra)).toThrow(message);
  });

  it('finds the bundled model in the package', () => {
    expect(bundledModelPath()).toBe(join(repoRoot, 'models', 'tiny-shapes'));
  });

  it('sends to a server with --executor http --url, naming the model only when --model is given', async () => {
    expect(await engineConfigOf(options('x', '--executor', 'http', '--url', 'http://127.0.0.1:8000').engine)).toEqual({
      dtype: 'auto', executorClass: 'http', numGpus: 0, http: { baseUrl: 'http://127.0.0.1:8000' },
    });
    const named = await engineConfigOf(options('x', '--executor', 'http', '--url', 'http://127.0.0.1:8000', '--model', 'stabilityai/sd-turbo').engine);
    expect(named.modelNameOrPath).toBe('stabilityai/sd-turbo');
  });

  it('makes --url the http fallback of the webgpu executor, and passes Hub ids and --variant through', async () => {
    const config = await engineConfigOf(options('x', '--url', 'https://example.test', '--model', 'stabilityai/sd-turbo', '--variant', 'fp16').engine);
    expect(config).toEqual({
      dtype: 'auto', variant: 'fp16', executorClass: 'webgpu', modelNameOrPath: 'stabilityai/sd-turbo', fallback: 'http', http: { baseUrl: 'https://example.test' },
    });
  });

  it('resolves a local model folder to an absolute path', async () => {
    const config = await engineConfigOf(options('x', '--model', scratch).engine);
    expect(config.modelNameOrPath).toBe(scratch);
  });

  it.each([
    [[], 'expects a prompt'],
    [['a', 'red', 'circle'], 'put the prompt in quotes'],
    [['x', '--steps', '0'], 'option --steps must be at least 1'],
    [['x', '--steps', '2.5'], 'option --steps expects an integer'],
    [['x', '--steps', 'many'], 'option --steps expects a number'],
    [['x', '--guidance', '-1'], 'option --guidance must be at least 0'],
    [['x', '--seed', '-3'], 'option --seed must be at least 0'],
    [['x', '--width', '30'], 'option --width must be a multiple of 8'],
    [['x', '--height', '4'], 'option --height must be at least 8'],
    [['x', '--n', '0'], 'option --n must be between 1 and 64'],
    [['x', '--scheduler', 'heun'], 'option --scheduler expects one of'],
    [['x', '--decoder', 'png'], 'option --decoder expects vae, taesd; got "png"'],
    [['x', '--prompt-syntax', 'comfy'], 'option --prompt-syntax expects a1111, plain; got "comfy"'],
    [['x', '--taesd', 'madebyollin/taesd'], 'option --taesd goes with --decoder taesd'],
    [['x', '--dtype', 'bf16'], 'option --dtype expects auto, f16, f32'],
    [['x', '--executor', 'cuda'], 'option --executor expects webgpu, http, onnx; got "cuda"'],
    [['x', '--executor', 'http'], 'option --executor http needs --url'],
    [['x', '--url', 'ftp://host'], 'option --url expects an http:// or https:// URL'],
    [['x', '--executor', 'http', '--url', 'http://h', '--width', '64'], 'options --width and --height go together with --executor http'],
    [['x', '--executor', 'http', '--url', 'http://h', '--scheduler', 'euler'], 'option --scheduler is not available with --executor http'],
    [['x', '--executor', 'http', '--url', 'http://h', '--eta', '1'], 'option --eta is not available with --executor http'],
    [['x', '--eta', '1.5'], 'option --eta must be between 0 and 1'],
    [['x', '--frobnicate'], 'unknown option --frobnicate'],
  ])('rejects %j with exit code 2, naming the option, and the usage', async (argv, message) => {
    const { code, err, out } = await run(['generate', ...argv]);
    expect(err).toContain(message);
    expect(err).toContain('Usage: omni-diffusion generate');
    expect(code).toBe(2);
    expect(out).toBe('');
  });

  it('fails with exit code 1 naming a model folder that does not exist, before touching the GPU', async () => {
    const missing = join(scratch, 'no-such-model');
    const { code, err } = await run(['generate', 'x', '--model', missing, '-o', join(scratch, 'x.png')]);
    expect(code).toBe(1);
    expect(err).toContain('ModelFileNotFoundError');
    expect(err).toContain(`Model folder ${missing} does not exist`);
  });

  it('fails with exit code 1 when --model names a file that is not a checkpoint', async () => {
    const file = join(scratch, 'model.txt');
    writeFileSync(file, '');
    const { code, err } = await run(['generate', 'x', '--model', file]);
    expect(code).toBe(1);
    expect(err).toContain('is a file, not a folder');
  });

  it('takes a .safetensors --model as a single-file checkpoint: an empty one fails reading its header (exit code 1)', async () => {
    const file = join(scratch, 'model.safetensors');
    writeFileSync(file, '');
    const { code, err } = await run(['generate', 'x', '--model', file, '--config-from', scratch]);
    expect(code).toBe(1);
    expect(err).toContain('SafetensorsError');
    expect(err).toContain('too short for the 8-byte header length');
  });

  it('documents the numbered outputs of --n in its help', async () => {
    const { code, out } = await run(['generate', '--help']);
    expect(code).toBe(0);
    expect(out).toContain('out-1.png, out-2.png');
  });
});
