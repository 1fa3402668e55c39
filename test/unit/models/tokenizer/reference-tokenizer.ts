/**
 * The CLIP tokenizer as it was before issue 17, kept as the reference the bounded one must
 * match: BPE that rescans the word after every merge (O(n²)), `String.prototype.normalize`,
 * every whitespace run replaced, every word of the text encoded, then truncated. Too slow for
 * hostile prompts, which is the point of the rewrite; exact on everything else.
 */
import { toByteLevel } from '../../../../src/models/tokenizer/byte-unicode.js';
import { END_OF_WORD } from '../../../../src/models/tokenizer/bpe.js';
import { PYTHON_WHITESPACE } from '../../../../src/models/tokenizer/clean.js';
import { htmlUnescape } from '../../../../src/models/tokenizer/html-unescape.js';
import { buildMergeRanks, parseMergesText, parseVocab } from '../../../../src/models/tokenizer/vocab-files.js';
import type { TokenizerFixture } from './tokenizer-fixtures.js';

/** The old BPE loop, verbatim: merge the lowest-ranked pair everywhere, left to right, rescan. */
export function referenceMerge(byteLevel: string, ranks: ReadonlyMap<string, number>, endOfWord = true): string[] {
  let symbols = Array.from(byteLevel);
  if (symbols.length === 0) return symbols;
  if (endOfWord) symbols[symbols.length - 1] += END_OF_WORD;
  while (symbols.length > 1) {
    let best = Number.POSITIVE_INFINITY;
    let first = '';
    let second = '';
    for (let i = 0; i + 1 < symbols.length; i++) {
      const rank = ranks.get(`${symbols[i]} ${symbols[i + 1]}`);
      if (rank !== undefined && rank < best) {
        best = rank;
        first = symbols[i]!;
        second = symbols[i + 1]!;
      }
    }
    if (best === Number.POSITIVE_INFINITY) break;
    const merged: string[] = [];
    for (let i = 0; i < symbols.length; i++) {
      if (symbols[i] === first && symbols[i + 1] === second) {
        merged.push(first + second);
        i++;
      } else {
        merged.push(symbols[i]!);
      }
    }
    symbols = merged;
  }
  return symbols;
}

const OLD_WHITESPACE_RUN = new RegExp(`[${PYTHON_WHITESPACE}]+`, 'gu');

/** The old `cleanText`, verbatim. */
export function referenceCleanText(text: string): string {
  let out = text.normalize('NFC');
  if (out.includes('&')) out = htmlUnescape(htmlUnescape(out)).normalize('NFC');
  out = out.replace(OLD_WHITESPACE_RUN, ' ');
  const start = out.startsWith(' ') ? 1 : 0;
  const end = out.length > start && out.endsWith(' ') ? out.length - 1 : out.length;
  return out.slice(start, end).toLowerCase();
}

const OLD_CLIP_WORD = new RegExp(
  String.raw`<\|[sſ]tartoftext\|>|<\|endoftext\|>|'[sſ]|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^${PYTHON_WHITESPACE}\p{L}\p{N}\u0345]+`,
  'gu',
);

/** The old tokenizer's `encode`: every word of the text, unbounded. */
export class ReferenceTokenizer {
  private readonly ranks: Map<string, number>;
  private readonly vocab: Map<string, number>;

  constructor(fixture: TokenizerFixture) {
    this.vocab = parseVocab(JSON.parse(fixture.vocab), 'vocab.json');
    this.ranks = buildMergeRanks(this.vocab, parseMergesText(fixture.merges, 'merges.txt'), { vocab: 'vocab.json', merges: 'merges.txt' });
  }

  /** The ids of one word, `endOfWord` false for a word that goes on past `word`. */
  encodeWord(word: string, endOfWord = true): number[] {
    return referenceMerge(toByteLevel(word), this.ranks, endOfWord).map((symbol) => this.vocab.get(symbol)!);
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const word of referenceCleanText(text).match(OLD_CLIP_WORD) ?? []) {
      const special = word === '<|startoftext|>' || word === '<|endoftext|>' ? this.vocab.get(word) : undefined;
      if (special !== undefined) ids.push(special);
      else ids.push(...this.encodeWord(word));
    }
    return ids;
  }
}
