import { readFileSync } from 'node:fs';
import { CliUsageError, formatUsage, parseArgs } from './args.js';
import './commands/plan.js';
import './commands/verify.js';
import { commands } from './registry.js';

export { defineCommand } from './registry.js';

/** The package version, read from package.json beside dist/ (built) or src/ (tests). */
function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(/* @vite-ignore */ rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'omni-diffusion' && pkg.version) return pkg.version;
    } catch {
      continue;
    }
  }
  return 'unknown';
}

function help(): string {
  const lines = ['Usage: omni-diffusion <command> [options]', '', 'Commands:'];
  for (const spec of Object.values(commands)) lines.push(`  ${spec.name.padEnd(10)} ${spec.summary}`);
  if (Object.keys(commands).length === 0) lines.push('  (none yet)');
  lines.push('', 'Options:', '  --help       show help (also after a command)', '  --version    print the version');
  return lines.join('\n');
}

/**
 * Runs the CLI with `argv` (without the node and script paths) and resolves with the exit
 * code. Output goes through `out`/`err` so tests can capture it.
 */
export async function runCli(
  argv: string[],
  io: { out: (s: string) => void; err: (s: string) => void } = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(`${help()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    io.out(`${packageVersion()}\n`);
    return 0;
  }
  const spec = commands[name];
  if (!spec) {
    io.err(`omni-diffusion: unknown command "${name}". Run "omni-diffusion --help" for the list.\n`);
    return 2;
  }
  try {
    const parsed = parseArgs(spec, rest);
    if (parsed.help) {
      io.out(`${formatUsage(spec)}\n`);
      return 0;
    }
    return await spec.run(parsed, io);
  } catch (err) {
    if (err instanceof CliUsageError) {
      io.err(`omni-diffusion ${name}: ${err.message}\n${formatUsage(spec)}\n`);
      return 2;
    }
    io.err(`omni-diffusion ${name}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
    return 1;
  }
}
