/**
 * Abuse suite (issue 17): JSON files nested to overflow the stack, or whose faults carry
 * terminal escapes and bidi overrides into error messages.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiffusersRepo } from '../../../src/io/diffusers-repo.js';
import { JsonParseError } from '../../../src/io/errors.js';
import { MAX_JSON_DEPTH, parseLenientJson } from '../../../src/io/json.js';
import { LocalFolderSource } from '../../../src/io/sources/local-folder-source.js';
import { rejection } from './deadline.js';
import { thrown } from '../../helpers/thrown.js';

const DEPTH = 100_000;

describe('JSON abuse', () => {
  it('refuses a scheduler config nested 100 000 deep with a JsonParseError, not a stack overflow of the lenient parser', () => {
    // NaN sends the file past JSON.parse to the recursive lenient parser. The outer object is
    // level 1, so the 64th "[" (column 33 + 64) opens level 65.
    const text = `{"lambda_min_clipped": NaN, "x": ${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}`;
    const err = thrown(() => parseLenientJson(text, 'scheduler/scheduler_config.json'));
    expect(err).toBeInstanceOf(JsonParseError);
    expect(err).toMatchObject({ file: 'scheduler/scheduler_config.json', line: 1, column: 33 + MAX_JSON_DEPTH });
    expect(err.message).toBe(
      `scheduler/scheduler_config.json:1:${33 + MAX_JSON_DEPTH}: invalid JSON: nesting deeper than ${MAX_JSON_DEPTH} levels; model files nest a few levels, so this one is corrupt or not the file expected here`,
    );
  });

  it('refuses a model_index.json nested 100 000 deep that JSON.parse alone would accept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omni-json-abuse-'));
    try {
      writeFileSync(join(dir, 'model_index.json'), `{\n"_class_name": "StableDiffusionPipeline",\n"x": ${'{"a": '.repeat(DEPTH)}1${'}'.repeat(DEPTH)}}`);
      const err = await rejection(DiffusersRepo.open(new LocalFolderSource(dir)));
      expect(err).toBeInstanceOf(JsonParseError);
      expect(err).toMatchObject({ file: `file/${dir}/model_index.json`, line: 3 });
      expect(err.message).toContain('nesting deeper than 64 levels');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('escapes a control character in a bad escape instead of quoting it raw', () => {
    const err = thrown(() => parseLenientJson('{"a": "\\\u0007", "n": NaN}', 'config.json'));
    expect(err).toBeInstanceOf(JsonParseError);
    expect(err.message).toBe('config.json:1:8: invalid JSON: bad escape "\\\\x07"');
  });

  it('escapes bidi overrides and terminal escapes at a syntax error instead of quoting them raw', () => {
    const err = thrown(() => parseLenientJson('{"a": \u202eevil\u001b[2J}', 'config.json'));
    expect(err).toBeInstanceOf(JsonParseError);
    expect(err.message).toBe('config.json:1:7: invalid JSON: expected a value, found "\\u202Eevil\\x1B[2J}"');
  });

  it('counts no brackets inside strings, so deep-looking text in a value is fine', () => {
    const value = parseLenientJson(`{"s": "${'['.repeat(1000)}\\"{{{", "n": NaN}`, 'config.json') as { s: string };
    expect(value.s).toBe(`${'['.repeat(1000)}"{{{`);
  });
});
