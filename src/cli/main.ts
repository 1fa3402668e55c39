import { CliUsageError, formatUsage, parseArgs, type CliIO } from './args.js';
import { packageVersion } from './package-root.js';
import { commands } from './registry.js';
import { isWebGpuUnavailable, WEBGPU_INSTALL_HINT } from './webgpu-hint.js';

/**
 * Exit codes: 0 success, 1 failure (a missing model, a failed generation, a FAIL verdict),
 * 2 bad arguments, 3 no executor can run here (no WebGPU adapter, ...).
 */
export const EXIT_UNAVAILABLE = 3;

function help(): string {
  const lines = ['Usage: omni-diffusion <command> [options]', '', 'Commands:'];
  for (const spec of Object.values(commands)) lines.push(`  ${spec.name.padEnd(10)} ${spec.summary}`);
  if (Object.keys(commands).length === 0) lines.push('  (none yet)');
  lines.push('', 'Options:', '  --help       show help (also after a command)', '  --version    print the version');
  return lines.join('\n');
}

/**
 * Runs the CLI with `argv` (without the node and script paths) and resolves with the exit
 * code. Output goes through `io` so tests can capture it.
 */
export async function runCli(
  argv: string[],
  io: CliIO = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s), errIsTTY: process.stderr.isTTY === true },
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
    if (isWebGpuUnavailable(err)) {
      io.err(`\n${WEBGPU_INSTALL_HINT}\n`);
      return EXIT_UNAVAILABLE;
    }
    return (err as Error | null)?.name === 'ExecutorUnavailableError' ? EXIT_UNAVAILABLE : 1;
  }
}
