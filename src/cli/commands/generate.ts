import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DiffusionEngine } from '../../api/engine.js';
import type { DecoderKind, DiffusionRequestInit, PromptSyntax } from '../../api/request.js';
import { encodePng } from '../../io/png-encode.js';
import { schedulerNames } from '../../schedulers/registry.js';
import { CliUsageError, type CommandSpec, type ParsedArgs } from '../args.js';
import { ENGINE_OPTIONS, engineChoiceFrom, engineConfigOf, modelLabel, type EngineChoice } from '../engine-options.js';
import { choiceOption, integerOption, numberOption, stringOption } from '../option-values.js';
import { numberedPaths } from '../output-paths.js';
import { AUTO_TAESD, DEFAULT_TAESD, DEFAULT_TAESDXL } from '../../pipelines/taesd-repo.js';
import { hasSdxlOptions, SDXL_OPTIONS, sdxlRequestFields } from '../sdxl-options.js';
import { loraOptions } from '../lora-option.js';
import { LoadBar } from '../load-bar.js';
import { formatSeconds, ProgressBar } from '../progress-bar.js';


/** A `generate` command line, checked. */
export interface GenerateOptions {
  engine: EngineChoice;
  /** The request, without signal and progress callback; fields left out take the model's defaults. */
  request: Omit<DiffusionRequestInit, 'signal' | 'onProgress'>;
  /** Output path; with several images, numbered (see `numberedPaths`). */
  out: string;
  /** TAESD repo for `--decoder taesd`; null otherwise. */
  taesd: string | null;
}

/** Reads and checks a `generate` command line; mistakes are `CliUsageError`s naming the option. */
export function generateOptionsFrom(args: ParsedArgs): GenerateOptions {
  if (args.positionals.length !== 1) {
    throw new CliUsageError(args.positionals.length === 0 ? 'expects a prompt' : `expects one prompt, got ${args.positionals.length} words: put the prompt in quotes`);
  }
  const engine = engineChoiceFrom(args);
  const remote = engine.executor === 'http';
  const size = (name: 'width' | 'height'): number | undefined => {
    const v = integerOption(args, name, { min: 8 });
    if (v !== undefined && v % 8 !== 0) throw new CliUsageError(`option --${name} must be a multiple of 8, got ${v}`);
    return v;
  };
  const width = size('width');
  const height = size('height');
  if (remote && (width === undefined) !== (height === undefined)) {
    throw new CliUsageError('options --width and --height go together with --executor http (the server takes one "WxH" size)');
  }
  const scheduler = stringOption(args, 'scheduler');
  if (scheduler !== undefined && !schedulerNames().includes(scheduler)) {
    throw new CliUsageError(`option --scheduler expects one of ${schedulerNames().join(', ')}; got "${scheduler}"`);
  }
  const decoder = choiceOption<DecoderKind>(args, 'decoder', ['vae', 'taesd']);
  const promptSyntax = choiceOption<PromptSyntax>(args, 'prompt-syntax', ['a1111', 'plain']);
  const eta = numberOption(args, 'eta', { min: 0, max: 1 });
  for (const [name, value] of [['scheduler', scheduler], ['decoder', decoder], ['eta', eta]] as const) {
    if (remote && value !== undefined) throw new CliUsageError(`option --${name} is not available with --executor http: the images API has no such field`);
  }
  if (remote && hasSdxlOptions(args)) throw new CliUsageError('the SDXL options (--prompt-2, --negative-2, --original-size, --crop-top-left, --target-size) are not available with --executor http: the images API has no such fields');
  const taesd = stringOption(args, 'taesd') ?? null;
  if (taesd !== null && decoder !== 'taesd') throw new CliUsageError('option --taesd goes with --decoder taesd');
  const request: GenerateOptions['request'] = { prompt: args.positionals[0]!, ...sdxlRequestFields(args) };
  const negative = args.options.negative;
  if (negative !== undefined) request.negativePrompt = String(negative);
  const steps = integerOption(args, 'steps');
  if (steps !== undefined) request.numInferenceSteps = steps;
  const guidance = numberOption(args, 'guidance', { min: 0 });
  if (guidance !== undefined) request.guidanceScale = guidance;
  const seed = integerOption(args, 'seed', { min: 0 });
  if (seed !== undefined) request.seed = seed;
  if (width !== undefined) request.width = width;
  if (height !== undefined) request.height = height;
  const n = integerOption(args, 'n', { min: 1, max: 64 });
  if (n !== undefined) request.numOutputsPerPrompt = n;
  if (scheduler !== undefined) request.scheduler = scheduler;
  if (eta !== undefined) request.eta = eta;
  if (decoder !== undefined) request.decoder = decoder;
  if (promptSyntax !== undefined) request.promptSyntax = promptSyntax;
  const loras = loraOptions(args);
  if (loras.length > 0) {
    if (remote) throw new CliUsageError('option --lora is not available with --executor http: the images API has no such field');
    request.loras = loras;
  }
  return { engine, request, out: stringOption(args, 'out') ?? 'out.png', taesd: decoder === 'taesd' ? (taesd ?? AUTO_TAESD) : null };
}

