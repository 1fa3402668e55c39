import type { CommandSpec } from '../args.js';

/** What `omni-diffusion verify` prints: where the fixture checks went. */
export const VERIFY_MOVED =
  'verify checks our numerics against the golden test fixtures, a development tool that the npm package does not ship. ' +
  'From a checkout of the omni-diffusion repository run: npm run verify -- <fixture-dir | scheduler-case.json> [--fp16]';

/**
 * `omni-diffusion verify`, kept so that scripts calling it learn where it went rather than
 * meeting "unknown command": the fixture readers and runners are test code, which the package no
 * longer ships.
 *
 * @deprecated Run `npm run verify -- <fixture>` (tools/verify) from a checkout instead.
 */
export const verifyCommand: CommandSpec = {
  name: 'verify',
  summary: 'Moved: run `npm run verify -- <fixture>` from a checkout of the repository.',
  usage: 'verify <fixture-dir | scheduler-case.json> [--fp16]',
  options: [{ name: 'fp16', type: 'boolean', description: 'accepted for compatibility; see npm run verify' }],
  run(_args, io) {
    io.err(`omni-diffusion verify: ${VERIFY_MOVED}\n`);
    return Promise.resolve(1);
  },
};
