import { TokenizerInputError } from './errors.js';

/** A stretch of text between added tokens, or one added token with its id. */
export type AddedTokenPiece = { readonly text: string } | { readonly token: string; readonly id: number };

/**
 * Tokens added to a tokenizer after its vocabulary (textual-inversion tokens such as
 * `<my-style>`), as transformers' `added_tokens_encoder` holds them. They are found in the raw
 * text before any cleaning, as whole strings anywhere (no space needed around them), leftmost
 * first and, of those starting at one place, the longest (`<my-style>_1` before `<my-style>`),
 * as Hugging Face tokenizers' added-vocabulary split does. Immutable: `extend` returns a new one.
 */
export class AddedTokenVocabulary {
  /** No added tokens. */
  static readonly EMPTY = new AddedTokenVocabulary(new Map());

  /** Every token, longest first, as one alternation; null when there are none. */
  private readonly pattern: RegExp | null;

  private constructor(private readonly ids: ReadonlyMap<string, number>) {
    const tokens = [...ids.keys()].sort((a, b) => b.length - a.length);
    this.pattern = tokens.length === 0 ? null : new RegExp(tokens.map(escapeRegExp).join('|'), 'g');
  }

  /** Number of added tokens. */
  get size(): number {
    return this.ids.size;
  }

  /** The id of `token`, or undefined when it is not an added token. */
  get(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** The tokens and their ids, in the order they were added. */
  entries(): IterableIterator<[string, number]> {
    return this.ids.entries();
  }

  /**
   * These tokens and `tokens` after them, with ids `firstId`, `firstId + 1`, …. Throws
   * `TokenizerInputError` for an empty token (it would match everywhere) or one already added.
   */
  extend(tokens: readonly string[], firstId: number): AddedTokenVocabulary {
    const ids = new Map(this.ids);
    tokens.forEach((token, i) => {
      if (token === '') throw new TokenizerInputError('An added token must not be empty.');
      if (ids.has(token)) throw new TokenizerInputError(`The token ${JSON.stringify(token)} is already an added token (id ${ids.get(token)}).`);
      ids.set(token, firstId + i);
    });
    return new AddedTokenVocabulary(ids);
  }

  /** `text` cut at every added token, in order. Lazy, so a caller that needs only a text's start reads no further. */
  *split(text: string): Generator<AddedTokenPiece, void, undefined> {
    if (this.pattern === null) {
      yield { text };
      return;
    }
    // A fresh regex per call: a shared one's `lastIndex` would be clobbered by interleaved calls.
    const pattern = new RegExp(this.pattern);
    let start = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      if (match.index > start) yield { text: text.slice(start, match.index) };
      yield { token: match[0], id: this.ids.get(match[0])! };
      start = match.index + match[0].length;
    }
    if (start < text.length) yield { text: text.slice(start) };
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
