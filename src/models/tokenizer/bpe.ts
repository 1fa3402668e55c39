import { toByteLevel } from './byte-unicode.js';

/** Marks the last symbol of a word in CLIP's vocabulary: `cat</w>` ends a word, `cat` does not. */
export const END_OF_WORD = '</w>';

/** Cached words beyond this many are dropped, so a long-lived tokenizer stays small. */
const CACHE_LIMIT = 50_000;

/**
 * Byte-level BPE with CLIP's end-of-word marker. A word is turned into byte-level symbols, its
 * last one gets `</w>`, and the adjacent pair with the lowest merge rank is merged everywhere in
 * the word (left to right, without overlap) until no pair has a rank.
 */
export class BytePairEncoder {
  private readonly cache = new Map<string, readonly number[]>();

  /**
   * @param vocab token → id; must hold every symbol the merges can produce.
   * @param ranks `"first second"` → merge rank (lower merges first).
   */
  constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly ranks: ReadonlyMap<string, number>,
  ) {}

  /** The ids of one word (a piece of `splitWords`). Repeated words come from a cache. */
  encodeWord(word: string): readonly number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const ids = this.merge(toByteLevel(word)).map((symbol) => this.idOf(symbol));
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  private merge(byteLevel: string): string[] {
    let symbols = Array.from(byteLevel);
    symbols[symbols.length - 1] += END_OF_WORD;
    while (symbols.length > 1) {
      let best = Number.POSITIVE_INFINITY;
      let first = '';
      let second = '';
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < best) {
          best = rank;
          first = symbols[i];
          second = symbols[i + 1];
        }
      }
      if (best === Number.POSITIVE_INFINITY) break;
      const merged: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (symbols[i] === first && symbols[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(symbols[i]);
        }
      }
      symbols = merged;
    }
    return symbols;
  }

  private idOf(symbol: string): number {
    const id = this.vocab.get(symbol);
    // The loader checks that the vocabulary holds every byte symbol and every merge result.
    if (id === undefined) throw new Error(`BPE produced ${JSON.stringify(symbol)}, which is not in the vocabulary.`);
    return id;
  }
}
