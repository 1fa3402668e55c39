import { toByteLevel } from './byte-unicode.js';
import { TokenizerInputError } from './errors.js';
import { MergeQueue } from './merge-queue.js';
import { WordCache } from './word-cache.js';

/** Marks the last symbol of a word in CLIP's vocabulary: `cat</w>` ends a word, `cat` does not. */
export const END_OF_WORD = '</w>';

/**
 * Bytes past the last kept token that `encodeWordStart` still encodes. BPE of a word's start is
 * not always the start of the word's BPE: near the cut, merges differ, and a different merge can
 * change the one to its left, and so on. BPE puts no bound on how far back that goes, so this is
 * a measured margin: on CLIP's merges, no cut in random, English-like, repeated, punctuation,
 * CJK, emoji or search-found adversarial words reached further back than 31 bytes (one emoji
 * token); `bpe.test.ts` checks that it stays within 64. 4096 costs well under a millisecond.
 */
export const WORD_LOOKAHEAD_BYTES = 4096;

/**
 * Byte-level BPE with CLIP's end-of-word marker. A word is turned into byte-level symbols, its
 * last one gets `</w>`, and the adjacent pair with the lowest merge rank is merged everywhere in
 * the word (left to right, without overlap) until no pair has a rank.
 *
 * The merges run from a priority queue over a linked list of symbols, O(n log n) in the word's
 * bytes instead of the O(n²) of rescanning the word after every merge, and give the same result:
 * all pending merges of the lowest rank are taken together, leftmost first.
 */
export class BytePairEncoder {
  /** The longest vocabulary symbol, `</w>` included: no token spans more bytes of a word. */
  readonly maxSymbolLength: number;
  private readonly cache = new WordCache<readonly number[]>();
  /** Symbol index → vocabulary id. Symbols are numbered here, so ids may repeat or have gaps. */
  private readonly ids: Int32Array;
  /** `left * symbolCount + right` → merge rank, over symbol indices. */
  private readonly pairRanks = new Map<number, number>();
  private readonly symbolCount: number;
  /** By rank: the symbol indices a merge joins and the one it makes; -1 where no merge has the rank. */
  private readonly mergeLeft: Int32Array;
  private readonly mergeRight: Int32Array;
  private readonly mergeResult: Int32Array;
  /** Byte-level character code → symbol index, without and with `</w>`. */
  private readonly byteSymbol = new Int32Array(0x200).fill(-1);
  private readonly byteSymbolAtEnd = new Int32Array(0x200).fill(-1);

  /**
   * @param vocab token → id; must hold every byte symbol (with and without `</w>`) and every
   *   symbol the merges can produce, as `buildMergeRanks` checks.
   * @param ranks `"first second"` → merge rank (lower merges first).
   */
  constructor(vocab: ReadonlyMap<string, number>, ranks: ReadonlyMap<string, number>) {
    const index = new Map<string, number>();
    this.ids = new Int32Array(vocab.size);
    let longest = 1;
    for (const [symbol, id] of vocab) {
      this.ids[index.size] = id;
      index.set(symbol, index.size);
      longest = Math.max(longest, symbol.length);
    }
    this.maxSymbolLength = longest;
    this.symbolCount = index.size;
    let rankLimit = 0;
    for (const rank of ranks.values()) rankLimit = Math.max(rankLimit, rank + 1);
    this.mergeLeft = new Int32Array(rankLimit).fill(-1);
    this.mergeRight = new Int32Array(rankLimit).fill(-1);
    this.mergeResult = new Int32Array(rankLimit).fill(-1);
    for (const [key, rank] of ranks) {
      const space = key.indexOf(' ');
      const left = index.get(key.slice(0, space));
      const right = index.get(key.slice(space + 1));
      const result = index.get(key.slice(0, space) + key.slice(space + 1));
      // A merge of a symbol outside the vocabulary can never apply: BPE only makes vocabulary symbols.
      if (left === undefined || right === undefined || result === undefined) continue;
      this.mergeLeft[rank] = left;
      this.mergeRight[rank] = right;
      this.mergeResult[rank] = result;
      this.pairRanks.set(left * this.symbolCount + right, rank);
    }
    for (let code = 0; code < 0x200; code++) {
      const char = String.fromCharCode(code);
      this.byteSymbol[code] = index.get(char) ?? -1;
      this.byteSymbolAtEnd[code] = index.get(char + END_OF_WORD) ?? -1;
    }
  }

