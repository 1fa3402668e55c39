import { describe, expect, it } from 'vitest';
import { CliUsageError, formatUsage, parseArgs } from '../../../src/cli/args.js';
import { generateCommand, generateOptionsFrom } from '../../../src/cli/commands/generate.js';

const generate = (...argv: string[]) => generateOptionsFrom(parseArgs(generateCommand, argv));

describe('--lora <file>[:scale] (generate)', () => {
  it('is repeatable, keeps the order, and reads the scale after the last colon only when it is a number', () => {
    const { request } = generate('a fox', '--model', 'org/m', '--lora', 'fox.safetensors', '--lora', 'https://host/x/snow.safetensors:0.5', '--lora', 'C:\\loras\\ink.safetensors:-1', '--lora=owner/repo/a.safetensors:1.25');
    expect(request.loras).toEqual([
      { source: 'fox.safetensors' },
      { source: 'https://host/x/snow.safetensors', scale: 0.5 },
      { source: 'C:\\loras\\ink.safetensors', scale: -1 },
      { source: 'owner/repo/a.safetensors', scale: 1.25 },
    ]);
  });

  it('leaves loras out when not given, refuses an empty file, and is not available over http', () => {
    expect(generate('a fox', '--model', 'org/m').request).not.toHaveProperty('loras');
    expect(() => generate('a fox', '--model', 'org/m', '--lora', ':0.5')).toThrow(CliUsageError);
    expect(() => generate('a fox', '--executor', 'http', '--url', 'http://127.0.0.1:1', '--lora', 'x.safetensors')).toThrow(/--lora is not available with --executor http/);
  });

  it('says it repeats in the usage', () => {
    expect(formatUsage(generateCommand)).toMatch(/--lora <string> \.\.\./);
  });
});
