import type { CommandSpec } from './args.js';

/** The CLI's subcommands by name; each command module registers itself on import. */
export const commands: Record<string, CommandSpec> = {};

/** Registers a subcommand. */
export function defineCommand(spec: CommandSpec): void {
  commands[spec.name] = spec;
}
