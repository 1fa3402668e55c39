import { describeValue } from '../errors.js';
import { ModelConfigError } from './errors.js';

type Json = unknown;

/**
 * Typed access to the fields of a parsed `config.json`. Every accessor either returns a value of
 * the requested type or throws `ModelConfigError` naming the file and the field, so config parsers
 * read as a list of the fields that change the math.
 */
export class ConfigReader {
  private readonly fields: Readonly<Record<string, Json>>;

  constructor(
    json: Json,
    /** Shown in errors: the config's file name or path. */
    readonly file: string,
  ) {
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new ModelConfigError(file, '(root)', json, 'a JSON object');
    }
    this.fields = json as Record<string, Json>;
  }

  /** The raw value, `undefined` when absent. */
  raw(field: string): Json {
    return Object.hasOwn(this.fields, field) ? this.fields[field] : undefined;
  }

  fail(field: string, value: unknown, expected: string): never {
    throw new ModelConfigError(this.file, field, value, expected);
  }

  /** A positive integer (or any integer ≥ `min`). Absent or null fields take `fallback` when given. */
  int(field: string, fallback?: number, min = 1): number {
    const v = this.valueOr(field, fallback);
    if (!Number.isInteger(v) || (v as number) < min) this.fail(field, v, `an integer >= ${min}`);
    return v as number;
  }

  /** An integer ≥ `min`, or null. */
  intOrNull(field: string, min = 1): number | null {
    const v = this.raw(field);
    if (v === undefined || v === null) return null;
    return this.int(field, undefined, min);
  }

  /** A finite number. */
  number(field: string, fallback?: number): number {
    const v = this.valueOr(field, fallback);
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, v, 'a finite number');
    return v;
  }

  bool(field: string, fallback?: boolean): boolean {
    const v = this.valueOr(field, fallback);
    if (typeof v !== 'boolean') this.fail(field, v, 'true or false');
    return v;
  }

  /** One of `allowed`; absent or null fields take `fallback` when given. */
  oneOf<const S extends string>(field: string, allowed: readonly S[], fallback?: S): S {
    const v = this.valueOr(field, fallback);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.fail(field, v, describeChoices(allowed));
    return v as S;
  }

  /** A non-empty list of positive integers. */
  intList(field: string, fallback?: readonly number[]): number[] {
    const v = this.valueOr(field, fallback);
    if (!Array.isArray(v) || v.length === 0) this.fail(field, v, 'a non-empty list of positive integers');
    return v.map((item, i) => {
      if (!Number.isInteger(item) || item < 1) this.fail(`${field}[${i}]`, item, 'a positive integer');
      return item as number;
    });
  }

  /** A non-empty list whose entries are each one of `allowed`. */
  choiceList<const S extends string>(field: string, allowed: readonly S[], fallback?: readonly S[]): S[] {
    const v = this.valueOr(field, fallback);
    if (!Array.isArray(v) || v.length === 0) this.fail(field, v, `a non-empty list of ${describeChoices(allowed)}`);
    return v.map((item, i) => {
      if (typeof item !== 'string' || !(allowed as readonly string[]).includes(item)) this.fail(`${field}[${i}]`, item, describeChoices(allowed));
      return item as S;
    });
  }

  /** A positive integer, or a list of them of length `length` (one per block); returned as the list. */
  intPerBlock(field: string, length: number, fallback?: number): number[] {
    const v = this.valueOr(field, fallback);
    if (Array.isArray(v)) {
      if (v.length !== length) this.fail(field, v, `one integer or a list of ${length} (one per down block)`);
      return this.intList(field);
    }
    return new Array<number>(length).fill(this.int(field, fallback));
  }

  /**
   * Fields that must hold their default (or be absent) because any other value changes the math
   * in a way this library does not implement.
   */
  requireDefault(field: string, allowed: readonly Json[]): void {
    const v = this.raw(field);
    if (v === undefined) return;
    if (!allowed.some((a) => a === v)) this.fail(field, v, describeChoices(allowed));
  }

  private valueOr(field: string, fallback: Json): Json {
    const v = this.raw(field);
    if ((v === undefined || v === null) && fallback !== undefined) return fallback;
    if (v === undefined) this.fail(field, v, 'a value (the field has no default)');
    return v;
  }
}

function describeChoices(allowed: readonly Json[]): string {
  const items = allowed.map((a) => describeValue(a));
  return items.length === 1 ? items[0]! : `one of ${items.join(', ')}`;
}
