import { describe, expect, it } from 'vitest';
import { CliUsageError, formatUsage, parseArgs, type CommandSpec } from '../../../src/cli/args.js';

const spec: CommandSpec = {
  name: 'demo',
  summary: 'A demo command.',
  usage: 'demo <prompt> [options]',
  options: [
    { name: 'steps', type: 'number', description: 'denoising steps' },
    { name: 'out', alias: 'o', type: 'string', description: 'output file' },
    { name: 'verbose', type: 'boolean', description: 'talk more' },
  ],
  run: async () => 0,
};

describe('CLI argument parsing', () => {
  it('parses positionals, numbers, strings, aliases, flags and --key=value', () => {
    const parsed = parseArgs(spec, ['a cat', '--steps', '4', '-o', 'x.png', '--verbose', '--steps=5']);
    expect(parsed).toEqual({ positionals: ['a cat'], options: { steps: 5, out: 'x.png', verbose: true }, help: false });
  });

  it('keeps negative numbers and everything after -- as positionals', () => {
    expect(parseArgs(spec, ['-3', '--', '--steps']).positionals).toEqual(['-3', '--steps']);
  });

  it('takes a negative number as the value of the option before it', () => {
    expect(parseArgs(spec, ['--steps', '-3', '-o', '-1.5']).options).toEqual({ steps: -3, out: '-1.5' });
  });

  it('reads -o=x like --out=x, --flag=false as false, and -h or --help anywhere before -- as help', () => {
    expect(parseArgs(spec, ['-o=x.png', '--verbose=false']).options).toEqual({ out: 'x.png', verbose: false });
    expect(parseArgs(spec, ['a', '-h']).help).toBe(true);
    expect(parseArgs(spec, ['--help', 'a']).help).toBe(true);
    expect(parseArgs(spec, ['--', '--help'])).toEqual({ positionals: ['--help'], options: {}, help: false });
  });

  it.each([
    [['--nope'], /unknown option --nope/],
    [['--nope=3'], /unknown option --nope/],
    [['-x'], /unknown option -x/],
    [['--steps'], /--steps needs a value/],
    [['--steps', 'many'], /--steps expects a number, got "many"/],
    [['--steps='], /--steps expects a number, got ""/],
  ])('rejects %j with a usage error', (argv, message) => {
    expect(() => parseArgs(spec, argv)).toThrow(CliUsageError);
    expect(() => parseArgs(spec, argv)).toThrow(message);
  });

  it('formats usage with every option', () => {
    const text = formatUsage(spec);
    expect(text).toContain('Usage: omni-diffusion demo <prompt> [options]');
    expect(text).toMatch(/-o, --out <string>\s+output file/);
    expect(text).toMatch(/--verbose\s+talk more/);
  });
});
