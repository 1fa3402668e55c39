import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { JsonParseError } from '../../../src/io/errors.js';
import { parseLenientJson } from '../../../src/io/json.js';
import { fixturePath } from '../../helpers/fixtures.js';

describe('parseLenientJson', () => {
  it('accepts the bare tokens Python writes: Infinity, -Infinity and NaN', () => {
    const value = parseLenientJson('{"a": -Infinity, "b": [Infinity, NaN, 1e-3], "c": null}', 'cfg.json') as Record<string, unknown>;
    expect(value.a).toBe(-Infinity);
    expect((value.b as number[])[0]).toBe(Infinity);
    expect(Number.isNaN((value.b as number[])[1])).toBe(true);
    expect((value.b as number[])[2]).toBe(0.001);
    expect(value.c).toBeNull();
  });

  it('leaves the same words inside strings alone and keeps escapes', () => {
    const value = parseLenientJson('{"s": "NaN -Infinity \\"q\\" \\u00e9\\n", "n": NaN}', 'cfg.json') as Record<string, unknown>;
    expect(value.s).toBe('NaN -Infinity "q" é\n');
  });

  it('keeps a "__proto__" key as a plain key', () => {
    const value = parseLenientJson('{"__proto__": {"x": 1}, "v": NaN}', 'cfg.json') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'v']);
  });

  it('names the file, line and column of a syntax error', () => {
    const err = (() => {
      try {
        parseLenientJson('{\n  "a": -Infinity,\n  "b": Infinit\n}', 'scheduler/scheduler_config.json');
      } catch (e) {
        return e;
      }
    })() as JsonParseError;
    expect(err).toBeInstanceOf(JsonParseError);
    expect(err.name).toBe('JsonParseError');
    expect(err.file).toBe('scheduler/scheduler_config.json');
    expect([err.line, err.column]).toEqual([3, 8]);
    expect(err.message).toContain('scheduler/scheduler_config.json:3:8');
  });

  it('rejects trailing garbage and unterminated values', () => {
    expect(() => parseLenientJson('{"a": 1} x', 'f.json')).toThrow(JsonParseError);
    expect(() => parseLenientJson('[1, 2', 'f.json')).toThrow(/f\.json:1:6/);
    expect(() => parseLenientJson('{"a": "open', 'f.json')).toThrow(/unterminated string/);
  });

  it('parses every scheduler case of the fixtures, which carry -Infinity', () => {
    const dir = fixturePath('schedulers');
    let infinities = 0;
    for (const name of readdirSync(dir)) {
      const value = parseLenientJson(readFileSync(`${dir}/${name}`, 'utf8'), name) as { config: Record<string, unknown> };
      if (value.config.lambda_min_clipped === -Infinity) infinities++;
    }
    expect(infinities).toBeGreaterThan(0);
  });
});