/**
 * `omni-diffusion generate "<prompt>" -o out.png`: one text-to-image request through
 * `DiffusionEngine`, with a progress bar on stderr; writes the PNG(s) and prints each file, the
 * adapter and the timings on stdout.
 */
export const generateCommand: CommandSpec = {
  name: 'generate',
  summary: 'Generate images from a prompt and write them as PNG (default model: the bundled tiny-shapes).',
  usage: 'generate "<prompt>" [-o out.png] [--steps N] [--guidance G] [--seed S] [--n N] [--model <hub id|url|dir>] [options]',
  options: [
    { name: 'out', alias: 'o', type: 'string', description: 'output PNG (default out.png); with --n above 1: out-1.png, out-2.png, ...' },
    { name: 'negative', type: 'string', description: 'negative prompt (used when guidance is above 1)' },
    { name: 'prompt-syntax', type: 'string', description: 'a1111: (emphasis:1.2), [less], BREAK and prompts up to 225 tokens (the default on webgpu); plain: the text as it is, cut at 75 tokens' },
    { name: 'steps', type: 'number', description: "denoising steps (default: the model's, 20 for tiny-shapes)" },
    { name: 'guidance', type: 'number', description: "classifier-free guidance scale, 0 or 1 = off (default: the model's, as its model_index.json states for tiny-shapes)" },
    { name: 'seed', type: 'number', description: 'seed of the first image; image i uses seed + i (default: random, printed)' },
    { name: 'scheduler', type: 'string', description: "scheduler: ddim, euler, euler-a, pndm, dpm++2m, dpm++2m-karras, lcm or a class name (default: the model's)" },
    { name: 'eta', type: 'number', description: 'DDIM eta in [0, 1]: fresh noise per step, 0 = deterministic (default 0; DDIM only)' },
    { name: 'width', type: 'number', description: "image width, a multiple of 8 (default: the model's)" },
    { name: 'height', type: 'number', description: "image height, a multiple of 8 (default: the model's)" },
    { name: 'n', type: 'number', description: 'images for the prompt (default 1)' },
    { name: 'decoder', type: 'string', description: 'vae (default) or taesd (faster, approximate; SD models)' },
    { name: 'lora', type: 'string', repeatable: true, description: 'a LoRA (.safetensors, kohya or diffusers form: file, URL or owner/repo/file) as <file>[:scale], scale default 1; repeat to stack' },
    { name: 'taesd', type: 'string', description: `TAESD repo for --decoder taesd (default: ${DEFAULT_TAESDXL} for SDXL models, ${DEFAULT_TAESD} for the others)` },
    ...SDXL_OPTIONS,
    ...ENGINE_OPTIONS,
  ],
  async run(args, io) {
    const options = generateOptionsFrom(args);
    const started = performance.now();
    const config = await engineConfigOf(options.engine);
    io.err(`Loading ${modelLabel(options.engine)} on ${options.engine.executor}...\n`);
    const loadBar = new LoadBar(io.err, io.errIsTTY === true);
    const engine = await DiffusionEngine.create({ ...config, ...(options.taesd === null ? {} : { taesd: options.taesd }) }, { onLoadProgress: (e) => loadBar.update(e) }).finally(() =>
      loadBar.finish(),
    );
    try {
      if (engine.fallbackReason !== null) io.err(`Running on ${engine.executorName}: ${engine.fallbackReason}\n`);
      const loadedMs = performance.now() - started;
      const bar = new ProgressBar(io.err, io.errIsTTY === true);
      let steps = 0;
      const output = await engine
        .generate({
          ...options.request,
          ...(io.signal ? { signal: io.signal } : {}),
          onProgress: (p) => {
            steps = p.total;
            bar.update(p);
          },
        })
        .finally(() => bar.finish());
      const paths = numberedPaths(options.out, output.images.length);
      for (const [i, image] of output.images.entries()) {
        const path = resolve(paths[i]!);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, encodePng(image));
        io.out(`${paths[i]}: ${image.width}x${image.height}${image.seed === undefined ? '' : `, seed ${image.seed}`}\n`);
      }
      const m = output.metrics;
      const where = typeof m.adapter === 'string' ? m.adapter : `none (${engine.executorName} executor${typeof m.ep === 'string' ? `, ${m.ep}` : ''})`;
      io.out(`adapter: ${where}\n`);
      const denoise = steps > 0 && typeof m.perStepMs === 'number' && m.perStepMs > 0 ? `${steps} steps at ${(1000 / m.perStepMs).toFixed(1)} steps/s, ` : '';
      const genMs = typeof m.totalMs === 'number' ? m.totalMs : performance.now() - started - loadedMs;
      io.out(`time: ${denoise}generation ${formatSeconds(genMs / 1000)}, load ${formatSeconds(loadedMs / 1000)}, total ${formatSeconds((performance.now() - started) / 1000)}\n`);
      return 0;
    } finally {
      await engine.close();
    }
  },
};
