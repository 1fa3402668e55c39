/**
 * The CLIP BPE tokenizer of Stable Diffusion's text encoders.
 *
 * Our own implementation rather than a library. `@huggingface/transformers` was ruled out for
 * size (it brings onnxruntime). `@huggingface/tokenizers` 0.2 (pure JS, about 36 kB minified, no
 * dependencies) was tried offline against the golden cases and matches all 58, but it
 * reproduces transformers' fast tokenizer, not CLIP's own cleaning, and differs from CLIP on
 * inputs the cases leave out: it does not unescape HTML, it does not treat U+001C–U+001F as
 * whitespace (Python does), and its case-sensitive pattern splits `'ſ` where CLIP's does not.
 * It also needs a `tokenizer.json`, which diffusers repos do not ship, so we would have to
 * synthesise its pipeline description from `vocab.json` and `merges.txt` anyway. What is left
 * to own is a BPE loop and a word pattern: a few hundred lines, no dependency.
 *
 * @module
 */
import { AddedTokenVocabulary } from './added-tokens.js';
import { BytePairEncoder } from './bpe.js';
import { cleanText } from './clean.js';
import { TokenizerFileError, TokenizerInputError } from './errors.js';
import { splitWords } from './pre-tokenize.js';
import { resolveSpecialTokens, type SpecialTokens } from './special-tokens.js';
import { buildMergeRanks, parseMergesText, parseTokenizerJson, parseVocab, readJsonInput, type JsonFileInput } from './vocab-files.js';

/**
 * Texts longer than this many UTF-16 units are cleaned and split in pieces of about this
 * length, each ending with a space, so that a long prompt costs what its first pieces cost.
 */
const PIECE_LENGTH = 4096;

/**
 * The files of a tokenizer folder, as text or already parsed. Give `vocab` and `merges` (the
 * layout diffusers repos use) or `tokenizerJson` (the Hugging Face fast-tokenizer file).
 * `DiffusersRepo.readTokenizerFiles` returns this shape.
 */
export interface CLIPTokenizerFiles {
  /** `vocab.json`. */
  vocab?: JsonFileInput;
  /** `merges.txt`, `#version` line included. */
  merges?: string;
  /** `tokenizer.json`; used when `vocab` is not given. */
  tokenizerJson?: JsonFileInput;
  /** `tokenizer_config.json`: `model_max_length` and the special tokens. */
  config?: JsonFileInput | null;
  /** `special_tokens_map.json`: special tokens, overriding `config`'s. */
  specialTokensMap?: JsonFileInput | null;
  /** Prefix of the file names in error messages, e.g. `stabilityai/sd-turbo/tokenizer`. */
  location?: string;
}

/** Options of `CLIPTokenizer.call`, named after transformers' tokenizer call. */
export interface CLIPTokenizerCallOptions {
  /** Only `max_length` (every row padded to `maxLength`), as Stable Diffusion pipelines do. */
  padding?: 'max_length';
  /** Row length, special tokens included. Default `modelMaxLength` (77). */
  maxLength?: number;
  /** Cut prompts that do not fit, keeping EOS last. Default true; when false an over-long prompt throws. */
  truncation?: boolean;
}

/**
 * CLIP's tokenizer, as openai/CLIP's `simple_tokenizer` and transformers' `CLIPTokenizer` run it:
 * text is cleaned (`cleanText`), split with CLIP's word pattern (`splitWords`), and each word
 * is BPE-encoded over its UTF-8 bytes.
 *
 * `!` is an ordinary token here, so `!!!` is one token (995). Where `pad_token` is `!` (Stable
 * Diffusion 2.x), transformers instead treats every `!` in a prompt as the pad token (id 0,
 * never merged); we follow CLIP's BPE, which the text encoders were trained with, and use `!`
 * only as the padding id.
 */
