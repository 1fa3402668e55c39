import { describe, expect, it } from 'vitest';
import { WORD_CACHE_ENTRIES, WORD_CACHE_MAX_LENGTH, WordCache } from '../../../../src/models/tokenizer/word-cache.js';

describe('WordCache', () => {
  it(`holds at most ${WORD_CACHE_ENTRIES} words, dropping the least recently used first`, () => {
    const cache = new WordCache<number>();
    for (let i = 0; i < WORD_CACHE_ENTRIES; i++) cache.set(`w${i}`, i);
    expect(cache.get('w0')).toBe(0); // w0 is now the most recent; w1 the oldest
    cache.set('new', -1);
    expect(cache.size).toBe(WORD_CACHE_ENTRIES);
    expect(cache.get('w1')).toBeUndefined();
    expect(cache.get('w0')).toBe(0);
    expect(cache.get('new')).toBe(-1);
    for (let i = 0; i < 3 * WORD_CACHE_ENTRIES; i++) cache.set(`x${i}`, i);
    expect(cache.size).toBe(WORD_CACHE_ENTRIES);
    expect(cache.get(`x${3 * WORD_CACHE_ENTRIES - 1}`)).toBe(3 * WORD_CACHE_ENTRIES - 1);
  });

  it(`does not keep words longer than ${WORD_CACHE_MAX_LENGTH} units, so distinct long words cannot fill memory`, () => {
    const cache = new WordCache<number>();
    cache.set('a'.repeat(WORD_CACHE_MAX_LENGTH), 1);
    cache.set('b'.repeat(WORD_CACHE_MAX_LENGTH + 1), 2);
    expect(cache.get('a'.repeat(WORD_CACHE_MAX_LENGTH))).toBe(1);
    expect(cache.get('b'.repeat(WORD_CACHE_MAX_LENGTH + 1))).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it('replaces the value of a word set again without growing', () => {
    const cache = new WordCache<number>();
    cache.set('cat', 1);
    cache.set('cat', 2);
    expect(cache.size).toBe(1);
    expect(cache.get('cat')).toBe(2);
  });
});