  /** The ids of one word (a piece of `splitWords`). Repeated short words come from a cache. */
  encodeWord(word: string): readonly number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const ids = this.encodeBytes(toByteLevel(word), true);
    this.cache.set(word, ids);
    return ids;
  }

  /**
   * The first `maxTokens` ids of `encodeWord(word)`, with work bounded by `maxTokens` instead of
   * the word's length. A word of more than `startBytes(maxTokens)` UTF-8 bytes is encoded by its
   * first that many bytes, as a word that goes on (no `</w>`): the kept ids lie in the first
   * `maxTokens * maxSymbolLength` bytes, and the `WORD_LOOKAHEAD_BYTES` after them keep the cut
   * from reaching back to them (a measured margin, not a proof; see there).
   */
  encodeWordStart(word: string, maxTokens: number): readonly number[] {
    const budget = this.startBytes(maxTokens);
    // Every UTF-16 unit is at least one byte, so `budget + 1` units hold at least `budget` whole
    // bytes; a surrogate pair cut at the slice end only changes bytes past `budget`.
    const byteLevel = word.length > budget ? toByteLevel(word.slice(0, budget + 1)) : null;
    const ids = byteLevel !== null && byteLevel.length > budget ? this.encodeBytes(byteLevel.slice(0, budget), false) : this.encodeWord(word);
    return ids.length > maxTokens ? ids.slice(0, maxTokens) : ids;
  }

  /**
   * How many bytes of a long word `encodeWordStart` encodes for `maxTokens` ids. A word of more
   * than this many UTF-16 units is cut, so only its first `startBytes(maxTokens) + 1` units matter.
   */
  startBytes(maxTokens: number): number {
    return maxTokens * this.maxSymbolLength + WORD_LOOKAHEAD_BYTES;
  }

  /**
   * The ids of a word's byte-level characters (`toByteLevel`) after every merge. `endOfWord`
   * marks the last symbol with `</w>`; without it the bytes are the start of a longer word.
   */
  encodeBytes(byteLevel: string, endOfWord: boolean): number[] {
    const n = byteLevel.length;
    if (n === 0) return [];
    if (this.mergeLeft.length * n > Number.MAX_SAFE_INTEGER) {
      throw new TokenizerInputError(`BPE: a word of ${n} bytes is too long for ${this.mergeLeft.length} merges; shorten the prompt.`);
    }
    // Node i is the symbol starting at byte i; a merge keeps the left node and unlinks the right.
    const symbol = new Int32Array(n);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      symbol[i] = this.byteSymbol[byteLevel.charCodeAt(i)]!;
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    next[n - 1] = -1;
    if (endOfWord) symbol[n - 1] = this.byteSymbolAtEnd[byteLevel.charCodeAt(n - 1)]!;
    const queue = new MergeQueue(n);
    for (let i = 0; i + 1 < n; i++) this.enqueue(queue, symbol, i, i + 1);
    const batch: number[] = [];
    while (queue.size > 0) {
      // Every pending merge of the lowest rank, left to right, as one pass of the reference loop.
      // A merge never remakes its own pair (the new symbol is longer than either part), so the
      // pairs it creates belong to later passes.
      const rank = queue.peekRank();
      batch.length = 0;
      while (queue.size > 0 && queue.peekRank() === rank) batch.push(queue.popPosition());
      const left = this.mergeLeft[rank]!;
      const right = this.mergeRight[rank]!;
      for (const i of batch) {
        const j = next[i]!;
        // Stale entries: the node was merged away, grew, or its neighbour changed since.
        if (symbol[i] !== left || j < 0 || symbol[j] !== right) continue;
        symbol[i] = this.mergeResult[rank]!;
        symbol[j] = -1;
        const after = next[j]!;
        next[i] = after;
        if (after >= 0) prev[after] = i;
        if (prev[i]! >= 0) this.enqueue(queue, symbol, prev[i]!, i);
        if (after >= 0) this.enqueue(queue, symbol, i, after);
      }
    }
    const ids: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) ids.push(this.ids[symbol[i]!]!);
    return ids;
  }

  private enqueue(queue: MergeQueue, symbol: Int32Array, i: number, j: number): void {
    const rank = this.pairRanks.get(symbol[i]! * this.symbolCount + symbol[j]!);
    if (rank !== undefined) queue.push(rank, i);
  }
}
