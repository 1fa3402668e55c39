import type { JsonObject } from './diffusers-repo.js';
import { FixtureError } from './errors.js';
import type { JsonValue } from './json.js';

/** Typed access to a JSON object's fields; every failure is a `FixtureError` naming the field. */
export class Fields {
  readonly obj: JsonObject;
  constructor(
    readonly file: string,
    value: JsonValue | undefined,
    readonly prefix = '',
  ) {
    if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) {
      throw new FixtureError(file, prefix ? prefix.replace(/\.$/, '') : null, 'expected a JSON object');
    }
    this.obj = value;
  }

  has(field: string): boolean {
    return Object.hasOwn(this.obj, field) && this.obj[field] !== null;
  }

  private get(field: string, expected: string): JsonValue {
    if (!Object.hasOwn(this.obj, field)) throw new FixtureError(this.file, this.prefix + field, `missing; expected ${expected}`);
    return this.obj[field]!;
  }

  private fail(field: string, expected: string, value: JsonValue): never {
    throw new FixtureError(this.file, this.prefix + field, `expected ${expected}, found ${JSON.stringify(value)?.slice(0, 60)}`);
  }

  string(field: string): string {
    const v = this.get(field, 'a string');
    return typeof v === 'string' ? v : this.fail(field, 'a string', v);
  }

  optionalString(field: string): string | null {
    return this.has(field) ? this.string(field) : null;
  }

  number(field: string): number {
    const v = this.get(field, 'a number');
    return typeof v === 'number' ? v : this.fail(field, 'a number', v);
  }

  integer(field: string): number {
    const v = this.get(field, 'an integer');
    return typeof v === 'number' && Number.isInteger(v) ? v : this.fail(field, 'an integer', v);
  }

  oneOf<T extends string>(field: string, options: readonly T[]): T {
    const v = this.get(field, `one of ${options.join(', ')}`);
    return options.includes(v as T) ? (v as T) : this.fail(field, `one of ${options.join(', ')}`, v);
  }

  object(field: string): JsonObject {
    const v = this.get(field, 'an object');
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : this.fail(field, 'an object', v);
  }

  array(field: string): JsonValue[] {
    const v = this.get(field, 'a list');
    return Array.isArray(v) ? v : this.fail(field, 'a list', v);
  }

  stringArray(field: string): string[] {
    const v = this.array(field);
    return v.every((s) => typeof s === 'string') ? (v as string[]) : this.fail(field, 'a list of strings', v);
  }

  numberArray(field: string): number[] {
    const v = this.array(field);
    return v.every((s) => typeof s === 'number') ? (v as number[]) : this.fail(field, 'a list of numbers', v);
  }
}
