import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isWebGpuUnavailable, WEBGPU_INSTALL_HINT } from '../../src/cli/webgpu-hint.js';
import { formatComparison, type CompareResult } from './compare.js';
import { loadFixture } from './fixture/fixture.js';
import { verifyFixture } from './run-fixture.js';

/** Where the dev CLI writes (tests capture it). */
export interface VerifyIO {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const VERIFY_USAGE = [
  'Usage: npm run verify -- <fixture-dir | scheduler-case.json> [--fp16]',
  '',
  'Checks our numerics against a golden fixture (component, tokenizer, scheduler case, pipeline, or a community/ one):',
  'one max_abs/rel_l2 line per output, then PASS or FAIL.',
  '',
  'Options:',
  '  --fp16   use the fixture float16 weights and tolerance_fp16 (UNet fixtures)',
  '  --help   show this help',
].join('\n');

/** Exit codes as the `omni-diffusion` CLI's: 0 PASS, 1 FAIL or a bad fixture, 2 bad arguments, 3 no WebGPU. */
const EXIT = { pass: 0, fail: 1, usage: 2, unavailable: 3 } as const;

/**
 * `npm run verify -- <fixture>`: the development check that used to be `omni-diffusion verify`.
 * Runs a golden fixture (a component, tokenizer or pipeline directory, or a scheduler case file)
 * through our code on the GPU, prints one `max_abs=… rel_l2=…` line per output and ends with
 * PASS or FAIL. Resolves with the exit code.
 */
export async function runVerify(argv: readonly string[], io: VerifyIO = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.err(`verify: ${err instanceof Error ? err.message : String(err)}\n${VERIFY_USAGE}\n`);
    return EXIT.usage;
  }
  if (parsed.values.help) {
    io.out(`${VERIFY_USAGE}\n`);
    return EXIT.pass;
  }
  if (parsed.positionals.length !== 1) {
    io.err(`verify: expects exactly one fixture path\n${VERIFY_USAGE}\n`);
    return EXIT.usage;
  }
  try {
    const fx = await loadFixture(resolve(parsed.positionals[0]!));
    const results = await verifyFixture(fx, { fp16: parsed.values.fp16 === true });
    for (const r of results) io.out(`${formatVerifyLine(r)}\n`);
    const pass = results.length > 0 && results.every((r) => r.pass);
    io.out(`${pass ? 'PASS' : 'FAIL'}\n`);
    return pass ? EXIT.pass : EXIT.fail;
  } catch (err) {
    io.err(`verify: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
    if (isWebGpuUnavailable(err)) {
      io.err(`\n${WEBGPU_INSTALL_HINT}\n`);
      return EXIT.unavailable;
    }
    return (err as Error | null)?.name === 'ExecutorUnavailableError' ? EXIT.unavailable : EXIT.fail;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { fp16: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
}

/** Scheduler checks carry NaN tolerances (their bounds are per check): no tolerance column for them. */
function formatVerifyLine(r: CompareResult): string {
  if (Number.isNaN(r.tolerance.maxAbs)) return `${r.name}: max_abs=${r.maxAbs.toExponential(3)} rel_l2=${r.relL2.toExponential(3)} ${r.pass ? 'PASS' : 'FAIL'}`;
  return formatComparison(r);
}