export class CLIPTokenizer {
  /** `<|startoftext|>`, 49406 in CLIP's vocabulary. */
  readonly bosTokenId: number;
  /** `<|endoftext|>`, 49407. */
  readonly eosTokenId: number;
  /** The padding id: 49407 for Stable Diffusion 1.x, 0 (`!`) for 2.x and SD-Turbo. */
  readonly padTokenId: number;
  /** `model_max_length`: the row length of `call`, specials included (77). */
  readonly modelMaxLength: number;
  /** Number of tokens in the vocabulary, added tokens included. */
  readonly vocabSize: number;
  /**
   * Tokens added after the vocabulary (`withAddedTokens`), ids from the vocabulary's size on:
   * transformers' `added_tokens_encoder`. Matched in the raw text before anything else.
   */
  readonly addedTokens: AddedTokenVocabulary;
  private readonly bpe: BytePairEncoder;
  private readonly specialIds: ReadonlyMap<string, number>;

  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    bpe: BytePairEncoder,
    private readonly special: SpecialTokens,
    added: AddedTokenVocabulary,
  ) {
    this.bpe = bpe;
    this.bosTokenId = special.bosTokenId;
    this.eosTokenId = special.eosTokenId;
    this.padTokenId = special.padTokenId;
    this.modelMaxLength = special.modelMaxLength;
    this.vocabSize = vocab.size + added.size;
    this.addedTokens = added;
    const specialIds = new Map<string, number>();
    for (const token of ['<|startoftext|>', '<|endoftext|>']) {
      const id = vocab.get(token);
      if (id !== undefined) specialIds.set(token, id);
    }
    this.specialIds = specialIds;
  }

  /**
   * Builds a tokenizer from a folder's files. Throws `TokenizerFileError` naming the file and
   * the entry at fault when a file is missing or malformed, or when vocabulary and merges do
   * not belong together; `JsonParseError` when a JSON file does not parse.
   */
  static fromFiles(files: CLIPTokenizerFiles): CLIPTokenizer {
    const at = (name: string): string => (files.location ? `${files.location}/${name}` : name);
    let vocab: Map<string, number>;
    let merges: string[];
    let vocabFile: string;
    let mergesFile: string;
    if (files.vocab !== undefined) {
      vocabFile = at('vocab.json');
      mergesFile = at('merges.txt');
      if (files.merges === undefined) throw new TokenizerFileError(mergesFile, `missing: ${vocabFile} needs its merges.txt.`);
      vocab = parseVocab(readJsonInput(files.vocab, vocabFile), vocabFile);
      merges = parseMergesText(files.merges, mergesFile);
    } else if (files.tokenizerJson !== undefined) {
      vocabFile = mergesFile = at('tokenizer.json');
      ({ vocab, merges } = parseTokenizerJson(readJsonInput(files.tokenizerJson, vocabFile), vocabFile));
    } else {
      throw new TokenizerFileError(at('vocab.json'), 'missing: a CLIP tokenizer needs vocab.json and merges.txt, or tokenizer.json.');
    }
    const ranks = buildMergeRanks(vocab, merges, { vocab: vocabFile, merges: mergesFile });
    const source = (input: JsonFileInput | null | undefined, name: string) =>
      input === undefined || input === null ? null : { json: readJsonInput(input, at(name)), file: at(name) };
    const special = resolveSpecialTokens(vocab, vocabFile, source(files.config, 'tokenizer_config.json'), source(files.specialTokensMap, 'special_tokens_map.json'));
    return new CLIPTokenizer(vocab, new BytePairEncoder(vocab, ranks), special, AddedTokenVocabulary.EMPTY);
  }

  /**
   * A tokenizer with `tokens` added after the vocabulary, ids `vocabSize`, `vocabSize + 1`, … in
   * order (transformers' `add_tokens`, as textual inversion loads them). This tokenizer is left
   * as it is, so one in use is never changed under a running request; the two share the BPE.
   * Throws `TokenizerInputError` for an empty token or one the tokenizer already has.
   */
  withAddedTokens(tokens: readonly string[]): CLIPTokenizer {
    for (const token of tokens) {
      if (this.vocab.has(token)) throw new TokenizerInputError(`The token ${JSON.stringify(token)} is already in the vocabulary (id ${this.vocab.get(token)}).`);
    }
    return new CLIPTokenizer(this.vocab, this.bpe, this.special, this.addedTokens.extend(tokens, this.vocabSize));
  }

  /** Whether `token` is in the vocabulary or among the added tokens (transformers' `token in get_vocab()`). */
  hasToken(token: string): boolean {
    return this.vocab.has(token) || this.addedTokens.get(token) !== undefined;
  }

  /**
   * The ids of `text`, without BOS, EOS or padding. Added tokens are found first, as whole
   * strings in the raw text; the text between them is cleaned and BPE-encoded on its own.
   * With `maxTokens`, only the first `maxTokens` ids, the same as the first `maxTokens` of the
   * whole text's ids, at about the cost of the text's start and never more than linear in the
   * text: it is read in pieces that end at a
   * space, words past the last needed one are not encoded (each gives at least one id), and a
   * word longer than the ids can need is encoded by its start (`BytePairEncoder.encodeWordStart`).
   */
  encode(text: string, maxTokens = Number.POSITIVE_INFINITY): number[] {
    if (maxTokens !== Number.POSITIVE_INFINITY && !(Number.isSafeInteger(maxTokens) && maxTokens >= 0)) {
      throw new TokenizerInputError(`CLIPTokenizer.encode: maxTokens ${String(maxTokens)} must be a non-negative integer, or Infinity for every id.`);
    }
    const ids: number[] = [];
    for (const piece of this.addedTokens.split(text)) {
      if (ids.length >= maxTokens) break;
      if ('id' in piece) ids.push(piece.id);
      else this.encodeText(piece.text, maxTokens, ids);
    }
    return ids;
  }

  /** Appends the ids of `text` (no added tokens in it) to `ids`, stopping at `maxTokens` ids in all. */
  private encodeText(text: string, maxTokens: number, ids: number[]): void {
    // A piece that ends with U+0020 cleans and splits exactly as it does inside the whole text:
    // NFC neither reorders nor composes across a space, no character reference holds one,
    // whitespace collapsing and trimming only drop it, the final-sigma rule of lower-casing
    // stops at it, and no word contains it. So the pieces' ids, concatenated, are the text's.
    for (let start = 0; start < text.length && ids.length < maxTokens; ) {
      const space = text.length - start > PIECE_LENGTH ? text.indexOf(' ', start + PIECE_LENGTH - 1) : -1;
      const end = space < 0 ? text.length : space + 1;
      this.encodePiece(text.slice(start, end), maxTokens, ids);
      start = end;
    }
  }

  /** Appends the ids of `piece` to `ids`, stopping at `maxTokens` ids in all. */
  private encodePiece(piece: string, maxTokens: number, ids: number[]): void {
    const bounded = maxTokens !== Number.POSITIVE_INFINITY;
    // A longer word is cut by `encodeWordStart` anyway, and fills the ids on its own.
    const wordLimit = bounded ? this.bpe.startBytes(maxTokens - ids.length) + 1 : Number.POSITIVE_INFINITY;
    for (const word of splitWords(cleanText(piece), wordLimit)) {
      const special = this.specialIds.get(word);
      if (special !== undefined) ids.push(special);
      else for (const id of bounded ? this.bpe.encodeWordStart(word, maxTokens - ids.length) : this.bpe.encodeWord(word)) ids.push(id);
      if (ids.length >= maxTokens) return;
    }
  }

  /**
   * The `input_ids` of a batch, row-major `[texts.length, maxLength]`: each row is
   * `[BOS, ...ids[:maxLength - 2], EOS]`, then the pad id to the end. Truncation cuts the
   * prompt's ids, never EOS.
   */
  call(texts: string | readonly string[], options: CLIPTokenizerCallOptions = {}): Int32Array {
    const list = typeof texts === 'string' ? [texts] : texts;
    const maxLength = options.maxLength ?? this.modelMaxLength;
    if (options.padding !== undefined && options.padding !== 'max_length') {
      throw new TokenizerInputError(`CLIPTokenizer.call: padding ${JSON.stringify(options.padding)} is not supported; only "max_length".`);
    }
    if (!Number.isSafeInteger(maxLength) || maxLength < 2) {
      throw new TokenizerInputError(`CLIPTokenizer.call: maxLength ${String(maxLength)} must be an integer >= 2, room for BOS and EOS.`);
    }
    const room = maxLength - 2;
    const out = new Int32Array(list.length * maxLength).fill(this.padTokenId);
    list.forEach((text, row) => {
      // One id past the room is enough to tell an over-long prompt, and bounds the work.
      const ids = this.encode(text, room + 1);
      if (ids.length > room && options.truncation === false) {
        throw new TokenizerInputError(
          `CLIPTokenizer.call: text ${row} has more than the ${room} tokens that fit in ${maxLength}; shorten it, or leave truncation on to cut it.`,
        );
      }
      const kept = Math.min(ids.length, room);
      const base = row * maxLength;
      out[base] = this.bosTokenId;
      for (let i = 0; i < kept; i++) out[base + 1 + i] = ids[i];
      out[base + 1 + kept] = this.eosTokenId;
    });
    return out;
  }
}
