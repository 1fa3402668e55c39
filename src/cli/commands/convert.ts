import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { formatBytes } from '../../api/format-bytes.js';
import { isCheckpointFileName } from '../../io/single-file/pickle-guard.js';
import { openSingleFile } from '../../io/single-file/open-single-file.js';
import { cachedModelSource } from '../../io/sources/cached-source.js';
import { CliUsageError, type CommandSpec } from '../args.js';
import { writeDiffusersFolder } from '../convert-checkpoint.js';

/**
 * `omni-diffusion convert <file.safetensors> [--config-from <repo>] -o <dir>`: writes a
 * single-file (original LDM/CompVis or SGM layout) SD 1.x, 2.x or SDXL checkpoint as a diffusers
 * folder, which then loads like any diffusers repo (and quantizes with `quantize`). See
 * `writeDiffusersFolder`.
 */
export const convertCommand: CommandSpec = {
  name: 'convert',
  summary: 'Write a single-file (original-layout) .safetensors checkpoint as a diffusers model folder.',
  usage: 'convert <checkpoint.safetensors> [--config-from <repo>] -o <out-dir>',
  options: [
    {
      name: 'config-from',
      type: 'string',
      description: 'Hub id, URL or folder of the diffusers repo whose configs, tokenizer and scheduler go with the weights (default: the published repo of the architecture: stable-diffusion-v1-5/stable-diffusion-v1-5 for SD 1.x, stabilityai/stable-diffusion-2-1 (v-prediction) for SD 2.x, stabilityai/stable-diffusion-xl-base-1.0 for SDXL)',
    },
    { name: 'out', alias: 'o', type: 'string', description: 'output folder: new, or empty' },
  ],
  async run(args, io) {
    const [checkpoint] = args.positionals;
    if (!checkpoint || args.positionals.length > 1) throw new CliUsageError('expects exactly one checkpoint file');
    if (!isCheckpointFileName(checkpoint)) throw new CliUsageError(`${checkpoint} is not a checkpoint file: convert reads one .safetensors file (path, URL or Hub file owner/name/file.safetensors)`);
    const out = args.options.out;
    if (typeof out !== 'string' || out === '') throw new CliUsageError('needs -o <out-dir>, the folder to write the diffusers model to');
    const configFrom = args.options['config-from'];
    if (configFrom !== undefined && (typeof configFrom !== 'string' || configFrom === '')) throw new CliUsageError('option --config-from expects a Hub id, URL or folder');
    const output = resolve(out);
    // Everything about the checkpoint is checked (pickle, architecture, keys) before the output is touched.
    const source = await openSingleFile(checkpoint, {
      configFrom: configFrom ?? null,
      openRepo: (name) => cachedModelSource(name),
      ...(io.signal ? { signal: io.signal } : {}),
    });
    const created = await prepareOutput(output, out);
    io.err(`Converting ${source.id} (${source.architecture}, configs from ${source.configFrom.id}) to ${output}\n`);
    try {
      const result = await writeDiffusersFolder(source, output, {
        ...(io.signal ? { signal: io.signal } : {}),
        onFile: (path, bytes) => io.err(`  ${path}: ${formatBytes(bytes)}\n`),
      });
      io.out(`wrote ${result.files.length} files (${formatBytes(result.weightBytes)} of weights) to ${output}\n`);
    } catch (err) {
      // The folder was new or empty: everything in it is this run's, and half a model is no use.
      if (created) await rm(output, { recursive: true, force: true });
      else for (const entry of await readdir(output)) await rm(join(output, entry), { recursive: true, force: true });
      throw err;
    }
    return 0;
  },
};

/** Checks that `output` is a new or empty folder and creates it; true when this run created it. */
async function prepareOutput(output: string, shown: string): Promise<boolean> {
  const info = await stat(output).catch(() => null);
  if (!info) {
    await mkdir(output, { recursive: true });
    return true;
  }
  if (!info.isDirectory()) throw new CliUsageError(`the output ${shown} exists and is not a folder`);
  if ((await readdir(output)).length > 0) throw new CliUsageError(`the output folder ${shown} is not empty; convert writes a new folder`);
  return false;
}
