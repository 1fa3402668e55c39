import { parseArgs as splitArgs } from 'node:util';
import { registerErrorClass } from '../api/error-registry.js';
import { OmniDiffusionError } from '../api/errors.js';

/** A CLI option: `--name value` (string/number) or `--name` (boolean flag). */
export interface OptionSpec {
  name: string;
  type: 'string' | 'number' | 'boolean';
  description: string;
  alias?: string;
  /** A string option that may be given several times: its value is the list, in order. */
  repeatable?: boolean;
}

/** Parsed command line of one subcommand. */
export interface ParsedArgs {
  positionals: string[];
  options: Record<string, string | number | boolean | string[]>;
  help: boolean;
}

/** Where a command writes, and what it may need from its terminal. */
export interface CliIO {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Whether `err` goes to a terminal: progress bars redraw in place only then. Left out: false. */
  errIsTTY?: boolean;
  /** Stops a long-running command (`serve`) as SIGINT does. */
  signal?: AbortSignal;
}

/** A subcommand of the `omni-diffusion` CLI. */
export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  options: OptionSpec[];
  run(args: ParsedArgs, io: CliIO): Promise<number>;
}

/** Bad arguments; the CLI prints the message and the usage, and exits with code 2. Code `CLI_USAGE`. */
export class CliUsageError extends OmniDiffusionError {
  static {
    registerErrorClass(this, 'CliUsageError', 'CLI_USAGE');
  }
}

/**
 * Parses `argv` against the command's options; unknown options, missing values and bad numbers
 * are usage errors. `--help`/`-h` anywhere before `--` asks for the usage. Splitting the words
 * is `node:util`'s; what they mean (numbers, `--flag=false`, negative numbers as words) is ours.
 */
export function parseArgs(spec: CommandSpec, argv: string[]): ParsedArgs {
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  const config: Record<string, { type: 'string' | 'boolean'; short?: string }> = { help: { type: 'boolean', short: 'h' } };
  for (const o of spec.options) config[o.name] = { type: o.type === 'boolean' ? 'boolean' : 'string', ...(o.alias ? { short: o.alias } : {}) };
  // node:util reads "-3" as the short option "3"; here it is a word (a positional, or the value
  // of `--seed -3`). Each token carries its index, so values are read back from `argv`.
  const words = argv.map((arg) => (NEGATIVE_NUMBER.test(arg) ? arg.slice(1) : arg));
  const { tokens } = splitArgs({ args: words, options: config, strict: false, allowPositionals: true, tokens: true });
  const parsed: ParsedArgs = { positionals: [], options: {}, help: false };
  for (const token of tokens) {
    if (token.kind === 'positional') {
      parsed.positionals.push(argv[token.index]!);
      continue;
    }
    if (token.kind !== 'option') continue;
    const raw = valueOf(token, argv);
    if (token.name === 'help') {
      parsed.help = raw !== 'false';
      continue;
    }
    const opt = byName.get(token.name);
    if (!opt) throw new CliUsageError(`unknown option ${token.rawName}`);
    if (opt.type === 'boolean') {
      parsed.options[opt.name] = raw !== 'false';
      continue;
    }
    if (raw === undefined) throw new CliUsageError(`option --${opt.name} needs a value`);
    if (opt.type === 'number') {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new CliUsageError(`option --${opt.name} expects a number, got "${raw}"`);
      parsed.options[opt.name] = n;
    } else if (opt.repeatable) {
      const before = parsed.options[opt.name];
      parsed.options[opt.name] = [...(Array.isArray(before) ? before : []), raw];
    } else {
      parsed.options[opt.name] = raw;
    }
  }
  return parsed;
}

const NEGATIVE_NUMBER = /^-\d/;

/** An option token's value as typed: `--out=x`, `-o=x` and `-ox` inline, `--out x` the next word. */
function valueOf(token: { rawName: string; index: number; value?: string; inlineValue?: boolean }, argv: string[]): string | undefined {
  if (token.value === undefined) return undefined;
  if (!token.inlineValue) return argv[token.index + 1];
  // node:util keeps the "=" of "-o=x"; "--out=x" and "-o=x" both mean "x".
  return token.rawName.startsWith('--') ? token.value : token.value.replace(/^=/, '');
}

/** The usage text of one command. */
export function formatUsage(spec: CommandSpec): string {
  const lines = [`Usage: omni-diffusion ${spec.usage}`, '', spec.summary];
  if (spec.options.length > 0) {
    lines.push('', 'Options:');
    for (const o of spec.options) {
      const flag = `${o.alias ? `-${o.alias}, ` : ''}--${o.name}${o.type === 'boolean' ? '' : ` <${o.type}>`}${o.repeatable ? ' ...' : ''}`;
      lines.push(`  ${flag.padEnd(26)} ${o.description}`);
    }
  }
  return lines.join('\n');
}
