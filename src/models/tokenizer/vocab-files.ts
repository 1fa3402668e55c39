import { describeValue } from '../../api/errors.js';
import { parseLenientJson } from '../../io/json.js';
import { BYTE_TO_UNICODE } from './byte-unicode.js';
import { END_OF_WORD } from './bpe.js';
import { TokenizerFileError } from './errors.js';

/** A file given either as its text or already parsed. */
export type JsonFileInput = string | object;

/** Parses a JSON file given as text; passes an already parsed value through. */
export function readJsonInput(input: JsonFileInput, file: string): unknown {
  return typeof input === 'string' ? parseLenientJson(input, file) : input;
}

/**
 * Reads `vocab.json`: an object mapping each token to a non-negative integer id. `field` names
 * the object inside `file` when it is not the whole file (`model.vocab` of `tokenizer.json`).
 */
export function parseVocab(json: unknown, file: string, field = ''): Map<string, number> {
  const where = field ? `${field}: ` : '';
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new TokenizerFileError(file, `${where}expected a JSON object mapping tokens to ids, found ${describeValue(json)}.`);
  }
  const entries = json as Record<string, unknown>;
  const vocab = new Map<string, number>();
  for (const token in entries) {
    const id = entries[token];
    if (!Number.isSafeInteger(id) || (id as number) < 0) {
      throw new TokenizerFileError(file, `${where}the id of ${JSON.stringify(token)} is ${describeValue(id)}; expected a non-negative integer.`);
    }
    vocab.set(token, id as number);
  }
  return vocab;
}

/**
 * Reads `merges.txt`: an optional `#version` line, then one merge per line, two tokens
 * separated by one space, in rank order. Blank lines are skipped. Returns the lines, which are
 * already in the `"first second"` form `BytePairEncoder` looks ranks up by.
 */
export function parseMergesText(text: string, file: string): string[] {
  const lines = text.split('\n');
  const merges: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    let line = lines[index]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if ((index === 0 && line.startsWith('#version')) || line.trim() === '') continue;
    if (!isMergeKey(line)) {
      throw new TokenizerFileError(file, `line ${index + 1} is ${describeValue(line)}; expected two tokens separated by one space.`);
    }
    merges.push(line);
  }
  return merges;
}

function isMergeKey(line: string): boolean {
  const space = line.indexOf(' ');
  return space > 0 && space < line.length - 1 && line.indexOf(' ', space + 1) === -1;
}

/**
 * Reads the BPE model of a Hugging Face `tokenizer.json`: `model.vocab`, `model.merges` (as
 * `"a b"` strings or `["a", "b"]` pairs, both forms occur), and `added_tokens`, whose ids join
 * the vocabulary. The model must be a BPE with CLIP's `</w>` end-of-word suffix.
 */
export function parseTokenizerJson(json: unknown, file: string): { vocab: Map<string, number>; merges: string[] } {
  const root = asObject(json, file, '(root)');
  const model = asObject(root.model, file, 'model');
  if (model.type !== undefined && model.type !== 'BPE') fieldError(file, 'model.type', model.type, '"BPE"');
  if (model.end_of_word_suffix !== undefined && model.end_of_word_suffix !== null && model.end_of_word_suffix !== END_OF_WORD) {
    fieldError(file, 'model.end_of_word_suffix', model.end_of_word_suffix, `"${END_OF_WORD}" (a CLIP tokenizer)`);
  }
  const vocab = parseVocab(asObject(model.vocab, file, 'model.vocab'), file, 'model.vocab');
  if (!Array.isArray(model.merges)) fieldError(file, 'model.merges', model.merges, 'a list of merges');
  const merges = model.merges.map((entry: unknown, i: number): string => {
    const key = Array.isArray(entry) && entry.length === 2 && entry.every((p) => typeof p === 'string') ? entry.join(' ') : entry;
    if (typeof key !== 'string' || !isMergeKey(key)) {
      return fieldError(file, `model.merges[${i}]`, entry, '"first second" or ["first", "second"], tokens without spaces');
    }
    return key;
  });
  const added = root.added_tokens ?? [];
  if (!Array.isArray(added)) fieldError(file, 'added_tokens', added, 'a list');
  added.forEach((entry: unknown, i: number) => {
    const token = asObject(entry, file, `added_tokens[${i}]`);
    if (typeof token.content !== 'string') fieldError(file, `added_tokens[${i}].content`, token.content, 'a string');
    if (!Number.isSafeInteger(token.id) || (token.id as number) < 0) fieldError(file, `added_tokens[${i}].id`, token.id, 'a non-negative integer');
    vocab.set(token.content, token.id as number);
  });
  return { vocab, merges };
}

/**
 * Builds the merge ranks (`"first second"` → rank, 0 first) and checks that the files fit together: the vocabulary must hold every
 * byte symbol, with and without `</w>`, and the result of every merge, so that BPE can never
 * produce a symbol without an id. A later duplicate of a merge takes the later rank, as in CLIP.
 */
export function buildMergeRanks(vocab: ReadonlyMap<string, number>, merges: readonly string[], files: { vocab: string; merges: string }): Map<string, number> {
  for (const symbol of BYTE_TO_UNICODE) {
    for (const token of [symbol, symbol + END_OF_WORD]) {
      if (!vocab.has(token)) {
        throw new TokenizerFileError(files.vocab, `the byte-level token ${JSON.stringify(token)} is missing; this is not a CLIP BPE vocabulary.`);
      }
    }
  }
  const ranks = new Map<string, number>();
  for (let rank = 0; rank < merges.length; rank++) {
    const key = merges[rank]!;
    const space = key.indexOf(' ');
    const result = key.slice(0, space) + key.slice(space + 1);
    if (!vocab.has(result)) {
      throw new TokenizerFileError(
        files.merges,
        `merge ${rank} (${JSON.stringify(key)}) makes ${JSON.stringify(result)}, which ${files.vocab} lacks; the two files do not belong together.`,
      );
    }
    ranks.set(key, rank);
  }
  return ranks;
}

function asObject(value: unknown, file: string, field: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return fieldError(file, field, value, 'a JSON object');
  return value as Record<string, unknown>;
}

function fieldError(file: string, field: string, value: unknown, expected: string): never {
  throw new TokenizerFileError(file, `${field} is ${describeValue(value)}; expected ${expected}.`);
}
