/** Words cached at most; the least recently used one goes first. */
export const WORD_CACHE_ENTRIES = 10_000;

/**
 * Longest word cached, in UTF-16 units. Real words are far shorter; the limit keeps a stream of
 * distinct long words (a hostile client) from filling the cache with megabytes of keys, so the
 * cache holds at most about `WORD_CACHE_ENTRIES * WORD_CACHE_MAX_LENGTH * 2` bytes of keys.
 */
export const WORD_CACHE_MAX_LENGTH = 64;

/**
 * A least-recently-used cache of encoded words, bounded in entries and in key length. A `Map`
 * iterates in insertion order, so re-inserting on every hit keeps the oldest entry first.
 */
export class WordCache<V> {
  private readonly entries = new Map<string, V>();

  get size(): number {
    return this.entries.size;
  }

  get(word: string): V | undefined {
    const value = this.entries.get(word);
    if (value !== undefined) {
      this.entries.delete(word);
      this.entries.set(word, value);
    }
    return value;
  }

  /** Stores `value` unless `word` is too long to be worth keeping; evicts the oldest entry when full. */
  set(word: string, value: V): void {
    if (word.length > WORD_CACHE_MAX_LENGTH) return;
    this.entries.delete(word);
    if (this.entries.size >= WORD_CACHE_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(word, value);
  }
}
