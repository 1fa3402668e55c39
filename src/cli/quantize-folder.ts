import { copyFile, mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { DiffusersRepo } from '../io/diffusers-repo.js';
import { parseLenientJson } from '../io/json.js';
import { LocalFolderSource } from '../io/sources/local-folder-source.js';
import { ModelConfigError } from '../models/errors.js';
import { defaultQuantPolicy } from '../quant/policy.js';
import { quantizeCheckpoint } from '../quant/quantize-checkpoint.js';
import { quantizationConfigJson, type QuantizationConfigJson } from '../quant/quantization-config.js';
import type { QuantScheme } from '../quant/scheme.js';

/** The components whose weights `omni-diffusion quantize` quantizes, when the model has them. */
export const QUANTIZED_COMPONENTS = ['text_encoder', 'text_encoder_2', 'unet', 'vae'] as const;

/** One quantized checkpoint. */
export interface QuantizedComponent {
  readonly component: string;
  /** Model-relative path, the same in the input and the output. */
  readonly file: string;
  /** Weights stored quantized, of `tensors` in the output. */
  readonly quantized: number;
  readonly tensors: number;
  readonly inputBytes: number;
  readonly outputBytes: number;
}

/** What `quantizeModelFolder` did. */
export interface QuantizedFolder {
  readonly components: readonly QuantizedComponent[];
  /** Other files copied as they are (configs, tokenizer, scheduler, components without weights). */
  readonly copied: number;
  /** Weight files of quantized components left out: other variants or formats of the weights quantized. */
  readonly skipped: readonly string[];
}

/** Files of a quantized component that hold its weights in another variant or format: they would contradict its `quantization_config`. */
const WEIGHT_FILE = /\.(safetensors|bin|ckpt|pt|pth|msgpack|h5|onnx|onnx_data|gguf)$|\.index\.json$/;
/** Folders never copied: git's, and the Hub client's download metadata (it describes the input's files). */
const NOT_COPIED = new Set(['.git', '.cache']);
/** Output bytes buffered before a write. */
const WRITE_BUFFER_BYTES = 4 << 20;

/**
 * Writes a pre-quantized copy of the diffusers folder `input` to `output` (an empty or new
 * folder): each of `QUANTIZED_COMPONENTS` with safetensors weights is streamed through
 * `quantizeCheckpoint` under `defaultQuantPolicy(scheme)` into the same file name, and its
 * `config.json` gets the `quantization_config`; every other file is copied. A folder without
 * `model_index.json` is a `DiffusersRepoError`; a component already quantized a `ModelConfigError`.
 */
export async function quantizeModelFolder(
  input: string,
  output: string,
  scheme: QuantScheme,
  options: { signal?: AbortSignal; onComponent?: (c: QuantizedComponent) => void } = {},
): Promise<QuantizedFolder> {
  const source = new LocalFolderSource(input);
  const repo = await DiffusersRepo.open(source);
  /** Each quantized component's weights file, model-relative. */
  const weights = new Map<string, string>();
  for (const name of QUANTIZED_COMPONENTS) {
    if (!repo.hasComponent(name)) continue;
    // Without a variant: the plain `model.safetensors` or `diffusion_pytorch_model.safetensors`.
    const file = await firstFile(input, repo.weightCandidates(name));
    // A component without safetensors weights is copied as it is.
    if (!file) continue;
    const config = await repo.readConfig(name);
    if (Object.hasOwn(config, 'quantization_config')) {
      throw new ModelConfigError(`${source.id}/${name}/config.json`, 'quantization_config', config.quantization_config, 'none: this component is already quantized');
    }
    weights.set(name, file);
  }
  const components: QuantizedComponent[] = [];
  const skipped: string[] = [];
  let copied = 0;
  const quantizedFolders = new Set([...weights.keys()]);
  for (const file of await listFiles(input)) {
    const folder = file.includes('/') ? file.slice(0, file.indexOf('/')) : '';
    const target = join(output, ...file.split('/'));
    await mkdir(dirname(target), { recursive: true });
    if (weights.get(folder) === file) {
      const done = await writeQuantized(source, file, target, scheme, options.signal);
      await writeFile(join(output, folder, 'config.json'), withQuantizationConfig(await readFile(join(input, folder, 'config.json'), 'utf8'), done.config, `${source.id}/${folder}/config.json`));
      const summary = { component: folder, file, quantized: done.quantized, tensors: done.tensors, inputBytes: done.inputBytes, outputBytes: done.outputBytes };
      components.push(summary);
      options.onComponent?.(summary);
    } else if (quantizedFolders.has(folder) && file === `${folder}/config.json`) {
      // Written with the checkpoint, once its modules are known.
    } else if (quantizedFolders.has(folder) && WEIGHT_FILE.test(file)) {
      skipped.push(file);
    } else {
      await copyFile(join(input, ...file.split('/')), target);
      copied++;
    }
  }
  return { components, copied, skipped };
}

/** The first of `paths` (model-relative) that is a file in `dir`, or null. */
async function firstFile(dir: string, paths: readonly string[]): Promise<string | null> {
  for (const path of paths) {
    const found = await stat(join(dir, ...path.split('/'))).then(
      (s) => s.isFile(),
      () => false,
    );
    if (found) return path;
  }
  return null;
}

/** Every file under `dir` (symlinks followed), model-relative with `/`, sorted; `NOT_COPIED` folders left out. */
async function listFiles(dir: string, under = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(join(dir, ...under.split('/').filter(Boolean)), { withFileTypes: true });
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (NOT_COPIED.has(e.name)) continue;
    const path = under ? `${under}/${e.name}` : e.name;
    const info = e.isSymbolicLink() ? await stat(join(dir, ...path.split('/'))) : e;
    if (info.isDirectory()) out.push(...(await listFiles(dir, path)));
    else if (info.isFile()) out.push(path);
  }
  return out;
}

