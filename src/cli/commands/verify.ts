import { resolve } from 'node:path';
import { loadFixture } from '../../io/fixture.js';
import { formatComparison, type CompareResult } from '../../verify/compare.js';
import { verifyFixture } from '../../verify/run-fixture.js';
import { CliUsageError, type CommandSpec } from '../args.js';
import { defineCommand } from '../registry.js';

/**
 * `omni-diffusion verify <fixture>`: runs a golden fixture (a component, tokenizer or pipeline
 * directory, or a scheduler case file) through our code on the GPU, prints one
 * `max_abs=… rel_l2=…` line per output, and ends with PASS or FAIL.
 */
export const verifyCommand: CommandSpec = {
  name: 'verify',
  summary: 'Check our numerics against a golden fixture (component, tokenizer, scheduler case or pipeline).',
  usage: 'verify <fixture-dir | scheduler-case.json> [--fp16]',
  options: [{ name: 'fp16', type: 'boolean', description: 'use the fixture float16 weights and tolerance_fp16 (UNet fixtures)' }],
  async run(args, io) {
    const [target] = args.positionals;
    if (!target || args.positionals.length > 1) throw new CliUsageError('expects exactly one fixture path');
    const path = resolve(target);
    const fx = await loadFixture(path);
    const results = await verifyFixture(fx, { fp16: args.options.fp16 === true });
    for (const r of results) io.out(`${formatVerifyLine(r)}\n`);
    const pass = results.length > 0 && results.every((r) => r.pass);
    io.out(`${pass ? 'PASS' : 'FAIL'}\n`);
    return pass ? 0 : 1;
  },
};

function formatVerifyLine(r: CompareResult): string {
  if (Number.isNaN(r.tolerance.maxAbs)) return `${r.name}: max_abs=${r.maxAbs.toExponential(3)} rel_l2=${r.relL2.toExponential(3)} ${r.pass ? 'PASS' : 'FAIL'}`;
  return formatComparison(r);
}

defineCommand(verifyCommand);
