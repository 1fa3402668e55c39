import type { CommandSpec } from './args.js';
import { cacheCommand } from './commands/cache.js';
import { convertCommand } from './commands/convert.js';
import { generateCommand } from './commands/generate.js';
import { planCommand } from './commands/plan.js';
import { quantizeCommand } from './commands/quantize.js';
import { serveCommand } from './commands/serve.js';
import { verifyCommand } from './commands/verify.js';

/**
 * The CLI's subcommands by name, listed here rather than registered by each module on import:
 * a bundler that trusts the package's `sideEffects` may drop an import kept only for its effect.
 */
export const commands: Readonly<Record<string, CommandSpec>> = Object.fromEntries(
  [cacheCommand, convertCommand, generateCommand, planCommand, quantizeCommand, serveCommand, verifyCommand].map((spec) => [spec.name, spec]),
);