/** Streams one checkpoint into its quantized form at `target` (created; never overwritten). */
async function writeQuantized(
  source: LocalFolderSource,
  file: string,
  target: string,
  scheme: QuantScheme,
  signal: AbortSignal | undefined,
): Promise<{ config: QuantizationConfigJson; quantized: number; tensors: number; inputBytes: number; outputBytes: number }> {
  const handle = await open(target, 'wx');
  try {
    const buffer = new Uint8Array(WRITE_BUFFER_BYTES);
    let filled = 0;
    const flush = async (): Promise<void> => {
      if (filled > 0) await handle.write(buffer, 0, filled);
      filled = 0;
    };
    const write = async (bytes: Uint8Array): Promise<void> => {
      if (filled + bytes.byteLength > buffer.byteLength) await flush();
      if (bytes.byteLength > buffer.byteLength) {
        await handle.write(bytes);
        return;
      }
      buffer.set(bytes, filled);
      filled += bytes.byteLength;
    };
    const stream = await source.fetchFile(file, signal ? { signal } : {});
    const policy = defaultQuantPolicy(scheme);
    const done = await quantizeCheckpoint(stream, `${source.id}/${file}`, policy, write, signal ? { signal } : {});
    await flush();
    return {
      config: quantizationConfigJson(scheme, done.layout.modules),
      quantized: done.layout.modules.size,
      tensors: done.layout.tensors.length,
      inputBytes: done.inputBytes,
      outputBytes: done.outputBytes,
    };
  } finally {
    await handle.close();
  }
}

/**
 * A component's `config.json` text with `quantization_config` added as its last field. The
 * original text is kept as it is (a reader's lenient values such as `Infinity` survive); it must
 * be a JSON object.
 */
export function withQuantizationConfig(text: string, config: QuantizationConfigJson, file: string): string {
  const parsed = parseLenientJson(text, file);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ModelConfigError(file, '(root)', parsed, 'a JSON object');
  const end = text.lastIndexOf('}');
  const before = text.slice(0, end).trimEnd();
  const comma = before.endsWith('{') ? '' : ',';
  return `${before}${comma}\n  "quantization_config": ${formatQuantizationConfig(config)}\n}\n`;
}

/** The config as JSON, indented as a field of the top-level object, one module per line. */
function formatQuantizationConfig(config: QuantizationConfigJson): string {
  const { modules, ...fields } = config;
  const lines = Object.entries(fields).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  const mods = Object.entries(modules).map(([k, shape]) => `      ${JSON.stringify(k)}: [${shape.join(', ')}]`);
  lines.push(mods.length > 0 ? `    "modules": {\n${mods.join(',\n')}\n    }` : '    "modules": {}');
  return `{\n${lines.join(',\n')}\n  }`;
}

/** Whether `inner` is `outer` or inside it (both absolute). */
export function isInside(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && !/^[A-Za-z]:/.test(rel));
}
