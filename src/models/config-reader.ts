import { describeValue } from '../api/errors.js';
import { ModelConfigError } from './errors.js';

type Json = unknown;

/**
 * Upper bounds of config integers. Each sizes an allocation or a loop before any weight is
 * read (a layer count builds layers, `sample_size` sizes the default latents), so a hostile
 * config could otherwise ask for terabytes or hang the loader. Each bound is far above every
 * published model, so no real config comes near it.
 */
export const CONFIG_LIMITS = {
  /** Any integer field (widths, vocabulary sizes, token ids): the largest published are ~256k (LLM vocabularies). */
  maxInt: 2 ** 20,
  /** Entries of a per-block list (`block_out_channels`, `down_block_types`): 3 or 4 in SD, SDXL and TAESD. */
  maxListLength: 64,
  /** Transformer layers (`num_hidden_layers`): 12 to 32 in the CLIP encoders, at most ~126 in any LLM. */
  maxLayers: 256,
  /** Attention heads per layer: 5 to 20 in SD/SDXL UNets and CLIP encoders, at most 128 in any LLM. */
  maxHeads: 256,
  /** Repeats of a block (`layers_per_block`, TAESD's `num_decoder_blocks`): 1 to 3 in every model. */
  maxBlockRepeats: 64,
  /** UNet `sample_size` in latent pixels: 64 (SD 1.x, SD-Turbo), 96 (SD 2.x 768), 128 (SDXL); 1024 is 8192 px. */
  maxSampleSize: 1024,
  /** `max_position_embeddings` of a text encoder: 77 for every CLIP, 248 for Long-CLIP, 512 for T5. */
  maxPositionEmbeddings: 8192,
} as const;

/** Bounds of an integer field: `min` defaults to 1, `max` to `CONFIG_LIMITS.maxInt`. */
export interface IntRange {
  min?: number;
  max?: number;
}

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

  /**
   * An integer in `range` (default: positive, at most `CONFIG_LIMITS.maxInt`). Absent or null
   * fields take `fallback` when given.
   */
  int(field: string, fallback?: number, range: IntRange = {}): number {
    return this.checkInt(field, this.valueOr(field, fallback), range);
  }

  /** An integer in `range`, or null. */
  intOrNull(field: string, range: IntRange = {}): number | null {
    const v = this.raw(field);
    if (v === undefined || v === null) return null;
    return this.int(field, undefined, range);
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

  /** A non-empty list (at most `CONFIG_LIMITS.maxListLength` long) of integers in `range`. */
  intList(field: string, fallback?: readonly number[], range: IntRange = {}): number[] {
    const v = this.valueOr(field, fallback);
    if (!Array.isArray(v) || v.length === 0) this.fail(field, v, 'a non-empty list of positive integers');
    this.checkListLength(field, v);
    return v.map((item, i) => this.checkInt(`${field}[${i}]`, item, range));
  }

  /** A non-empty list (at most `CONFIG_LIMITS.maxListLength` long) whose entries are each one of `allowed`. */
  choiceList<const S extends string>(field: string, allowed: readonly S[], fallback?: readonly S[]): S[] {
    const v = this.valueOr(field, fallback);
    if (!Array.isArray(v) || v.length === 0) this.fail(field, v, `a non-empty list of ${describeChoices(allowed)}`);
    this.checkListLength(field, v);
    return v.map((item, i) => {
      if (typeof item !== 'string' || !(allowed as readonly string[]).includes(item)) this.fail(`${field}[${i}]`, item, describeChoices(allowed));
      return item as S;
    });
  }

  /** An integer in `range`, or a list of them of length `length` (one per block); returned as the list. */
  intPerBlock(field: string, length: number, fallback?: number, range: IntRange = {}): number[] {
    const v = this.valueOr(field, fallback);
    if (Array.isArray(v)) {
      if (v.length !== length) this.fail(field, v, `one integer or a list of ${length} (one per down block)`);
      return this.intList(field, undefined, range);
    }
    return new Array<number>(length).fill(this.int(field, fallback, range));
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

  private checkInt(field: string, v: Json, range: IntRange): number {
    const min = range.min ?? 1;
    const max = range.max ?? CONFIG_LIMITS.maxInt;
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) this.fail(field, v, `an integer from ${min} to ${max}`);
    return v as number;
  }

  private checkListLength(field: string, list: readonly Json[]): void {
    if (list.length > CONFIG_LIMITS.maxListLength) this.fail(field, list, `a list of at most ${CONFIG_LIMITS.maxListLength} entries`);
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
