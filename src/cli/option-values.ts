import { CliUsageError, type ParsedArgs } from './args.js';

/** Bounds of a numeric option; both ends inclusive. */
export interface NumberRange {
  min?: number;
  max?: number;
}

/** A number option within `range`, or undefined when it was not given. */
export function numberOption(args: ParsedArgs, name: string, range: NumberRange = {}): number | undefined {
  const value = args.options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw new CliUsageError(`option --${name} expects a number, got ${String(value)}`);
  checkRange(name, value, range);
  return value;
}

/** An integer option within `range` (default: at least 1), or undefined when it was not given. */
export function integerOption(args: ParsedArgs, name: string, range: NumberRange = { min: 1 }): number | undefined {
  const value = numberOption(args, name);
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value)) throw new CliUsageError(`option --${name} expects an integer, got ${value}`);
  checkRange(name, value, range);
  return value;
}

/** A non-empty string option, or undefined when it was not given. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw new CliUsageError(`option --${name} expects a value`);
  return value;
}

/** A string option that must be one of `choices`, or undefined when it was not given. */
export function choiceOption<T extends string>(args: ParsedArgs, name: string, choices: readonly T[]): T | undefined {
  const value = stringOption(args, name);
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new CliUsageError(`option --${name} expects ${choices.join(', ')}; got "${value}"`);
  }
  return value as T;
}

/** An absolute http(s) URL option, or undefined when it was not given. */
export function urlOption(args: ParsedArgs, name: string): string | undefined {
  const value = stringOption(args, name);
  if (value === undefined) return undefined;
  if (!URL.canParse(value) || !['http:', 'https:'].includes(new URL(value).protocol)) {
    throw new CliUsageError(`option --${name} expects an http:// or https:// URL, got "${value}"`);
  }
  return value;
}

function checkRange(name: string, value: number, range: NumberRange): void {
  const { min, max } = range;
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    const bounds = min !== undefined && max !== undefined ? `between ${min} and ${max}` : min !== undefined ? `at least ${min}` : `at most ${max}`;
    throw new CliUsageError(`option --${name} must be ${bounds}, got ${value}`);
  }
}
