import { readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatBytes } from '../../api/format-bytes.js';
import { QUANTIZED_DTYPES } from '../../quant/policy.js';
import type { QuantScheme } from '../../quant/scheme.js';
import { CliUsageError, type CommandSpec, type ParsedArgs } from '../args.js';
import { isInside, quantizeModelFolder, type QuantizedComponent } from '../quantize-folder.js';

/**
 * `omni-diffusion quantize <model-dir> --bits 8|4 [--group N] -o <dir>`: writes a pre-quantized
 * copy of a diffusers folder (README, "Quantized models"), which loads without quantizing on the
 * fly, with a smaller download. See `quantizeModelFolder`.
 */
export const quantizeCommand: CommandSpec = {
  name: 'quantize',
  summary: 'Write a pre-quantized copy (int8 or int4 weights) of a local diffusers model folder.',
  usage: 'quantize <model-dir> --bits 8|4 [--group N] -o <out-dir>',
  options: [
    { name: 'bits', type: 'number', description: '8 or 4: bits per quantized value' },
    {
      name: 'group',
      type: 'number',
      // The defaults are dtype int8's and int4's, so that a folder quantized with them loads bit-identical to quantizing on the fly.
      description: `values per f16 scale along a row, a positive multiple of 8 (default ${QUANTIZED_DTYPES.int8.groupSize} for --bits 8, ${QUANTIZED_DTYPES.int4.groupSize} for --bits 4)`,
    },
    { name: 'out', alias: 'o', type: 'string', description: 'output folder: new, or empty' },
  ],
  async run(args, io) {
    const [model] = args.positionals;
    if (!model || args.positionals.length > 1) throw new CliUsageError('expects exactly one model folder');
    const scheme = schemeFrom(args);
    const out = args.options.out;
    if (typeof out !== 'string' || out === '') throw new CliUsageError('needs -o <out-dir>, the folder to write the quantized model to');
    const input = resolve(model);
    const output = resolve(out);
    const inputStat = await stat(input).catch(() => null);
    if (!inputStat?.isDirectory()) {
      throw new CliUsageError(`${model} is not a folder: quantize reads a local diffusers folder (download a Hub model first, e.g. with \`huggingface-cli download <id> --local-dir <dir>\`)`);
    }
    if (isInside(output, input)) throw new CliUsageError(`the output folder ${out} is inside the model folder ${model}; write it elsewhere`);
    const created = await checkOutput(output, out);
    io.err(`Quantizing ${input} to ${output} (int${scheme.bits}, group ${scheme.groupSize})\n`);
    let result;
    try {
      result = await quantizeModelFolder(input, output, scheme, {
        ...(io.signal ? { signal: io.signal } : {}),
        onComponent: (c) => io.err(`  ${c.file}: ${c.quantized} weights quantized\n`),
      });
    } catch (err) {
      // The folder was new or empty: everything in it is this run's, and half a model is no use.
      if (created) await rm(output, { recursive: true, force: true });
      else for (const entry of await readdir(output)) await rm(join(output, entry), { recursive: true, force: true });
      throw err;
    }
    for (const c of result.components) io.out(`${summaryLine(c.component, [c])}\n`);
    io.out(`${summaryLine('total', result.components)}\n`);
    io.out(`copied ${result.copied} other files${result.skipped.length > 0 ? `; left out other weight files: ${result.skipped.join(', ')}` : ''}\n`);
    io.out(`wrote ${output}\n`);
    return 0;
  },
};

/** The scheme the options ask for; bad values are `CliUsageError`s naming the option. */
function schemeFrom(args: ParsedArgs): QuantScheme {
  const bits = args.options.bits;
  if (bits === undefined) throw new CliUsageError('needs --bits 8 or --bits 4');
  if (bits !== 8 && bits !== 4) throw new CliUsageError(`option --bits expects 8 or 4, got ${String(bits)}`);
  const group = args.options.group ?? QUANTIZED_DTYPES[bits === 8 ? 'int8' : 'int4'].groupSize;
  if (typeof group !== 'number' || !Number.isSafeInteger(group) || group < 8 || group % 8 !== 0) {
    throw new CliUsageError(`option --group expects a positive multiple of 8, got ${String(group)}`);
  }
  return { bits, groupSize: group };
}

/** Checks that `output` is a new or empty folder; true when it does not exist yet (this run creates it). */
async function checkOutput(output: string, shown: string): Promise<boolean> {
  const info = await stat(output).catch(() => null);
  if (!info) return true;
  if (!info.isDirectory()) throw new CliUsageError(`the output ${shown} exists and is not a folder`);
  if ((await readdir(output)).length > 0) throw new CliUsageError(`the output folder ${shown} is not empty; quantize writes a new folder`);
  return false;
}

/** `unet: 31 weights quantized, 1999278 -> 712345 bytes (2.00 MB -> 712 kB, 35.6%)`. */
function summaryLine(label: string, components: readonly QuantizedComponent[]): string {
  const before = components.reduce((n, c) => n + c.inputBytes, 0);
  const after = components.reduce((n, c) => n + c.outputBytes, 0);
  const weights = components.reduce((n, c) => n + c.quantized, 0);
  const ratio = before > 0 ? ` ${((100 * after) / before).toFixed(1)}%` : '';
  return `${label}: ${weights} weights quantized, ${before} -> ${after} bytes (${formatBytes(before)} -> ${formatBytes(after)},${ratio})`;
}
