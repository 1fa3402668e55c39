import { describe, expect, it } from 'vitest';
import { jsonDepthExceededAt } from '../../../src/io/json-depth.js';

const jsonNestsDeeperThan = (text: string, maxDepth: number): boolean => jsonDepthExceededAt(text, maxDepth) >= 0;

describe('jsonDepthExceededAt', () => {
  it('counts arrays and objects together', () => {
    expect(jsonNestsDeeperThan('{"a": [{"b": []}]}', 4)).toBe(false);
    expect(jsonNestsDeeperThan('{"a": [{"b": []}]}', 3)).toBe(true);
    expect(jsonNestsDeeperThan('"x"', 0)).toBe(false);
    expect(jsonNestsDeeperThan('[]', 0)).toBe(true);
  });

  it('counts levels, not brackets: siblings do not add up', () => {
    expect(jsonNestsDeeperThan(`[${'[], '.repeat(1000)}[]]`, 2)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonNestsDeeperThan(`{"prompt": "${'[{'.repeat(100)}"}`, 1)).toBe(false);
    expect(jsonNestsDeeperThan(String.raw`{"prompt": "a \" [[[[ \\", "b": [[1]]}`, 2)).toBe(true);
    expect(jsonNestsDeeperThan(String.raw`{"prompt": "a \" [[[[ \\", "b": [1]}`, 2)).toBe(false);
  });

  it('stops at the first level over the limit, in time linear in the text', () => {
    const text = '['.repeat(2_000_000);
    const started = performance.now();
    expect(jsonNestsDeeperThan(text, 32)).toBe(true);
    expect(performance.now() - started).toBeLessThan(50);
  });
});
