/** A CLI option: `--name value` (string/number) or `--name` (boolean flag). */
export interface OptionSpec {
  name: string;
  type: 'string' | 'number' | 'boolean';
  description: string;
  alias?: string;
}

/** Parsed command line of one subcommand. */
export interface ParsedArgs {
  positionals: string[];
  options: Record<string, string | number | boolean>;
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

/** Bad arguments; the CLI prints the message and the usage, and exits with code 2. */
export class CliUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliUsageError';
  }
}

/** Parses `argv` against the command's options; unknown options and bad numbers are usage errors. */
export function parseArgs(spec: CommandSpec, argv: string[]): ParsedArgs {
  const byName = new Map<string, OptionSpec>();
  for (const o of spec.options) {
    byName.set(`--${o.name}`, o);
    if (o.alias) byName.set(`-${o.alias}`, o);
  }
  const parsed: ParsedArgs = { positionals: [], options: {}, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      parsed.help = true;
      continue;
    }
    if (arg === '--') {
      parsed.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      parsed.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const key = eq === -1 ? arg : arg.slice(0, eq);
    const opt = byName.get(key);
    if (!opt) throw new CliUsageError(`unknown option ${key}`);
    if (opt.type === 'boolean') {
      parsed.options[opt.name] = eq === -1 ? true : arg.slice(eq + 1) !== 'false';
      continue;
    }
    const raw = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (raw === undefined) throw new CliUsageError(`option --${opt.name} needs a value`);
    if (opt.type === 'number') {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new CliUsageError(`option --${opt.name} expects a number, got "${raw}"`);
      parsed.options[opt.name] = n;
    } else {
      parsed.options[opt.name] = raw;
    }
  }
  return parsed;
}

/** The usage text of one command. */
export function formatUsage(spec: CommandSpec): string {
  const lines = [`Usage: omni-diffusion ${spec.usage}`, '', spec.summary];
  if (spec.options.length > 0) {
    lines.push('', 'Options:');
    for (const o of spec.options) {
      const flag = `${o.alias ? `-${o.alias}, ` : ''}--${o.name}${o.type === 'boolean' ? '' : ` <${o.type}>`}`;
      lines.push(`  ${flag.padEnd(26)} ${o.description}`);
    }
  }
  return lines.join('\n');
}
